"""test_sdk_python.py - imgsecd through the official Python SDK (huaweicloudsdkhss
3.1.211, unchanged, from ../shared/sdk): every implemented operation, with an
AK/SK client and with a token client, each asserting the returned model's
fields equal what was ingested.

    IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec python3 tests/conformance/test_sdk_python.py
"""
import io
import sys
import time

from harness import Server, check, report

from huaweicloudsdkhss.v5.model import (
    BatchExportSWRBaselineInfoRequestInfo, ExportImageSecurityReportTaskRequest,
    ExportImageSecurityReportTaskRequestInfo, ListCicdImagesRequest,
    ListDownloadExportedFileRequest, ListImageLocalRequest, ListQueryExportTaskRequest,
    ListRegistryImagesRequest, ShowImageSecurityReportStatisticRequest)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException



def doc(i, image_type, apps, vuls, ns="shop", cicd=None):
    image = {"image_type": image_type, "namespace": "" if image_type == "local_image" else ns,
             "image_name": "img%02d" % i, "image_version": "v%d" % (i % 3),
             "image_id": "sha256:i%02d" % i, "image_digest": "sha256:d%02d" % i,
             "image_size": 1000 + i, "latest_update_time": 5000 + i,
             "latest_scan_time": 9000 - i, "scan_status": "success", "container_num": i % 2}
    if cicd:
        image["cicd_name"] = cicd
    return {"image": image,
            "apps": [{"app_name": "app%d" % k, "app_version": "1.%d" % k} for k in range(apps)],
            "vulnerabilities": [{"vul_id": "CVE-2024-%04d" % k, "vul_type": "linux_vul",
                                 "severity": "high" if k == 0 else "low"} for k in range(vuls)],
            "malwares": [{"file_path": "/bin/evil%d" % i}] if i % 4 == 0 else []}


def main():
    s = Server()
    s.user("alice", role="admin")
    ak, sk = s.key("alice")
    with s:
        tok = s.token("alice")
        docs = [doc(i, ["private_image", "shared_image", "cicd", "local_image"][i % 4],
                    apps=i % 5 + 1, vuls=i % 3, cicd="pipe" if i % 4 == 2 else None)
                for i in range(24)]
        ids = s.ingest(tok, docs)
        by_id = dict(zip(ids, docs))
        for mode, c in (("aksk", s.client(ak=ak, sk=sk)), ("token", s.client(token=tok))):
            run(mode, c, s, ids, by_id, docs)
    return report()


def stat(c, region, rtype, **body):
    return c.show_image_security_report_statistic(ShowImageSecurityReportStatisticRequest(
        region=region, security_report_type=rtype,
        body=BatchExportSWRBaselineInfoRequestInfo(**body))).total_num


