"""Images per minute one imgsecd scans from a loopback registry with N scan
workers (docs/performance.md "Scan tasks: images per minute").

Starts Debian's docker-registry on 127.0.0.1, pushes the fixture images of
tests/registry (alpine 3.10, two hello-worlds, a whiteout image) under
TAGS tags each with skopeo, then for each N given: a fresh imgsecd
(--scan-workers N, no --vulndb), AddRegistry, CreateImageSynchronizeTask,
and one CreateManualImageScanTask is_all timed from the create to the
moment ListImageScanTask says 100 (polled every 50 ms). Prints images,
seconds, images per minute, imgsecd's CPU seconds over the same span, and
the load average before and after.

    TMPDIR=build/tmp IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec \\
        /usr/bin/python3 bench/scan_tasks.py [TAGS] [N ...]     # defaults: 5, 1 2
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "registry"),
                os.path.join(HERE, "..", "tests", "conformance")]
os.environ.setdefault("IMGSEC_FIXTURES", os.path.join(HERE, "..", "..", "shared", "fixtures",
                                                      "scan"))
import test_scan_registry as R  # noqa: E402
from harness import Server  # noqa: E402


def call(s, tok, method, path, body=None):
    st, _, out = s.http(method, "/v5/P1" + path, json.dumps(body).encode() if body else None,
                        {"X-Auth-Token": tok, "Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError("%s %s: %s %s" % (method, path, st, out[:300]))
    return json.loads(out)


def cpu_s(pid):
    """user + system CPU seconds of a process so far."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def finish(s, tok, kind, tid):
    while True:
        t = call(s, tok, "GET", "/image/tasks?type=%s&task_id=%s" % (kind, tid))["data_list"][0]
        if t["task_status"] == 100:
            return t
        time.sleep(0.05)


def main():
    tags = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workers = [int(a) for a in sys.argv[2:]] or [1, 2]
    reg = R.Registry("bench")
    try:
        for src, _, ref in R.FIXTURES[:4]:
            repo = "bench/" + ref.split(":")[0].replace("/", "-")
            for k in range(tags):
                R.skopeo(src, "%s/%s:t%d" % (reg.host, repo, k))
        for n in workers:
            s = Server(extra=["--scan-workers", str(n)])
            s.user("alice", role="admin")
            with s:
                tok = s.token("alice")
                call(s, tok, "POST", "/image/registries",
                     {"registry_name": "bench", "registry_type": "Other", "protocol": "http",
                      "registry_addr": reg.host})
                t = call(s, tok, "POST", "/image/image-sync/tasks", {"sync_all_registries": True})
                finish(s, tok, "image_sync", t["task_id"])
                load0 = open("/proc/loadavg").read().split()[:3]
                t0, c0 = time.monotonic(), cpu_s(s.proc.pid)
                t = call(s, tok, "POST", "/image/image-scan/tasks", {"is_all": True})
                t = finish(s, tok, "image_scan", t["task_id"])
                dt, cpu = time.monotonic() - t0, cpu_s(s.proc.pid) - c0
                load1 = open("/proc/loadavg").read().split()[:3]
                assert t["success_num"] == t["total_num"] == 4 * tags, t
                print("--scan-workers %d: %d images in %.2f s = %.0f images/min, imgsecd CPU "
                      "%.2f s (%.0f ms per image; load before %s, after %s)" % (
                          n, t["total_num"], dt, t["total_num"] * 60 / dt, cpu,
                          cpu * 1000 / t["total_num"], " ".join(load0), " ".join(load1)),
                      flush=True)
    finally:
        reg.kill()


if __name__ == "__main__":
    main()
