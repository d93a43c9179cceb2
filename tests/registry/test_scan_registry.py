"""test_scan_registry.py - `imgsec scan HOST/REPO:TAG` against a real registry
(Debian's docker-registry, distribution 2.8) on loopback, started here,
filled with `skopeo copy` from the fixture images (../shared/fixtures/scan)
and from images built here:

- no auth: every fixture kind (docker-archive legacy and Docker 25, OCI
  layout dir and tar) pulled and scanned gives exactly the document of the
  file scan (same image id, same records); by tag and by digest; a
  multi-platform index picked by --platform; unknown tags and platforms;
- basic auth (htpasswd, bcrypt): anonymous, wrong and right passwords, from
  --password-stdin, the environment and a Docker config.json; the password
  never printed; a refused pull stores nothing;
- a token realm: docker-registry's "token" auth with a token service served
  here (http.server, RS256 JWTs signed with openssl), Basic credentials to
  the realm;
- HTTPS with a self-signed certificate: refused, then verified with
  --registry-ca; an https realm used, a plain-http one refused before any
  credentials are sent;
- a registry killed mid-layer: the scan fails naming the byte count and
  stores nothing;
- a tag moved to another digest and scanned again: the stored image's
  records are replaced (exact counts).

    IMGSEC_CLI=build/imgsec IMGSEC_FIXTURES=../shared/fixtures/scan python3 tests/registry/test_scan_registry.py

Exits 77 (ctest: skipped) only when docker-registry, skopeo, htpasswd or
openssl is missing (scripts/deps.sh installs them).
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request

IMGSEC = os.environ.get("IMGSEC_CLI", "build/imgsec")
FIX = os.path.join(os.environ.get("IMGSEC_FIXTURES", "../shared/fixtures/scan"), "images")
FAILS = []

for tool in ("docker-registry", "skopeo", "htpasswd", "openssl"):
    if not shutil.which(tool):
        print("SKIP: %s is not installed (scripts/deps.sh installs it)" % tool)
        sys.exit(77)

TMP = tempfile.mkdtemp(prefix="imgsec-registry-", dir=os.environ.get("TMPDIR"))
# skopeo's and imgsec's per-user state lives under TMP, never in the real home
ENV = dict(os.environ, HOME=TMP, XDG_RUNTIME_DIR=os.path.join(TMP, "run"),
           REGISTRY_AUTH_FILE=os.path.join(TMP, "skopeo-auth.json"),
           DOCKER_CONFIG=os.path.join(TMP, "no-docker-config"))
for k in ("IMGSEC_REGISTRY_USERNAME", "IMGSEC_REGISTRY_PASSWORD"):
    ENV.pop(k, None)
os.makedirs(ENV["XDG_RUNTIME_DIR"], mode=0o700)


def check(name, fn):
    if sys.argv[1:] and not any(a in name for a in sys.argv[1:]):
        return
    try:
        fn()
        print("ok   %s" % name, flush=True)
    except Exception:  # noqa: BLE001 - report every failure, then fail the run
        FAILS.append(name)
        print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def has(text, part):
    if part not in text:
        raise AssertionError("%r not in:\n%s" % (part, text))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Registry:
    """docker-registry as a plain process: a config file, a loopback port,
    storage in a temp dir."""

    def __init__(self, name, auth="", port=None, tls=None):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.host = "127.0.0.1:%d" % self.port
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:
            f.write("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                    "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
                    "http:\n  addr: %s\n%s%s" % (
                        self.dir, self.host,
                        "  tls:\n    certificate: %s\n    key: %s\n" % tls if tls else "", auth))
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        for _ in range(200):
            try:
                urllib.request.urlopen("%s://%s/v2/" % ("https" if tls else "http", self.host),
                                       timeout=1, context=ctx)
                return
            except urllib.error.HTTPError:
                return  # 401: up, wants credentials
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start: %s" % open(self.log.name).read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def skopeo(src, dest, *extra):
    cmd = ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]
    cmd += list(extra) + [src, "docker://" + dest]
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr))


def scan(*args, stdin=None, env=None, rc=0):
    r = subprocess.run([IMGSEC, "scan"] + list(args), env=env or ENV, input=stdin,
                       capture_output=True, text=True)
    if rc is not None and r.returncode != rc:
        raise AssertionError("imgsec scan %s exited %d, not %d:\n%s%s" % (
            " ".join(args), r.returncode, rc, r.stdout[-2000:], r.stderr[-2000:]))
    return r


def doc(*args, **kw):
    return json.loads(scan(*args, "--output", "json", **kw).stdout)


IDENTITY = ("namespace", "image_name", "image_version", "image_digest", "latest_scan_time",
            "latest_update_time")


def same_findings(pulled, local, what):
    """The pulled document equals the file's, but for the names and times."""
    a, b = dict(pulled), dict(local)
    ia = {k: v for k, v in a.pop("image").items() if k not in IDENTITY}
    ib = {k: v for k, v in b.pop("image").items() if k not in IDENTITY}
    eq(ia, ib, what + " image")
    eq(sorted(a), sorted(b), what + " record kinds")
    for k in a:
        eq(a[k], b[k], "%s %s" % (what, k))


