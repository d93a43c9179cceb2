"""test_sdk_python_scan_tasks.py - registry sync and scan tasks through the
official Python SDK (huaweicloudsdkhss, unchanged, from ../shared/sdk)
against a real imgsecd and a real registry (Debian's docker-registry on
loopback with htpasswd basic auth, filled by skopeo from the fixture
images): AddRegistry with a password, CreateImageSynchronizeTask,
ListRegistryImages (waiting_for_scan), CreateManualImageScanTask,
ListImageScanTask polled until the task finishes, ListRegistryImages
(success), ShowImageSecurityReportStatistic counting the findings,
StopImageScanTask, and the SDK's errors, with an AK/SK client and a
token client.

    IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec python3 tests/conformance/test_sdk_python_scan_tasks.py

Exits 77 (skipped) only when docker-registry, skopeo or htpasswd is missing.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "registry")]
os.environ.setdefault("IMGSEC_FIXTURES", os.path.join(HERE, "..", "..", "..", "shared",
                                                      "fixtures", "scan"))
from harness import Server, check, raises, report  # noqa: E402
import test_scan_registry as R  # noqa: E402 - exits 77 without docker-registry / skopeo

from huaweicloudsdkhss.v5.model import (  # noqa: E402
    AddRegistryRequest, AddRegistryRequestBody, BatchExportSWRBaselineInfoRequestInfo,
    CreateImageSynchronizeTaskRequest, CreateImageSynchronizeTaskRequestInfo,
    CreateImageSynchronizeTaskRequestInfoRegistryInfo, CreateManualImageScanTaskReqInfo,
    CreateManualImageScanTaskReqInfoImageInfo, CreateManualImageScanTaskRequest,
    ListImageScanTaskRequest, ListRegistryImagesRequest, ListRegistryRequest,
    ShowImageSecurityReportStatisticRequest, StopImageScanTaskRequest)

USER, PW = "robot", "Sdk-Scan-Passw0rd"
REFS = ["library/alpine:3.10", "gcr/hello:25", "gcr/whiteout:1"]


def tasks(c, kind, **q):
    return c.list_image_scan_task(ListImageScanTaskRequest(type=kind, **q))


def wait(c, kind, task_id):
    end = time.time() + 600  # a cap on polling, not a timing assertion
    while time.time() < end:
        r = tasks(c, kind, task_id=task_id)
        assert r.total_num == 1, r
        t = r.data_list[0]
        if t.task_status in (100, -1):
            return t
        time.sleep(0.1)
    raise AssertionError("task %s did not finish" % task_id)


def run(mode, c, s, reg, ns):
    st = {}

    def t_add_sync():
        c.add_registry(AddRegistryRequest(body=AddRegistryRequestBody(
            registry_name="loop-" + mode, registry_type="Jfrog", protocol="http",
            registry_addr=reg.host, registry_username=USER, registry_password=PW,
            namespace=ns, api_version="V2")))
        r = c.list_registry(ListRegistryRequest(registry_name="loop-" + mode))
        st["rid"] = r.data_list[0].id
        body = CreateImageSynchronizeTaskRequestInfo(
            sync_all_registries=False, registry_info=[
                CreateImageSynchronizeTaskRequestInfoRegistryInfo(registry_id=st["rid"],
                                                                  registry_type="Jfrog")])
        r = c.create_image_synchronize_task(CreateImageSynchronizeTaskRequest(body=body))
        assert r.to_dict() == {}, r.to_dict()  # the SDK's empty model (task_id is not in it)
        t = tasks(c, "image_sync").data_list[0]
        t = wait(c, "image_sync", t.task_id)
        assert (t.task_status, t.total_num, t.success_num, t.failed_num, t.task_type) == \
            (100, 1, 1, 0, "manualSync"), t
        r = c.list_registry_images(ListRegistryImagesRequest(image_type="jfrog", namespace=ns,
                                                             limit=200))
        assert r.total_num == (2 if ns == "gcr" else 1), r  # the registry's namespace only
        st["names"] = sorted("%s/%s:%s" % (i.namespace, i.image_name, i.image_version)
                             for i in r.data_list)
        assert all(i.scan_status == "waiting_for_scan" and i.registry_type == "Jfrog"
                   for i in r.data_list), r
        r = c.list_registry(ListRegistryRequest(registry_name="loop-" + mode)).data_list[0]
        assert (r.status, r.images_num) == ("success", len(st["names"])), r

    def t_scan():
        body = CreateManualImageScanTaskReqInfo(is_all=False, scan_scope=0x7fffffff, image_info=[
            CreateManualImageScanTaskReqInfoImageInfo(registry_id=st["rid"], namespace=ns)])
        r = c.create_manual_image_scan_task(CreateManualImageScanTaskRequest(body=body))
        assert r.to_dict() == {}, r.to_dict()
        t = tasks(c, "image_scan", task_type="manual").data_list[0]
        t = wait(c, "image_scan", t.task_id)
        n = len(st["names"])
        assert (t.task_status, t.total_num, t.success_num, t.failed_num, t.image_type,
                t.failed_images) == (100, n, n, 0, "registry", []), t
        r = c.list_registry_images(ListRegistryImagesRequest(image_type="jfrog", namespace=ns,
                                                             scan_status="success", limit=200))
        assert r.total_num == n, r
        st["ids"] = [str(i.id) for i in r.data_list]
        db = R.records(s.db)
        apps = db.execute("SELECT count(*) FROM rec_app WHERE image IN (SELECT id FROM images "
                          "WHERE instance_id = ?)", (st["rid"],)).fetchone()[0]
        db.close()
        if ns == "library":
            assert apps == 14, apps  # alpine 3.10's apk packages
        got = c.show_image_security_report_statistic(ShowImageSecurityReportStatisticRequest(
            region=s.region, security_report_type="apps",
            body=BatchExportSWRBaselineInfoRequestInfo(image_id_list=st["ids"]))).total_num
        assert got == apps, (got, apps)

    def t_stop_and_errors():
        body = CreateManualImageScanTaskReqInfo(is_all=False, image_info=[
            CreateManualImageScanTaskReqInfoImageInfo(id=int(st["ids"][0]))])
        c.create_manual_image_scan_task(CreateManualImageScanTaskRequest(body=body))
        t = tasks(c, "image_scan").data_list[0]
        r = c.stop_image_scan_task(StopImageScanTaskRequest(task_id=t.task_id))
        assert r.to_dict() == {}, r.to_dict()
        t = wait(c, "image_scan", t.task_id)
        assert t.task_status in (100, -1) and t.total_num == 1, t
        raises(lambda: c.stop_image_scan_task(StopImageScanTaskRequest(task_id="987654")), 404,
               "HSS.0011", "task_id")
        raises(lambda: c.create_manual_image_scan_task(CreateManualImageScanTaskRequest(
            body=CreateManualImageScanTaskReqInfo(is_all=False))), 400, "HSS.0001", "image_info")
        raises(lambda: tasks(c, "nonsense"), 400, "HSS.0001", "type")

    check("%s: AddRegistry + CreateImageSynchronizeTask + ListRegistryImages" % mode, t_add_sync)
    check("%s: CreateManualImageScanTask + ListImageScanTask + statistic" % mode, t_scan)
    check("%s: StopImageScanTask and errors" % mode, t_stop_and_errors)


def main():
    hp = os.path.join(R.TMP, "htpasswd")
    with open(hp, "w") as f:
        f.write(subprocess.run(["htpasswd", "-Bbn", USER, PW], capture_output=True, text=True,
                               check=True).stdout)
    reg = R.Registry("sdk", "auth:\n  htpasswd:\n    realm: imgsec-test\n    path: %s\n" % hp)
    s = Server()
    try:
        for src, _, ref in R.FIXTURES[:3]:
            R.skopeo(src, "%s/%s" % (reg.host, ref), "--dest-creds", "%s:%s" % (USER, PW))
        s.user("alice", role="admin")
        ak, sk = s.key("alice")
        with s:
            tok = s.token("alice")
            run("aksk", s.client(ak=ak, sk=sk), s, reg, "library")
            run("token", s.client(token=tok), s, reg, "gcr")
            for path in (s.db, s.db + "-wal"):
                if os.path.exists(path):
                    assert PW.encode() not in open(path, "rb").read(), path
            log = open(os.path.join(s.dir, "imgsecd.log"), "rb").read()
            assert PW.encode() not in log
    finally:
        reg.kill()
    return report()


if __name__ == "__main__":
    sys.exit(main())