def run(mode, c, s, ids, by_id, docs):
    apps_total = sum(len(d["apps"]) for d in docs)

    def statistic():
        assert stat(c, s.region, "apps", operate_all=True) == apps_total
        assert stat(c, s.region, "vulnerability", image_id_list=[str(ids[4])]) == \
            len(docs[4]["vulnerabilities"])
    check("%s: ShowImageSecurityReportStatistic" % mode, statistic)

    def statistic_wrong_region():
        try:
            stat(c, "elsewhere-1", "apps", operate_all=True)
        except ClientRequestException as e:
            assert e.status_code == 400 and e.error_code == "HSS.0001", e
            return
        raise AssertionError("wrong region accepted")
    check("%s: statistic refuses a wrong region (HSS.0001)" % mode, statistic_wrong_region)

    def export_flow():
        # no region: the SDK has none on this operation
        r = c.export_image_security_report_task(ExportImageSecurityReportTaskRequest(
            body=ExportImageSecurityReportTaskRequestInfo(
                export_size=1000, security_report_type="apps", operate_all=True)))
        task = r.task_id
        assert task and len(task) == 32
        for _ in range(500):
            st = c.list_query_export_task(ListQueryExportTaskRequest(task_id=task))
            if st.task_status != "running":
                break
            time.sleep(0.05)
        assert st.task_status == "success", st
        # the SDK's body has no file_format: the file is xlsx (the default)
        dl = c.list_download_exported_file(ListDownloadExportedFileRequest(file_id=st.file_id))
        chunks = []
        dl.consume_download_stream(lambda stream: chunks.extend(stream.iter_content(65536)))
        data = b"".join(chunks)
        import openpyxl
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = [r for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
        assert len(body) == apps_total, (len(body), apps_total)
        col = {h: k for k, h in enumerate(header)}
        got = sorted((int(r[col["id"]]), r[col["app_name"]], r[col["app_version"]]) for r in body)
        want = sorted((i, a["app_name"], a["app_version"]) for i, d in by_id.items()
                      for a in d["apps"])
        assert got == want
    check("%s: export task without region, poll, download, rows" % mode, export_flow)

    def registry_images():
        want = sorted(i for i, d in by_id.items()
                      if d["image"]["image_type"] in ("private_image", "shared_image"))
        r = c.list_registry_images(ListRegistryImagesRequest(limit=200))
        assert r.total_num == len(want)
        assert [x.id for x in r.data_list] == want
        for x in r.data_list:
            d = by_id[x.id]
            im = d["image"]
            assert isinstance(x.id, int)
            assert (x.namespace, x.image_name, x.image_version, x.image_id, x.image_digest,
                    x.image_type, x.image_size, x.latest_update_time, x.latest_scan_time,
                    x.scan_status) == (im["namespace"], im["image_name"], im["image_version"],
                                       im["image_id"], im["image_digest"], im["image_type"],
                                       im["image_size"], im["latest_update_time"],
                                       im["latest_scan_time"], "success"), x
            assert x.vul_num == len(d["vulnerabilities"])
            assert x.malicious_file_num == len(d["malwares"])
            assert x.unsafe_setting_num == 0
            assert x.vul_num == stat(c, s.region, "vulnerability", image_id_list=[str(x.id)])
        # sorted by scan time, descending, one page at a time
        r1 = c.list_registry_images(ListRegistryImagesRequest(
            sort_key="latest_scan_time", sort_dir="desc", limit=3, offset=0))
        r2 = c.list_registry_images(ListRegistryImagesRequest(
            sort_key="latest_scan_time", sort_dir="desc", limit=3, offset=3))
        times = [x.latest_scan_time for x in r1.data_list + r2.data_list]
        assert times == sorted(times, reverse=True) and len(times) == 6
        r = c.list_registry_images(ListRegistryImagesRequest(image_type="shared_image",
                                                             has_vul=True, limit=200))
        assert r.total_num == sum(1 for d in docs if d["image"]["image_type"] == "shared_image"
                                  and d["vulnerabilities"])
    check("%s: ListRegistryImages" % mode, registry_images)

    def cicd_images():
        want = [d for d in docs if d["image"]["image_type"] == "cicd"]
        r = c.list_cicd_images(ListCicdImagesRequest(limit=200, cicd_name="pipe"))
        assert r.total_num == len(want)
        got = {x.image_digest: x for x in r.data_list}
        for d in want:
            x = got[d["image"]["image_digest"]]
            assert (x.cicd_name, x.image_name, x.image_type, x.vul_num) == (
                "pipe", d["image"]["image_name"], "cicd", len(d["vulnerabilities"]))
    check("%s: ListCicdImages" % mode, cicd_images)

    def local_images():
        want = [d for d in docs if d["image"]["image_type"] == "local_image"]
        r = c.list_image_local(ListImageLocalRequest(limit=10))
        assert r.total_num == len(want)
        got = {x.image_digest: x for x in r.data_list}
        for d in want:
            x = got[d["image"]["image_digest"]]
            assert (x.image_name, x.vul_num, x.component_num) == (
                d["image"]["image_name"], len(d["vulnerabilities"]), len(d["apps"]))
        r = c.list_image_local(ListImageLocalRequest(limit=10, has_container=True))
        assert r.total_num == sum(1 for d in want if d["image"]["container_num"] > 0)
    check("%s: ListImageLocal" % mode, local_images)


if __name__ == "__main__":
    sys.exit(main())