_records_n = 0


def records(db):
    """A sqlite3 connection to db's records as plain tables rec_<type>
    (`imgsec records --format sqlite`: read through the record API, not
    from the store's own tables), with db attached, so that its images
    table answers unqualified names too."""
    global _records_n
    _records_n += 1
    out = os.path.join(TMP, "records-%d.db" % _records_n)
    r = subprocess.run([IMGSEC, "records", "--db", db, "--format", "sqlite", "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise AssertionError("imgsec records --db %s exited %d:\n%s%s" % (
            db, r.returncode, r.stdout, r.stderr))
    c = sqlite3.connect(out)
    c.execute("ATTACH ? AS s", (db,))
    return c


def db_counts(db, name):
    """(images named name, their app records, all images) in an imgsec database."""
    if not os.path.exists(db):
        return (0, 0, 0)
    c = records(db)
    try:
        n = c.execute("SELECT count(*) FROM images WHERE image_name=?", (name,)).fetchone()[0]
        apps = c.execute("SELECT count(*) FROM rec_app WHERE image IN "
                         "(SELECT id FROM images WHERE image_name=?)", (name,)).fetchone()[0]
        total = c.execute("SELECT count(*) FROM images").fetchone()[0]
        return (n, apps, total)
    finally:
        c.close()


# ---- images built here ----

def sha(b):
    return hashlib.sha256(b).hexdigest()


