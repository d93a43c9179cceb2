"""harness.py - the official Huawei Cloud Python SDK against a real imgsecd.

What every Python conformance test needs, reusable (tests/conformance/
test_sdk_*.py import it):

    with Server(imgsecd, cli) as s:            # fresh db, ephemeral port
        s.user("alice", role="admin")          # imgsec user add
        ak, sk = s.key("alice")                # imgsec key create
        token = s.token("alice")               # POST /v3/auth/tokens
        ids = s.ingest(token, docs, ep="0")    # NDJSON ingest, image ids
        c = s.client(ak=ak, sk=sk)             # HssClient signing with AK/SK
        c = s.client(token=token)              # HssClient sending X-Auth-Token

The SDK is imported from ../shared/sdk/python (the SDK_DIR environment
variable overrides), never copied. A token client is the SDK's own client
whose request, once signed, gets X-Auth-Token in place of the signature
(a request handler): everything else on the wire is the SDK's.

Environment: IMGSECD and IMGSEC_CLI (binaries); TMPDIR for the temp dir.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

REGION = "conf-region-1"
PROJECT = "P1"
PASSWORD = "conformance-password"

_here = os.path.dirname(os.path.abspath(__file__))
SDK_DIR = os.environ.get("SDK_DIR") or os.path.normpath(
    os.path.join(_here, "..", "..", "..", "shared", "sdk", "python"))
sys.path[:0] = [os.path.join(SDK_DIR, "huaweicloud-sdk-core"),
                os.path.join(SDK_DIR, "huaweicloud-sdk-hss")]

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkcore.http.http_handler import HttpHandler  # noqa: E402
from huaweicloudsdkhss.v5 import HssClient  # noqa: E402


FAILS = []


def check(name, fn):
    """Runs fn, printing ok or FAIL with the traceback; a failure is
    counted (report) and the run goes on."""
    try:
        fn()
        print("ok   %s" % name)
    except Exception:  # noqa: BLE001 - report every failure, then fail the run
        FAILS.append(name)
        print("FAIL %s\n%s" % (name, traceback.format_exc()))


def raises(fn, status, code, part):
    """fn must raise the SDK's ClientRequestException with this HTTP
    status and error code, its message containing part."""
    try:
        fn()
    except ClientRequestException as e:
        assert e.status_code == status, (e.status_code, e.error_msg)
        assert e.error_code == code, (e.error_code, e.error_msg)
        assert part in e.error_msg, e.error_msg
        return
    raise AssertionError("no error, want %s %s" % (status, code))


def report():
    """The exit code of a conformance run: 1 when a check failed."""
    if FAILS:
        print("%d failed: %s" % (len(FAILS), ", ".join(FAILS)))
        return 1
    print("all passed")
    return 0


class Server:
    """One imgsecd on a fresh database in a temp dir, on an ephemeral port."""

    def __init__(self, imgsecd=None, cli=None, region=REGION, project=PROJECT, extra=None):
        self.extra = list(extra or [])  # more imgsecd flags, e.g. ["--scan-workers", "1"]
        self.imgsecd = os.path.abspath(imgsecd or os.environ["IMGSECD"])
        self.cli_path = os.path.abspath(cli or os.environ["IMGSEC_CLI"])
        self.region, self.project = region, project
        self.dir = tempfile.mkdtemp(prefix="imgsec-pyconf-")
        self.db = os.path.join(self.dir, "imgsec.db")
        self.proc = None
        self.endpoint = None

    # -- the command line --
    def cli(self, *args, password=None):
        env = dict(os.environ)
        if password:
            env["IMGSEC_PASSWORD"] = password
        r = subprocess.run([self.cli_path, *args], env=env, cwd=self.dir,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError("imgsec %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def user(self, name, role="admin", eps="all", project=None, password=PASSWORD):
        self.cli("user", "add", "--db", self.db, "--domain", "acme", "--name", name,
                 "--project", project or self.project, "--role", role, "--eps", eps,
                 password=password)

    def key(self, name):
        out = self.cli("key", "create", "--db", self.db, "--domain", "acme", "--name", name)
        ak = re.search(r"^AK: ([A-Z0-9]{20})$", out, re.M).group(1)
        sk = re.search(r"^SK: ([A-Za-z0-9]{40})$", out, re.M).group(1)
        return ak, sk

    # -- the server --
    def start(self):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):  # a restart: wait for the new port, not the old one
            os.unlink(port_file)
        log = open(os.path.join(self.dir, "imgsecd.log"), "ab")
        env = dict(os.environ, IMGSEC_AUTH_FAIL_LIMIT="0")
        self.proc = subprocess.Popen(
            [self.imgsecd, "--db", self.db, "--listen", "127.0.0.1:0", "--region", self.region,
             "--port-file", port_file, *self.extra], env=env, stdout=log, stderr=log)
        for _ in range(1000):
            if os.path.exists(port_file):
                txt = open(port_file).read().strip()
                if txt.isdigit() and int(txt) > 0:
                    self.endpoint = "http://127.0.0.1:%s" % txt
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("imgsecd did not start; log in %s" % self.dir)

    def stop(self):
        """SIGTERM; the exit status (0 when it drained and stopped cleanly)."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if rc != 0 and exc[0] is None:
            raise RuntimeError("imgsecd exited %s; log in %s" % (rc, self.dir))
        if rc == 0 and exc[0] is None and not os.environ.get("IMGSEC_API_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- plain HTTP, for what the SDK has no operation for (tokens, ingest) --
    def http(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.endpoint + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def token(self, name, password=PASSWORD, project=None):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "password": password, "domain": {"name": "acme"}}}},
            "scope": {"project": {"id": project or self.project}}}}
        st, hdrs, _ = self.http("POST", "/v3/auth/tokens", json.dumps(body).encode(),
                                {"Content-Type": "application/json"})
        if st != 201:
            raise RuntimeError("token for %s: %s" % (name, st))
        return {k.lower(): v for k, v in hdrs.items()}["x-subject-token"]

    def ingest(self, token, docs, ep="0"):
        """Ingests documents (dicts) in one NDJSON body; their image ids (int)."""
        body = "".join(json.dumps(d) + "\n" for d in docs).encode()
        st, _, out = self.http(
            "POST", "/v5/%s/image/scan-results?enterprise_project_id=%s" % (self.project, ep),
            body, {"Content-Type": "application/x-ndjson", "X-Auth-Token": token,
                   "region": self.region})
        if st != 200:
            raise RuntimeError("ingest: %s %s" % (st, out[:300]))
        return [int(i["id"]) for i in json.loads(out)["images"]]

    # -- the SDK's client --
    def client(self, ak=None, sk=None, token=None):
        """An HssClient on this server, signing with ak/sk, or (token) sending
        X-Auth-Token instead of a signature."""
        config = HttpConfig.get_default_config()
        config.timeout = 30
        handler = HttpHandler()
        if token:
            ak, sk = "TOKENCLIENTAKNOTUSED", "x" * 40

            def use_token(**kw):
                h = kw["request"].header_params
                for k in [k for k in h if k.lower() == "authorization"]:
                    del h[k]
                h["X-Auth-Token"] = token
            handler.add_request_handler(use_token)
        return (HssClient.new_builder()
                .with_credentials(BasicCredentials(ak, sk, self.project))
                .with_endpoints([self.endpoint])
                .with_http_config(config)
                .with_http_handler(handler)
                .build())
