"""test_sdk_python_lists.py - the finding lists (imgsec/list.h) through the
official Python SDK (huaweicloudsdkhss 3.1.211, unchanged, from ../shared/sdk),
with an AK/SK client and with a token client: every operation of LIST_KINDS,
each asserting the returned model's fields equal what was ingested (or what
docs/api.md derives from it), and totals equal to the statistic.

    IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec python3 tests/conformance/test_sdk_python_lists.py
"""
import sys

from harness import Server, check, report

from huaweicloudsdkhss.v5.model import (
    BatchExportSWRBaselineInfoRequestInfo, ListGeneralImageVulsRequest, ListGlobalImageAppsRequest,
    ListGlobalImageFilesRequest, ListGlobalMalwareRequest, ListGlobalVulnerabilitiesRequest,
    ListImageAppsRequest, ListImageBuildCommandRisksImagesRequest,
    ListImageBuildCommandRisksRequest, ListImageFilesRequest, ListImageMalwareRequest,
    ListImageNonCompliantAppRequest, ListImageRiskConfigRulesRequest, ListImageRiskConfigsRequest,
    ListImageSensitiveInfoRequest, ListImageSensitiveRequest, ListImageVulnerabilitiesRequest,
    ListVulAffectImagesRequest, ListVulnerabilityCveRequest,
    ShowImageSecurityReportStatisticRequest)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

SEV = ["critical", "high", "medium", "low"]


def doc(i):
    t = ["private_image", "harbor", "cicd", "shared_image"][i % 4]
    n = i + 2
    return {
        "image": {"image_type": t, "namespace": "ns%d" % (i % 2), "image_name": "app%02d" % i,
                  "image_version": "v%d" % i, "image_id": "sha256:c%02d" % i,
                  "image_digest": "sha256:d%02d" % i, "image_size": 100 + i,
                  "latest_update_time": 5000 + i, "latest_scan_time": 9000 + i,
                  "scan_status": "success", "container_num": i % 3},
        "vulnerabilities": [{"vul_id": "CVE-2025-%04d" % (k % 4), "vul_type": "linux_vul",
                             "severity": SEV[k % 4], "app_name": "pkg%d" % k,
                             "app_version": "1.%d" % k, "cvss_score": 5.5 + k % 4,
                             "description": "desc %d" % k, "solution": "upgrade pkg%d" % k,
                             "url": "https://example.org/%d" % k} for k in range(n)],
        "apps": [{"app_name": "pkg%d" % k, "app_version": "1.%d" % k, "app_type": "deb",
                  "app_path": "/usr/lib/pkg%d" % k, "layer_digest": "sha256:l%d" % k}
                 for k in range(n + 1)],
        "malwares": [{"file_path": "/tmp/evil%d" % k, "file_name": "evil%d" % k, "size": 10 + k,
                      "description": "bad %d" % k} for k in range(i % 3)],
        "files": [{"file_path": "/etc/f%d" % k, "file_name": "f%d" % k, "size": 20 + k}
                  for k in range(n)],
        "sensitive_info": [{"rule_id": "key%d" % k, "name": "private key", "severity": SEV[k % 4],
                            "file_path": "/root/k%d" % k, "position": "sha256:l0",
                            "content": "ab****"} for k in range(i % 2 + 1)],
        "non_compliant_apps": [{"app_name": "pkg0", "app_version": "1.0",
                                "app_path": "/usr/lib/pkg0", "layer_digest": "sha256:l0"}],
        "risk_configs": [{"check_name": "SSH", "check_rule_id": "R%d" % k,
                          "check_rule_name": "rule %d" % k, "check_type": "system",
                          "standard": "cn_standard", "severity": SEV[k % 4]} for k in range(n)],
        "build_command_risks": [{"rule_id": "DS%03d" % (k % 2), "risk_name": "risk %d" % (k % 2),
                                 "risk_level": "high", "build_instruction": "RUN step %d" % k,
                                 "remediation": "fix %d" % k} for k in range(i % 3 + 1)],
    }