def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def oci_layout(path, images, tag):
    """An OCI layout dir: images is a list of (platform "os/arch", [layer file lists]);
    one image is indexed directly, several through an image index."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs)

    def put(b):
        with open(os.path.join(blobs, sha(b)), "wb") as f:
            f.write(b)
        return {"digest": "sha256:" + sha(b), "size": len(b)}

    manifests = []
    for platform, layers in images:
        osname, arch = platform.split("/")
        descs, diff_ids = [], []
        for files in layers:
            plain = layer_tar(files)
            diff_ids.append("sha256:" + sha(plain))
            d = put(gzip.compress(plain, compresslevel=1, mtime=0))
            d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            descs.append(d)
        config = json.dumps({"architecture": arch, "os": osname,
                             "rootfs": {"type": "layers", "diff_ids": diff_ids},
                             "config": {"Env": ["PATH=/usr/bin"]},
                             "history": [{"created_by": "COPY . /"}] * len(layers)}).encode()
        cd = put(config)
        cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": cd, "layers": descs}).encode()
        md = put(m)
        md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        md["platform"] = {"os": osname, "architecture": arch}
        manifests.append(md)
    if len(manifests) > 1:
        ix = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": manifests}).encode()
        top = put(ix)
        top["mediaType"] = "application/vnd.oci.image.index.v1+json"
    else:
        top = manifests[0]
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')


ALPINE_TAR = os.path.join(TMP, "alpine-310.tar")
with gzip.open(os.path.join(FIX, "trivy-alpine-310.docker-archive.tar.gz")) as src, \
        open(ALPINE_TAR, "wb") as dst:
    shutil.copyfileobj(src, dst)

# (skopeo source, local file imgsec scans, repository:tag)
FIXTURES = [
    ("docker-archive:" + ALPINE_TAR, ALPINE_TAR, "library/alpine:3.10"),
    ("docker-archive:" + os.path.join(FIX, "gcr-hello-world-docker25.tar"),
     os.path.join(FIX, "gcr-hello-world-docker25.tar"), "gcr/hello:25"),
    ("docker-archive:" + os.path.join(FIX, "gcr-whiteout_image.tar"),
     os.path.join(FIX, "gcr-whiteout_image.tar"), "gcr/whiteout:1"),
    ("docker-archive:" + os.path.join(FIX, "scalibr-symlink-attack.tar"),
     os.path.join(FIX, "scalibr-symlink-attack.tar"), "scalibr/symlink-attack:1"),
    ("oci:" + os.path.join(FIX, "trivy-hello-world.oci"), os.path.join(FIX, "trivy-hello-world.oci"),
     "trivy/hello:oci"),
    ("oci-archive:" + os.path.join(FIX, "stereoscope-valid-oci.tar"),
     os.path.join(FIX, "stereoscope-valid-oci.tar"), "stereoscope/valid:1"),
]
MULTI = os.path.join(FIX, "stereoscope-multiplatform.oci")


def test_plain(reg):
    for src, local, ref in FIXTURES:
        skopeo(src, "%s/%s" % (reg.host, ref))
        pulled = doc("--insecure-registry", "%s/%s" % (reg.host, ref))
        same_findings(pulled, doc(local), ref)
        repo, tag = ref.rsplit(":", 1)
        eq(pulled["image"]["image_name"], repo.split("/")[-1], ref + " name")
        eq(pulled["image"]["image_version"], tag, ref + " version")
        # by digest: the same image
        byd = doc("--insecure-registry", "%s/%s@%s" % (reg.host, repo, pulled["image"]["image_digest"]))
        same_findings(byd, pulled, ref + " by digest")
        eq(byd["image"]["image_version"], pulled["image"]["image_digest"], ref + " digest version")
    # the alpine image: its 14 apk packages came over the wire
    a = doc("--insecure-registry", "docker://%s/library/alpine:3.10" % reg.host)
    eq(len(a["apps"]), 14, "alpine apps")
    eq(a["image"]["namespace"], "library", "alpine namespace")


def test_multi_platform(reg):
    skopeo("oci:" + MULTI, reg.host + "/multi/platform:1", "--all")
    for plat, want in ((None, "amd64"), ("linux/arm64", "arm64")):
        extra = ["--platform", plat] if plat else []
        r = scan("--insecure-registry", *extra, "--output", "files", reg.host + "/multi/platform:1")
        eq([ln.split(" ")[-1] for ln in r.stdout.splitlines()],
           ["linux", "linux/" + want, "linux/%s/README.md" % want], "files for %s" % plat)
        same_findings(doc("--insecure-registry", *extra, reg.host + "/multi/platform:1"),
                      doc(*extra, MULTI), "multi %s" % plat)
    r = scan("--insecure-registry", "--platform", "linux/s390x", "--output", "json",
             reg.host + "/multi/platform:1", rc=1)
    has(r.stderr, "no image for platform linux/s390x in the index; it holds: (no name) linux/amd64, "
                  "(no name) linux/arm64 (nothing stored)")
    # an index built here, two platforms with different files, and no nesting
    lay = os.path.join(TMP, "built-index")
    oci_layout(lay, [("linux/amd64", [[("etc/os-release", b"ID=alpine\nVERSION_ID=3.18.0\n"),
                                       ("amd64.txt", b"x")]]),
                     ("linux/arm64", [[("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
                                       ("arm64.txt", b"y")]])], "2")
    skopeo("oci:" + lay, reg.host + "/built/index:2", "--all")
    for plat in ("linux/amd64", "linux/arm64"):
        r = scan("--insecure-registry", "--platform", plat, "--output", "files", reg.host + "/built/index:2")
        eq([ln.split(" ")[-1] for ln in r.stdout.splitlines()],
           ["etc/os-release", "%s.txt" % plat.split("/")[1]], "built " + plat)
        same_findings(doc("--insecure-registry", "--platform", plat, reg.host + "/built/index:2"),
                      doc("--platform", plat, lay), "built " + plat)


def test_errors(reg):
    r = scan("--insecure-registry", "--output", "json", reg.host + "/library/alpine:nope", rc=1)
    has(r.stderr, "imgsec scan: %s/library/alpine:nope: %s/library/alpine manifest nope: the registry "
                  "answered 404 (MANIFEST_UNKNOWN: manifest unknown) (nothing stored)" % (reg.host, reg.host))
    # TLS against a plain-HTTP registry: the hint names the flag
    r = scan("--output", "json", reg.host + "/library/alpine:3.10", rc=1)
    has(r.stderr, "(a plain-HTTP registry needs --insecure-registry) (nothing stored)")
    r = scan("--insecure-registry", "--output", "json", reg.host + "/Upper/case:1", rc=1)
    has(r.stderr, "image reference: the repository must be lower-case letters and digits")
    # flags that only mean something for a registry
    r = scan("--insecure-registry", "--output", "json", ALPINE_TAR, rc=2)
    has(r.stderr, "are for an image in a registry, not " + ALPINE_TAR)
    r = scan("--password-stdin", "--output", "json", reg.host + "/library/alpine:3.10", rc=2)
    has(r.stderr, "--password-stdin needs --username")
    # a missing path stays a path, whatever its colons
    r = scan("--output", "json", "./no/such:file", rc=1)
    has(r.stderr, "imgsec scan: ./no/such:file: No such file or directory (nothing stored)")


def test_basic_auth():
    hp = os.path.join(TMP, "htpasswd")
    with open(hp, "w") as f:
        f.write(subprocess.run(["htpasswd", "-Bbn", "alice", "s3cret-Pw"], capture_output=True,
                               text=True, check=True).stdout)
    reg = Registry("basic", "auth:\n  htpasswd:\n    realm: imgsec-test\n    path: %s\n" % hp)
    try:
        ref = reg.host + "/team/alpine:3.10"
        skopeo("docker-archive:" + ALPINE_TAR, ref, "--dest-creds", "alice:s3cret-Pw")
        local = doc(ALPINE_TAR)
        db = os.path.join(TMP, "basic.db")
        r = scan("--insecure-registry", "--db", db, "--project", "P1", ref, rc=1)
        has(r.stderr, "the registry wants credentials: give credentials with --username and "
                      "--password-stdin")
        r = scan("--insecure-registry", "--db", db, "--project", "P1", "--username", "alice",
                 "--password-stdin", ref, stdin="wrong-pw\n", rc=1)
        has(r.stderr, "the registry refused the credentials of 'alice' (nothing stored)")
        eq(db_counts(db, "alpine"), (0, 0, 0), "after a refused pull")
        r = scan("--insecure-registry", "--db", db, "--project", "P1", "--username", "alice",
                 "--password-stdin", ref, stdin="s3cret-Pw\n")
        has(r.stderr, "stored image id 1 with")
        eq(db_counts(db, "alpine"), (1, 14, 1), "after the pull")
        for out in (r.stdout, r.stderr):
            if "s3cret" in out:
                raise AssertionError("the password was printed")
        same_findings(doc("--insecure-registry", "--username", "alice", "--password-stdin", ref,
                          stdin="s3cret-Pw\n"), local, "basic stdin")
        env = dict(ENV, IMGSEC_REGISTRY_USERNAME="alice", IMGSEC_REGISTRY_PASSWORD="s3cret-Pw")
        same_findings(doc("--insecure-registry", ref, env=env), local, "basic env")
        env = dict(ENV, IMGSEC_REGISTRY_PASSWORD="s3cret-Pw")
        same_findings(doc("--insecure-registry", "--username", "alice", ref, env=env), local,
                      "basic --username with the env password")
        dc = os.path.join(TMP, "docker-config")
        os.makedirs(dc)
        with open(os.path.join(dc, "config.json"), "w") as f:
            json.dump({"auths": {reg.host: {"auth": base64.b64encode(b"alice:s3cret-Pw").decode()}}}, f)
        same_findings(doc("--insecure-registry", ref, env=dict(ENV, DOCKER_CONFIG=dc)), local,
                      "basic config.json")
        bad = os.path.join(TMP, "bad-auth.json")
        with open(bad, "w") as f:
            json.dump({"auths": {reg.host: {"auth": base64.b64encode(b"alice:nope").decode()}}}, f)
        r = scan("--insecure-registry", "--authfile", bad, "--output", "json", ref, rc=1)
        has(r.stderr, "the registry refused the credentials of 'alice'")
    finally:
        reg.kill()


class TokenService(http.server.BaseHTTPRequestHandler):
    """A registry token service: Basic credentials bob:tok-Pw get an RS256
    JWT granting the scopes asked for (docker-registry checks it against
    the certificate in its rootcertbundle)."""
    key = cert_der = None
    issued = requests = 0

    def log_message(self, *a):
        pass

    def do_GET(self):
        TokenService.requests += 1
        want = "Basic " + base64.b64encode(b"bob:tok-Pw").decode()
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details":"bad credentials"}')
            return
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        access = []
        for scope in q.get("scope", []):
            for s in scope.split(" "):
                typ, name, actions = s.split(":")[0], ":".join(s.split(":")[1:-1]), s.split(":")[-1]
                access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")  # noqa: E731
        head = b64(json.dumps({"typ": "JWT", "alg": "RS256",
                               "x5c": [base64.b64encode(TokenService.cert_der).decode()]}).encode())
        claims = b64(json.dumps({"iss": "imgsec-test-issuer", "sub": "bob", "aud": "imgsec-test",
                                 "exp": now + 3600, "nbf": now - 60, "iat": now - 60,
                                 "jti": os.urandom(8).hex(), "access": access}).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", TokenService.key],
                             input=head + b"." + claims, capture_output=True, check=True).stdout
        token = (head + b"." + claims + b"." + b64(sig)).decode()
        TokenService.issued += 1
        body = json.dumps({"token": token, "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_token_realm():
    key, cert = os.path.join(TMP, "tok.key"), os.path.join(TMP, "tok.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=imgsec-test-token"],
                   capture_output=True, check=True)
    TokenService.key = key
    TokenService.cert_der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                                           capture_output=True, check=True).stdout
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenService)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    realm = "http://127.0.0.1:%d/token" % srv.server_address[1]
    reg = Registry("token", "auth:\n  token:\n    realm: %s\n    service: imgsec-test\n"
                            "    issuer: imgsec-test-issuer\n    rootcertbundle: %s\n" % (realm, cert))
    try:
        ref = reg.host + "/team/hello:25"
        local_path = os.path.join(FIX, "gcr-hello-world-docker25.tar")
        skopeo("docker-archive:" + local_path, ref, "--dest-creds", "bob:tok-Pw")
        before = TokenService.issued
        pulled = doc("--insecure-registry", "--username", "bob", "--password-stdin", ref, stdin="tok-Pw")
        same_findings(pulled, doc(local_path), "token")
        eq(TokenService.issued - before, 1, "tokens fetched for one scan")
        r = scan("--insecure-registry", "--output", "json", ref, rc=1)
        has(r.stderr, "the registry's token service wants credentials")
        r = scan("--insecure-registry", "--output", "json", "--username", "bob", "--password-stdin",
                 ref, stdin="nope", rc=1)
        has(r.stderr, "the registry's token service refused the credentials of 'bob' (nothing stored)")
        # without --insecure-registry an http:// realm is refused (the registry itself is https here
        # in spirit: the refusal comes before any credentials are sent)
    finally:
        reg.kill()
        srv.shutdown()


def test_tls():
    """HTTPS: a registry with a self-signed certificate is refused unless
    --registry-ca names it; its token realm on https is used, one on plain
    http:// is refused before any credentials are sent."""
    key, cert = os.path.join(TMP, "tls.key"), os.path.join(TMP, "tls.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, check=True)
    TokenService.key = key
    TokenService.cert_der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                                           capture_output=True, check=True).stdout
    tls_srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenService)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls_srv.socket = ctx.wrap_socket(tls_srv.socket, server_side=True)
    plain_srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenService)
    for srv in (tls_srv, plain_srv):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    token_auth = ("auth:\n  token:\n    realm: %s\n    service: imgsec-test\n"
                  "    issuer: imgsec-test-issuer\n    rootcertbundle: " + cert + "\n")
    good = Registry("tls", token_auth % ("https://127.0.0.1:%d/token" % tls_srv.server_address[1]),
                    tls=(cert, key))
    bad = Registry("tls-http-realm", token_auth % ("http://127.0.0.1:%d/token" % plain_srv.server_address[1]),
                   tls=(cert, key))
    try:
        local_path = os.path.join(FIX, "gcr-hello-world-docker25.tar")
        for reg in (good, bad):
            skopeo("docker-archive:" + local_path, reg.host + "/team/hello:tls", "--dest-creds", "bob:tok-Pw")
        r = scan("--output", "json", good.host + "/team/hello:tls", rc=1)
        has(r.stderr, "SSL certificate problem: self-signed certificate (nothing stored)")
        before = TokenService.issued
        same_findings(doc("--registry-ca", cert, "--username", "bob", "--password-stdin",
                          good.host + "/team/hello:tls", stdin="tok-Pw\n"), doc(local_path), "over TLS")
        eq(TokenService.issued - before, 1, "tokens over TLS")
        before = TokenService.requests
        r = scan("--registry-ca", cert, "--username", "bob", "--password-stdin", "--output", "json",
                 bad.host + "/team/hello:tls", stdin="tok-Pw\n", rc=1)
        has(r.stderr, "the registry's token realm 'http://127.0.0.1:%d/token' is not https:// (plain "
                      "http:// only with --insecure-registry) (nothing stored)" % plain_srv.server_address[1])
        eq(TokenService.requests - before, 0, "requests that reached the plain-http realm")
    finally:
        good.kill()
        bad.kill()
        tls_srv.shutdown()
        plain_srv.shutdown()


