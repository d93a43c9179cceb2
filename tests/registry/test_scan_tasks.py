"""test_scan_tasks.py - registry sync and scan tasks in a real imgsecd against
a real registry (Debian's docker-registry on loopback, filled with skopeo
from the fixture images, as test_scan_registry.py does), over plain HTTP
with tokens:

- CreateImageSynchronizeTask: the registry's 6 tags appear in
  ListRegistryImages as waiting_for_scan, the registry becomes success with
  images_num 6;
- CreateManualImageScanTask is_all: 6 of 6 succeed; every image's record
  counts, per report type, equal those of `imgsec scan` of the same image
  into a database of its own, vulnerabilities matched against the
  server's --vulndb (an advisory made here for alpine 3.10's musl); the
  lists show success at once;
- a missing tag: the item fails with the registry's 404 as its reason,
  the image is stored failed with no record; a registry that is down:
  every item fails naming the connection, nothing half-stored;
- StopImageScanTask while the registry hangs (SIGSTOP): 5 items stopped,
  the one running shows "scanning" and settles after SIGCONT;
- restart: imgsecd killed mid-task, started again: the task resumes and
  finishes with every image;
- errors: bad bodies (HSS.0001 naming the parameter), unknown registry /
  task (404 HSS.0011), a reader (403), another project's credentials (403)
  and another project's ids (404).

    IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec python3 tests/registry/test_scan_tasks.py

Exits 77 (skipped) only when docker-registry or skopeo is missing.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "conformance")]
os.environ.setdefault("IMGSEC_CLI", "build/imgsec")
import test_scan_registry as R  # noqa: E402 - its registry, skopeo and fixtures (exits 77 without them)
from harness import Server, check, report  # noqa: E402

P1, P2 = "P1", "P2"
POLL_S = 600  # a cap on polling, not a timing assertion


def api(s, tok, method, path, body=None, project=P1):
    data = json.dumps(body).encode() if body is not None else None
    st, _, out = s.http(method, "/v5/%s%s" % (project, path), data,
                        {"X-Auth-Token": tok, "Content-Type": "application/json"})
    return st, (json.loads(out) if out else None)


def ok(s, tok, method, path, body=None):
    st, j = api(s, tok, method, path, body)
    assert st == 200, (method, path, st, j)
    return j


def err(s, tok, method, path, body, status, code, part, project=P1):
    st, j = api(s, tok, method, path, body, project)
    assert st == status, (method, path, st, j)
    assert j["error_code"] == code, j
    assert part in j["error_msg"], (part, j)


def task(s, tok, kind, task_id):
    j = ok(s, tok, "GET", "/image/tasks?type=%s&task_id=%s" % (kind, task_id))
    assert j["total_num"] == 1, j
    return j["data_list"][0]


def wait(s, tok, kind, task_id, until=lambda t: t["task_status"] in (100, -1)):
    end = time.time() + POLL_S
    while time.time() < end:
        t = task(s, tok, kind, task_id)
        if until(t):
            return t
        time.sleep(0.1)
    raise AssertionError("task %s did not get there: %r" % (task_id, t))


def images(s, tok, query=""):
    j = ok(s, tok, "GET", "/image/registries/images?limit=200" + query)
    return {"%s/%s:%s" % (i["namespace"], i["image_name"], i["image_version"]): i
            for i in j["data_list"]}


def record_counts(db, where="1"):
    """{(namespace, name, version): {report table: records}} of a database."""
    c = R.records(db)
    try:
        tables = [r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'rec\\_%' ESCAPE '\\'")]
        out = {}
        for (iid, ns, name, ver) in c.execute(
                "SELECT id, namespace, image_name, image_version FROM images WHERE " + where):
            out[(ns, name, ver)] = {t: c.execute("SELECT count(*) FROM %s WHERE image = ?" % t,
                                                 (iid,)).fetchone()[0] for t in tables}
        return out
    finally:
        c.close()


REFS = [ref for _, _, ref in R.FIXTURES[:4]] + ["library/alpine:latest", "gcr/hello:latest"]


def fill(reg):
    for src, _, ref in R.FIXTURES[:4]:
        R.skopeo(src, "%s/%s" % (reg.host, ref))
    R.skopeo(R.FIXTURES[0][0], reg.host + "/library/alpine:latest")
    R.skopeo(R.FIXTURES[1][0], reg.host + "/gcr/hello:latest")


def add_registry(s, tok, name, host):
    ok(s, tok, "POST", "/image/registries",
       {"registry_name": name, "registry_type": "Harbor", "protocol": "http",
        "registry_addr": host})
    regs = ok(s, tok, "GET", "/image/registries?registry_name=" + name)["data_list"]
    return [r for r in regs if r["registry_name"] == name][0]["id"]


# An advisory made here for musl 1.1.22-r3 (alpine 3.10): the server's --vulndb
OSV = {"schema_version": "1.7.5", "id": "IMGSEC-TEST-MUSL-1", "modified": "2026-01-01T00:00:00Z",
       "summary": "a test advisory", "affected": [{
           "package": {"name": "musl", "ecosystem": "Alpine:v3.10"},
           "ranges": [{"type": "ECOSYSTEM",
                       "events": [{"introduced": "0"}, {"fixed": "1.1.22-r4"}]}]}]}


def make_vulndb():
    src = os.path.join(R.TMP, "osv")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "IMGSEC-TEST-MUSL-1.json"), "w") as f:
        json.dump(OSV, f)
    vdb = os.path.join(R.TMP, "osv.sqlite")
    subprocess.run([R.IMGSEC, "vulndb", "import", "--vulndb", vdb, src], check=True,
                   capture_output=True)
    return vdb


def cli_counts(reg, vdb):
    """Every REF scanned by the command line into a database of its own."""
    db = os.path.join(R.TMP, "cli.db")
    for ref in REFS:
        R.scan("--insecure-registry", "--db", db, "--project", P1, "--image-type", "harbor",
               "--vulndb", vdb, "%s/%s" % (reg.host, ref))
    return record_counts(db)


def main():
    reg = R.Registry("tasks")
    fill(reg)
    vdb = make_vulndb()
    want = cli_counts(reg, vdb)
    assert len(want) == 6, want
    # musl and musl-utils of both alpine tags match the advisory
    assert [want[k]["rec_vulnerability"] for k in sorted(want)] == [0, 0, 0, 2, 2, 0], want
    s = Server(extra=["--scan-workers", "1", "--vulndb", vdb])
    s.user("alice", role="admin")
    s.user("rita", role="reader")
    s.user("bob", role="admin", project=P2)
    state = {}
    try:
        s.start()
        adm, rdr = s.token("alice"), s.token("rita")
        bob = s.token("bob", project=P2)
        rid = add_registry(s, adm, "loop", reg.host)
        state["rid"] = rid

        def t_sync():
            t = ok(s, adm, "POST", "/image/image-sync/tasks", {"sync_all_registries": True})
            tid = t["task_id"]
            t = wait(s, adm, "image_sync", tid)
            assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"],
                    t["task_type"], t["sync_task_type"], t["failed_images"]) == \
                (100, 1, 1, 0, "manualSync", "manualSync", []), t
            got = images(s, adm)
            assert sorted(got) == sorted(REFS), sorted(got)
            for i in got.values():
                assert (i["scan_status"], i["image_type"], i["registry_type"], i["vul_num"]) == \
                    ("waiting_for_scan", "harbor", "Harbor", 0), i
            assert len(images(s, adm, "&scan_status=waiting_for_scan")) == 6
            r = ok(s, adm, "GET", "/image/registries")["data_list"][0]
            assert (r["status"], r["images_num"]) == ("success", 6), r
            assert r["latest_sync_time"] > 0, r
            # a second sync adds nothing and keeps the ids
            ids = {k: v["id"] for k, v in got.items()}
            tid2 = ok(s, adm, "POST", "/image/image-sync/tasks",
                      {"sync_all_registries": False,
                       "registry_info": [{"registry_id": rid, "registry_type": "Harbor"}]})["task_id"]
            assert wait(s, adm, "image_sync", tid2)["success_num"] == 1
            assert {k: v["id"] for k, v in images(s, adm).items()} == ids

        def t_scan_all():
            tid = ok(s, adm, "POST", "/image/image-scan/tasks",
                     {"is_all": True, "scan_scope": 0x7fffffff, "rate_limit": 0})["task_id"]
            t = wait(s, adm, "image_scan", tid)
            risky = sum(1 for c in want.values()
                        if c.get("rec_vulnerability", 0) + c.get("rec_risk_config", 0) +
                        c.get("rec_malware", 0) > 0)
            assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"],
                    t["risky_num"], t["task_type"], t["image_type"], t["is_all"],
                    t["remain_min"]) == (100, 6, 6, 0, risky, "manual", "registry", True, 0), t
            assert t["end_time"] >= t["begin_time"] > 0, t
            got = images(s, adm)
            for k, i in got.items():
                assert i["scan_status"] == "success", i
                assert i["latest_scan_time"] > 0 and i["image_digest"].startswith("sha256:"), i
            server = record_counts(s.db, "instance_id = '%s'" % rid)
            assert server == want, (server, want)
            # the list's counts are the records'
            for (ns, name, ver), c in want.items():
                i = got["%s/%s:%s" % (ns, name, ver)]
                assert i["vul_num"] == c.get("rec_vulnerability", 0), (i, c)
                assert i["unsafe_setting_num"] == c.get("rec_risk_config", 0), (i, c)
                assert i["malicious_file_num"] == c.get("rec_malware", 0), (i, c)
            assert len(images(s, adm, "&scan_status=success")) == 6

        def t_missing_tag():
            tid = ok(s, adm, "POST", "/image/image-scan/tasks",
                     {"is_all": False, "image_info": [
                         {"registry_id": rid, "namespace": "gcr", "image_name": "hello",
                          "image_version": "nope"},
                         {"registry_id": rid, "namespace": "gcr", "image_name": "hello",
                          "image_version": "25"}]})["task_id"]
            t = wait(s, adm, "image_scan", tid)
            assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"]) == \
                (100, 2, 1, 1), t
            f = t["failed_images"]
            assert len(f) == 1 and (f[0]["image_name"], f[0]["image_version"], f[0]["namespace"],
                                    f[0]["registry_id"], f[0]["registry_name"],
                                    f[0]["registry_type"]) == \
                ("hello", "nope", "gcr", rid, "loop", "Harbor"), f
            assert "answered 404" in f[0]["failed_reason"], f
            assert len(f[0]["failed_reason"]) <= 128, f
            i = images(s, adm)["gcr/hello:nope"]
            assert (i["scan_status"], i["vul_num"], i["id"]) == ("failed", 0, f[0]["id"]), (i, f)
            c = record_counts(s.db, "image_version = 'nope'")
            assert list(c.values()) == [{k: 0 for k in list(c.values())[0]}], c

        def t_stop():
            os.kill(reg.proc.pid, signal.SIGSTOP)
            try:
                tid = ok(s, adm, "POST", "/image/image-scan/tasks", {"is_all": True,
                         "query_info": {"image_name": "alpine"}})["task_id"]
                wait(s, adm, "image_scan", tid,
                     lambda t: len(images(s, adm, "&scan_status=scanning")) == 1)
                # alpine:3.10 and alpine:latest: one scanning, one waiting
                assert ok(s, adm, "PUT", "/image/image-scan/tasks/%s/stop" % tid) == {}
                t = task(s, adm, "image_scan", tid)
                assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"],
                        t["failed_reason"]) == (-1, 2, 0, 0, "stopped by StopImageScanTask"), t
                # stopping again changes nothing
                assert ok(s, adm, "PUT", "/image/image-scan/tasks/%s/stop" % tid) == {}
            finally:
                os.kill(reg.proc.pid, signal.SIGCONT)
            t = wait(s, adm, "image_scan", tid, lambda t: t["success_num"] + t["failed_num"] == 1)
            assert (t["task_status"], t["success_num"]) == (-1, 1), t
            assert len(images(s, adm, "&scan_status=scanning")) == 0
            assert ok(s, adm, "GET", "/image/tasks?type=image_scan&task_status=scanning")[
                "total_num"] == 0

        def t_restart():
            os.kill(reg.proc.pid, signal.SIGSTOP)
            try:
                tid = ok(s, adm, "POST", "/image/image-scan/tasks", {"is_all": True})["task_id"]
                wait(s, adm, "image_scan", tid,
                     lambda t: len(images(s, adm, "&scan_status=scanning")) == 1)
                s.proc.kill()  # a crash: the item running is left running in the file
                s.proc.wait()
                s.proc = None
            finally:
                os.kill(reg.proc.pid, signal.SIGCONT)
            s.start()
            tok = s.token("alice")
            t = wait(s, tok, "image_scan", tid)
            assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"]) == \
                (100, 7, 6, 1), t  # 6 tags and gcr/hello:nope, which the registry lacks
            assert len(images(s, tok, "&scan_status=success")) == 6
            log = open(os.path.join(s.dir, "imgsecd.log")).read()
            assert "1 items interrupted by the last stop run again" in log, log[-2000:]
            state["adm"] = tok

        def t_registry_down():
            tok = state["adm"]
            reg.kill()
            tid = ok(s, tok, "POST", "/image/image-scan/tasks",
                     {"is_all": False, "image_info": [{"registry_id": rid, "namespace": "library",
                                                       "image_name": "alpine"}]})["task_id"]
            before = record_counts(s.db, "instance_id = '%s'" % rid)
            t = wait(s, tok, "image_scan", tid)
            assert (t["task_status"], t["total_num"], t["success_num"], t["failed_num"]) == \
                (100, 2, 0, 2), t
            for f in t["failed_images"]:
                assert "127.0.0.1" in f["failed_reason"], f
            after = record_counts(s.db, "instance_id = '%s'" % rid)
            for k in before:
                if k[1] == "alpine":
                    assert after[k] == {t: 0 for t in after[k]}, after[k]
                else:
                    assert after[k] == before[k], k
            got = images(s, tok, "&image_name=alpine")
            assert sorted(i["scan_status"] for i in got.values()) == ["failed", "failed"], got
            # a sync of a registry that is down: the registry is "fail"
            tid = ok(s, tok, "POST", "/image/image-sync/tasks",
                     {"sync_all_registries": True})["task_id"]
            t = wait(s, tok, "image_sync", tid)
            assert (t["success_num"], t["failed_num"]) == (0, 1), t
            r = ok(s, tok, "GET", "/image/registries")["data_list"][0]
            assert (r["status"], r["fail_reason"]) == ("fail", "sync_failed"), r

        def t_errors():
            tok = state.get("adm", adm)
            E = "/image/image-scan/tasks"
            err(s, tok, "POST", E, {"is_all": "yes"}, 400, "HSS.0001", "is_all")
            err(s, tok, "POST", E, {"is_all": False}, 400, "HSS.0001", "image_info")
            err(s, tok, "POST", E, {"image_info": [{"image_name": "x"}]}, 400, "HSS.0001",
                "image_info[0].id or image_info[0].registry_id")
            err(s, tok, "POST", E, {"image_info": [{"id": "7"}]}, 400, "HSS.0001",
                "image_info[0].id")
            err(s, tok, "POST", E, {"is_all": True, "rate_limit": 1001}, 400, "HSS.0001",
                "rate_limit")
            err(s, tok, "POST", E, {"is_all": True, "query_info": {"host_id": "h"}}, 400,
                "HSS.0001", "query_info.host_id")
            err(s, tok, "POST", E, {"is_all": True, "query_info": {"image_type": "cicd"}}, 400,
                "HSS.0001", "query_info.image_type")
            err(s, tok, "POST", E, {"is_all": True, "query_info": {"image_name": "none"}}, 400,
                "HSS.0001", "selects no image")
            err(s, tok, "POST", E, {"image_info": [{"registry_id": "99999", "image_name": "a",
                                                    "image_version": "1"}]},
                404, "HSS.0011", "image_info[0].registry_id")
            err(s, tok, "POST", E, {"image_info": [{"id": 99999}]}, 404, "HSS.0011",
                "image_info[0].id")
            err(s, tok, "POST", "/image/image-sync/tasks", {}, 400, "HSS.0001",
                "sync_all_registries")
            err(s, tok, "POST", "/image/image-sync/tasks",
                {"sync_all_registries": False, "registry_info": [{"registry_id": "424242"}]},
                404, "HSS.0011", "registry_info[0].registry_id")
            err(s, tok, "GET", "/image/tasks", None, 400, "HSS.0001", "type")
            err(s, tok, "GET", "/image/tasks?type=scan", None, 400, "HSS.0001", "type")
            err(s, tok, "GET", "/image/tasks?type=image_scan&limit=5", None, 400, "HSS.0001",
                "limit")
            err(s, tok, "PUT", "/image/image-scan/tasks/999999/stop", None, 404, "HSS.0011",
                "task_id")
            err(s, tok, "POST", E + "?global_image_type=local", {"is_all": True}, 400,
                "HSS.0001", "global_image_type")
            n = ok(s, tok, "GET", "/image/tasks?type=image_scan")["total_num"]
            assert n > 0
            assert ok(s, tok, "GET", "/image/tasks?type=image_scan&global_image_type=registry")[
                "total_num"] == n
            assert ok(s, tok, "GET", "/image/tasks?type=image_scan&global_image_type=local")[
                "total_num"] == 0
            # a reader lists, and may not create or stop
            rd = s.token("rita")
            assert ok(s, rd, "GET", "/image/tasks?type=image_scan")["total_num"] == n
            st, _ = api(s, rd, "POST", E, {"is_all": True})
            assert st == 403, st
            st, _ = api(s, rd, "POST", "/image/image-sync/tasks", {"sync_all_registries": True})
            assert st == 403, st
            st, _ = api(s, rd, "PUT", "/image/image-scan/tasks/1/stop")
            assert st == 403, st
            # another project: P1's path with P2's token (403), P1's ids in P2 (404)
            b = s.token("bob", project=P2)
            st, _ = api(s, b, "GET", "/image/tasks?type=image_scan")
            assert st == 403, st
            st, j = api(s, b, "GET", "/image/tasks?type=image_scan", project=P2)
            assert st == 200 and j["total_num"] == 0, j
            err(s, b, "PUT", "/image/image-scan/tasks/1/stop", None, 404, "HSS.0011", "task_id",
                project=P2)
            err(s, b, "POST", E, {"image_info": [{"registry_id": rid, "image_name": "a",
                                                  "image_version": "1"}]},
                404, "HSS.0011", "registry_id", project=P2)
            # nothing above made a task
            assert ok(s, tok, "GET", "/image/tasks?type=image_scan")["total_num"] == n

        check("sync: the registry's tags listed waiting_for_scan", t_sync)
        check("scan all: 6 of 6, records equal the CLI's", t_scan_all)
        check("a missing tag fails with the registry's reason, stored failed", t_missing_tag)
        check("stop while the registry hangs", t_stop)
        check("restart: an interrupted task resumes", t_restart)
        check("errors, roles and projects", t_errors)
        check("registry down: items and the sync fail, nothing half-stored", t_registry_down)
    finally:
        reg.kill()
        rc = s.stop()
        if rc != 0:
            print("FAIL imgsecd exited %s; log in %s" % (rc, s.dir))
            return 1
    return report()


if __name__ == "__main__":
    sys.exit(main())