def stat(c, region, rtype, **body):
    return c.show_image_security_report_statistic(ShowImageSecurityReportStatisticRequest(
        region=region, security_report_type=rtype,
        body=BatchExportSWRBaselineInfoRequestInfo(**body))).total_num


def run(mode, c, s, ids, docs):
    by_id = dict(zip(ids, docs))
    i0, d0 = ids[1], docs[1]  # harbor, 3 vulnerabilities
    im0 = d0["image"]
    kw = dict(image_type=im0["image_type"], image_id=str(i0))

    def image_vuls():
        r = c.list_image_vulnerabilities(ListImageVulnerabilitiesRequest(
            namespace="", image_name="", tag_name="", limit=200, **kw))
        assert r.total_num == len(d0["vulnerabilities"]) == stat(
            c, s.region, "vulnerability", image_id_list=[str(i0)])
        repair = {"critical": "immediate_repair", "high": "immediate_repair",
                  "medium": "delay_repair", "low": "not_needed_repair"}
        got = [(x.vul_id, x.repair_necessity, x.app_name, x.version, x.description, x.solution,
                x.url) for x in r.data_list]
        want = [(v["vul_id"], repair[v["severity"]], v["app_name"], v["app_version"],
                 v["description"], v["solution"], v["url"]) for v in d0["vulnerabilities"]]
        assert got == want, (got, want)
    check("%s: ListImageVulnerabilities" % mode, image_vuls)

    def image_apps():
        r = c.list_image_apps(ListImageAppsRequest(limit=200, **kw))
        assert r.total_num == len(d0["apps"]) == stat(c, s.region, "apps", image_id_list=[str(i0)])
        got = [(x.app_name, x.app_type, x.app_version, x.vul_num) for x in r.data_list]
        want = [(a["app_name"], a["app_type"], a["app_version"],
                 sum(1 for v in d0["vulnerabilities"] if v["app_name"] == a["app_name"]
                     and v["app_version"] == a["app_version"])) for a in d0["apps"]]
        assert got == want, (got, want)
    check("%s: ListImageApps" % mode, image_apps)

    def image_malware_files():
        d2, i2 = docs[2], ids[2]
        r = c.list_image_malware(ListImageMalwareRequest(image_type="cicd", image_id=str(i2),
                                                         limit=10))
        assert [(x.file_name, x.file_path, x.size, x.description) for x in r.data_list] == [
            (m["file_name"], m["file_path"], m["size"], m["description"]) for m in d2["malwares"]]
        assert r.total_num == len(d2["malwares"]) == 2
        r = c.list_image_files(ListImageFilesRequest(limit=10, file_name="f1", **kw))
        assert [(x.file_name, x.file_path, x.size) for x in r.data_list] == [("f1", "/etc/f1", 21)]
    check("%s: ListImageMalware, ListImageFiles" % mode, image_malware_files)

    def image_sensitive_non_compliant():
        r = c.list_image_sensitive(ListImageSensitiveRequest(
            image_type=im0["image_type"], image_id=str(i0), limit=10))
        assert r.total_num == len(d0["sensitive_info"]) == stat(
            c, s.region, "sensitive-info", image_id_list=[str(i0)])
        for k, (x, si) in enumerate(zip(r.data_list, d0["sensitive_info"])):
            assert (x.sensitive_info_id, x.severity, x.name, x.position, x.file_path, x.content,
                    x.latest_scan_time, x.handle_status) == (
                "%d-%d" % (i0, k), si["severity"], si["name"], si["position"], si["file_path"],
                si["content"], im0["latest_scan_time"], "unhandled")
        # the content id names the image too, with either client: the Python SDK
        # sends "sha256%3Ac00" and signs it decoded then encoded (sign.c accepts
        # that form beside the raw one; this answered 401 with AK/SK before)
        ref = im0["image_id"]
        r = c.list_image_non_compliant_app(ListImageNonCompliantAppRequest(
            image_type=im0["image_type"], image_id=ref, limit=10))
        x = r.data_list[0]
        assert r.total_num == 1 and (x.id, x.app_name, x.app_version, x.app_path, x.layer_digest) \
            == ("%d-0" % i0, "pkg0", "1.0", "/usr/lib/pkg0", "sha256:l0")
    check("%s: ListImageSensitive, ListImageNonCompliantApp" % mode, image_sensitive_non_compliant)

    def risk_configs():
        r = c.list_image_risk_configs(ListImageRiskConfigsRequest(image_type=im0["image_type"],
                                                                  image_id=str(i0), limit=10))
        assert r.total_num == 1
        x = r.data_list[0]
        n = len(d0["risk_configs"])
        assert (x.check_name, x.standard, x.check_type, x.failed_rule_num, x.check_rule_num,
                x.severity) == ("SSH", "cn_standard", "system", n, n, "High")
        assert n == stat(c, s.region, "risk-config", image_id_list=[str(i0)])
        r = c.list_image_risk_config_rules(ListImageRiskConfigRulesRequest(
            check_name="SSH", standard="cn_standard", image_type=im0["image_type"],
            image_id=str(i0), limit=10))
        assert r.total_num == n
        cap = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
        assert [(x.check_rule_id, x.check_rule_name, x.severity, x.scan_result)
                for x in r.data_list] == [(rc["check_rule_id"], rc["check_rule_name"],
                                           cap[rc["severity"]], "failed")
                                          for rc in d0["risk_configs"]]
    check("%s: ListImageRiskConfigs, ListImageRiskConfigRules" % mode, risk_configs)

    def build_risks():
        r = c.list_image_build_command_risks(ListImageBuildCommandRisksRequest(
            image_type="registry", limit=10))
        reg = [i for i, d in by_id.items() if d["image"]["image_type"] != "cicd"]
        for x in r.data_list:
            with_rule = [i for i in reg if any(b["rule_id"] == x.rule_id
                                               for b in by_id[i]["build_command_risks"])]
            assert x.image_num == len(with_rule), (x.rule_id, x.image_num, with_rule)
            assert (x.risk_id, x.risk_level, x.image_type) == (x.rule_id, "high", "registry")
            imgs = c.list_image_build_command_risks_images(ListImageBuildCommandRisksImagesRequest(
                image_type="registry", rule_id=x.rule_id, limit=200))
            assert imgs.total_num == x.image_num
            for y in imgs.data_list:
                d = next(d for d in docs if d["image"]["image_id"] == y.image_id)
                want = [(b["build_instruction"], b["remediation"]) for b in d["build_command_risks"]
                        if b["rule_id"] == x.rule_id]
                got = [(z.build_instruction, z.remediation) for z in y.risk_detail_info.risk_list]
                assert got == want and y.risk_detail_info.risk_num == len(want)
                assert (y.image_name, y.image_size) == (d["image"]["image_name"],
                                                        d["image"]["image_size"])
        assert r.total_num == 2
    check("%s: ListImageBuildCommandRisks, ListImageBuildCommandRisksImages" % mode, build_risks)

    def vul_centric():
        r = c.list_general_image_vuls(ListGeneralImageVulsRequest(
            type="linux_vul", handle_status="unhandled", image_type="registry", limit=10))
        reg = [d for d in docs if d["image"]["image_type"] != "cicd"]
        vids = sorted({v["vul_id"] for d in reg for v in d["vulnerabilities"]})
        assert r.total_num == len(vids) and [x.vul_id for x in r.data_list] == vids
        for x in r.data_list:
            affected = [d for d in reg if any(v["vul_id"] == x.vul_id for v in d["vulnerabilities"])]
            assert x.image_num == len(affected)
            assert x.cve_list[0].cve_id == x.vul_id
            imgs = c.list_vul_affect_images(ListVulAffectImagesRequest(
                is_handled=False, vul_id=x.vul_id, type="linux_vul", image_type="registry",
                limit=200))
            assert imgs.total_num == x.image_num
            assert sorted(y.image_name for y in imgs.data_list) == sorted(
                d["image"]["image_name"] for d in affected)
            assert all(isinstance(y.image_size, str) for y in imgs.data_list)
        g = c.list_global_vulnerabilities(ListGlobalVulnerabilitiesRequest(offset=0, limit=10))
        for x in g.data_list:
            assert x.undeal_number == stat(c, s.region, "vulnerability", operate_all=True,
                                           vul_id_list=[x.vul_id])
            cves = c.list_vulnerability_cve(ListVulnerabilityCveRequest(vul_id=x.vul_id, limit=10))
            assert cves.total_num == 1 and cves.data_list[0].cve_id == x.vul_id
            scores = [v["cvss_score"] for d in docs for v in d["vulnerabilities"]
                      if v["vul_id"] == x.vul_id]
            assert abs(cves.data_list[0].cvss_score - max(scores)) < 1e-6
    check("%s: ListGeneralImageVuls, ListVulAffectImages, ListGlobalVulnerabilities, "
          "ListVulnerabilityCve" % mode, vul_centric)

    def global_lists():
        r = c.list_global_image_apps(ListGlobalImageAppsRequest(limit=200))
        assert r.total_num == sum(len(d["apps"]) for d in docs) == stat(c, s.region, "apps",
                                                                         operate_all=True)
        pkg0 = [x for x in r.data_list if x.app_name == "pkg0"]
        assert pkg0 and all(x.is_compliant is False for x in pkg0)
        assert all(x.is_compliant is True for x in r.data_list if x.app_name != "pkg0")
        r = c.list_global_image_apps(ListGlobalImageAppsRequest(is_compliant=False, limit=200))
        assert r.total_num == len(docs)
        r = c.list_global_malware(ListGlobalMalwareRequest(region=s.region, image_type="cicd",
                                                           limit=50))
        want = [(d["image"]["image_name"], m["file_path"], m["size"]) for d in docs
                if d["image"]["image_type"] == "cicd" for m in d["malwares"]]
        assert [(x.image_name, x.file_path, x.size) for x in r.data_list] == want
        r = c.list_global_image_files(ListGlobalImageFilesRequest(limit=200))
        assert r.total_num == sum(len(d["files"]) for d in docs)
        r = c.list_image_sensitive_info(ListImageSensitiveInfoRequest(limit=200))
        assert r.total_num == sum(len(d["sensitive_info"]) for d in docs
                                  if d["image"]["image_type"] != "cicd")
    check("%s: ListGlobalImageApps, ListGlobalMalware, ListGlobalImageFiles, "
          "ListImageSensitiveInfo" % mode, global_lists)

    def errors():
        try:
            c.list_image_apps(ListImageAppsRequest(image_type="harbor", image_id="999999"))
        except ClientRequestException as e:
            assert e.status_code == 404 and e.error_code == "HSS.0011", e
        else:
            raise AssertionError("an unknown image was listed")
        try:
            c.list_image_apps(ListImageAppsRequest(image_type="harbor", image_id=str(i0), limit=5))
        except ClientRequestException as e:
            assert e.status_code == 400 and e.error_code == "HSS.0001" and "limit" in e.error_msg
        else:
            raise AssertionError("limit 5 accepted")
    check("%s: errors (404 HSS.0011, 400 HSS.0001)" % mode, errors)


def main():
    s = Server()
    s.user("alice", role="admin")
    ak, sk = s.key("alice")
    with s:
        tok = s.token("alice")
        docs = [doc(i) for i in range(8)]
        ids = s.ingest(tok, docs)
        for mode, c in (("aksk", s.client(ak=ak, sk=sk)), ("token", s.client(token=tok))):
            run(mode, c, s, ids, docs)
    return report()


if __name__ == "__main__":
    sys.exit(main())