def test_killed_mid_pull():
    """A registry killed while a layer streams: the scan fails with the reason
    and nothing is stored. The scan is stopped (SIGSTOP) as soon as it reports
    progress, the registry killed, the scan continued, so the kill always lands
    mid-layer."""
    reg = Registry("dying")
    lay = os.path.join(TMP, "big-layout")
    rnd = os.urandom(1 << 20)
    # 160 MiB of incompressible files (1 MiB each, rotated so no two are equal)
    files = [("data/f%03d.bin" % i, rnd[i * 4096:] + rnd[:i * 4096]) for i in range(160)]
    oci_layout(lay, [("linux/amd64", [[("etc/os-release", b"ID=alpine\nVERSION_ID=3.18.0\n")], files])],
               "big")
    ref = reg.host + "/big/image:1"
    skopeo("oci:" + lay, ref)
    db = os.path.join(TMP, "dying.db")
    try:
        p = subprocess.Popen([IMGSEC, "scan", "--insecure-registry", "--progress", "--db", db,
                              "--project", "P1", ref], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        seen = ""
        while True:
            line = p.stderr.readline()
            seen += line
            if not line or "MiB read" in line:
                break
        if "MiB read" not in line:
            raise AssertionError("no progress before the end:\n" + seen)
        os.kill(p.pid, signal.SIGSTOP)
        reg.kill()
        os.kill(p.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=120)
        err = seen + err
        eq(p.returncode, 1, "exit code, stderr:\n" + err)
        has(err, "/big/image blob sha256:")
        has(err, ": the download broke after ")
        has(err, "(nothing stored)")
        eq(db_counts(db, "image"), (0, 0, 0), "images stored")
    finally:
        reg.kill()


def test_tag_moved(reg):
    """A tag pushed again with another image: the re-scan replaces the stored
    image's records (same identity, new image id, the new image's counts)."""
    ref = reg.host + "/team/moving:1"
    db = os.path.join(TMP, "moving.db")
    skopeo("docker-archive:" + ALPINE_TAR, ref)
    first = doc("--insecure-registry", ref)
    scan("--insecure-registry", "--db", db, "--project", "P1", ref)
    eq(db_counts(db, "moving"), (1, 14, 1), "first scan")
    lay = os.path.join(TMP, "moved-layout")
    oci_layout(lay, [("linux/amd64", [[("etc/os-release", b"ID=alpine\nVERSION_ID=3.18.0\n"),
                                       ("lib/apk/db/installed",
                                        open(os.path.join(os.path.dirname(FIX), "pkgdb", "apk",
                                                          "alpine-3.18", "lib", "apk", "db",
                                                          "installed"), "rb").read())]])], "1")
    skopeo("oci:" + lay, ref)
    second = doc("--insecure-registry", ref)
    if second["image"]["image_id"] == first["image"]["image_id"]:
        raise AssertionError("the tag did not move")
    eq(len(second["apps"]), 15, "apps of the new image")
    scan("--insecure-registry", "--db", db, "--project", "P1", ref)
    eq(db_counts(db, "moving"), (1, 15, 1), "after the tag moved")
    c = records(db)
    eq(c.execute("SELECT image_id, image_digest FROM images").fetchall(),
       [(second["image"]["image_id"], second["image"]["image_digest"])], "stored identity")
    kinds = {}
    for t in ("rec_app", "rec_build_command_risk", "rec_risk_config", "rec_sensitive_info", "rec_file"):
        kinds[t] = c.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
    c.close()
    eq(kinds, {"rec_app": 15, "rec_build_command_risk": len(second.get("build_command_risks", [])),
               "rec_risk_config": len(second.get("risk_configs", [])),
               "rec_sensitive_info": len(second.get("sensitive_info", [])),
               "rec_file": len(second.get("files", []))}, "records after the tag moved")


def test_retry(reg):
    """The registry is down when the scan starts and comes back on the same
    port 0.5 s later: the manifest request is retried (backoff 0.25, 0.5, 1,
    2 s) and the scan succeeds."""
    reg.kill()
    p = subprocess.Popen([IMGSEC, "scan", "--insecure-registry", "--output", "json",
                          reg.host + "/library/alpine:3.10"], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    back = Registry("plain", port=reg.port)
    try:
        out, err = p.communicate(timeout=60)
        eq(p.returncode, 0, "exit code, stderr:\n" + err)
        same_findings(json.loads(out), doc(ALPINE_TAR), "after the retry")
    finally:
        back.kill()


class Peer(http.server.BaseHTTPRequestHandler):
    """A registry that misbehaves on purpose, serving an OCI layout dir:
    503s before answering, a wrong Docker-Content-Digest, corrupt bytes,
    an oversized or schema 1 manifest, blobs redirected to another host
    name; Basic auth (carol:peer-Pw) when AUTH is set. It records every
    request (kind, ref, Authorization sent or not)."""
    layout = None
    fail = {}          # "manifests" / "blobs" -> 503s still to send
    fail_status = 503
    bad_header = False
    corrupt = set()    # digests served with a byte flipped
    redirect = None    # "http://localhost:PORT": blobs answered with a 307 there
    auth = False
    seen = []

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        parts = path.split("/")
        if parts[1] == "redirected":  # the other host of a redirect
            Peer.seen.append(("redirected", parts[2], self.headers.get("Authorization") is not None))
            return self.answer(200, self.blob(parts[2]), "application/octet-stream")
        kind, ref = parts[-2], parts[-1]
        Peer.seen.append((kind, ref, self.headers.get("Authorization") is not None))
        want = "Basic " + base64.b64encode(b"carol:peer-Pw").decode()
        if Peer.auth and self.headers.get("Authorization") != want:
            return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                               extra=[("WWW-Authenticate", 'Basic realm="peer"')])
        if Peer.fail.get(kind, 0) > 0:
            Peer.fail[kind] -= 1
            return self.answer(Peer.fail_status, b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}',
                               extra=[("Retry-After", "0")])
        if kind == "manifests":
            if ref == "huge":
                return self.answer(200, b"{" + b" " * (9 << 20) + b"}",
                                   "application/vnd.oci.image.manifest.v1+json")
            if ref == "s1":
                return self.answer(200, json.dumps({"schemaVersion": 1, "name": "x", "tag": "s1",
                                                    "fsLayers": []}).encode(),
                                   "application/vnd.docker.distribution.manifest.v1+prettyjws")
            digest = ref
            if not ref.startswith("sha256:"):
                with open(os.path.join(Peer.layout, "index.json")) as f:
                    digest = json.load(f)["manifests"][0]["digest"]
            body = self.blob(digest)
            mt = json.loads(self.blob(digest, False)).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            dcd = "sha256:" + "0" * 64 if Peer.bad_header else digest
            return self.answer(200, body, mt, [("Docker-Content-Digest", dcd)])
        if Peer.redirect:
            return self.answer(307, extra=[("Location", "%s/redirected/%s" % (Peer.redirect, ref))])
        return self.answer(200, self.blob(ref), "application/octet-stream")

    def blob(self, digest, corrupt=True):
        with open(os.path.join(Peer.layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
            b = f.read()
        if corrupt and digest in Peer.corrupt:
            b = b[:-1] + bytes([b[-1] ^ 1])
        return b


def test_hostile_peer():
    lay = os.path.join(TMP, "peer-layout")
    oci_layout(lay, [("linux/amd64", [[("etc/os-release", b"ID=alpine\nVERSION_ID=3.18.0\n")],
                                      [("app/a.txt", b"a")]]),
                     ("linux/arm64", [[("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n")]])], "1")
    Peer.layout = lay
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    host = "127.0.0.1:%d" % port
    local = doc(lay)
    with open(os.path.join(lay, "index.json")) as f:
        top = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(lay, "blobs", "sha256", top.split(":")[1])) as f:
        amd64 = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(lay, "blobs", "sha256", amd64.split(":")[1])) as f:
        m = json.load(f)
    config, layers = m["config"]["digest"], [d["digest"] for d in m["layers"]]

    def reset(**kw):
        Peer.fail, Peer.fail_status, Peer.bad_header, Peer.corrupt = {}, 503, False, set()
        Peer.redirect, Peer.auth, Peer.seen = None, False, []
        for k, v in kw.items():
            setattr(Peer, k, v)

    try:
        # 503 twice on the first manifest, once on the first blob: retried, then the same document
        reset(fail={"manifests": 2, "blobs": 1})
        same_findings(doc("--insecure-registry", host + "/peer/app:1"), local, "after 503s")
        eq([k for k, _, _ in Peer.seen], ["manifests"] * 4 + ["blobs"] * 4, "requests with retries")
        eq(Peer.seen[4][1], config, "the retried blob is the config")
        # 429 too; and always 503: five attempts, then the reason
        reset(fail={"manifests": 1}, fail_status=429)
        same_findings(doc("--insecure-registry", host + "/peer/app:1"), local, "after a 429")
        reset(fail={"manifests": 99})
        r = scan("--insecure-registry", "--output", "json", host + "/peer/app:1", rc=1)
        has(r.stderr, "manifest 1: the registry answered 503 (UNAVAILABLE: try later) (nothing stored)")
        eq(len(Peer.seen), 5, "attempts")
        # the registry's digest header disagrees with the bytes
        reset(bad_header=True)
        r = scan("--insecure-registry", "--output", "json", host + "/peer/app:1", rc=1)
        has(r.stderr, "digest mismatch: the manifest hashes to %s, the registry says sha256:%s" % (top, "0" * 64))
        # a platform manifest, the config and a layer whose bytes do not match their digests
        db = os.path.join(TMP, "peer.db")
        for bad, msg in ((amd64, "digest mismatch: the bytes hash to sha256:"),
                         (config, "digest mismatch: the config hashes to sha256:"),
                         (layers[1], "blob digest mismatch: the bytes hash to sha256:")):
            reset(corrupt={bad})
            r = scan("--insecure-registry", "--db", db, "--project", "P1", host + "/peer/app:1", rc=1)
            has(r.stderr, msg)
            has(r.stderr, "(nothing stored)")
            eq(db_counts(db, "app"), (0, 0, 0), "stored after a corrupt " + bad)
        # an oversized manifest, a schema 1 manifest
        reset()
        r = scan("--insecure-registry", "--output", "json", host + "/peer/app:huge", rc=1)
        has(r.stderr, "manifest huge: larger than 8388608 bytes (nothing stored)")
        r = scan("--insecure-registry", "--output", "json", host + "/peer/app:s1", rc=1)
        has(r.stderr, "a Docker schema 1 manifest, which is not supported")
        # Basic auth, blobs redirected to another host name: the credentials stay with the registry
        reset(auth=True, redirect="http://localhost:%d" % port)
        env = dict(ENV, IMGSEC_REGISTRY_USERNAME="carol", IMGSEC_REGISTRY_PASSWORD="peer-Pw")
        same_findings(doc("--insecure-registry", host + "/peer/app:1", env=env), local, "redirected")
        eq(sorted({(k, a) for k, _, a in Peer.seen}),
           [("blobs", True), ("manifests", False), ("manifests", True), ("redirected", False)],
           "who saw an Authorization header")
        eq(sum(1 for k, _, _ in Peer.seen if k == "redirected"), 3, "blobs fetched from the other host")
    finally:
        srv.shutdown()


def main():
    reg = Registry("plain")
    try:
        check("plain: fixtures pulled equal the file scans", lambda: test_plain(reg))
        check("plain: multi-platform indexes", lambda: test_multi_platform(reg))
        check("plain: errors", lambda: test_errors(reg))
        check("plain: a tag moved to another digest", lambda: test_tag_moved(reg))
        check("plain: retried while the registry restarts", lambda: test_retry(reg))
    finally:
        reg.kill()
    check("basic auth (htpasswd)", test_basic_auth)
    check("token realm", test_token_realm)
    check("HTTPS: --registry-ca, and a plain-http token realm refused", test_tls)
    check("registry killed mid-layer", test_killed_mid_pull)
    check("a misbehaving registry", test_hostile_peer)
    if FAILS:
        print("%d failed: %s (kept %s)" % (len(FAILS), ", ".join(FAILS), TMP))
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
