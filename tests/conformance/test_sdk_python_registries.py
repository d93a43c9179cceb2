"""test_sdk_python_registries.py - a project's registries through the official
Python SDK (huaweicloudsdkhss 3.1.211, unchanged, from ../shared/sdk), with an
AK/SK client and with a token client: AddRegistry, ListRegistry (fields,
filters, paging), UpdateRegistry, DeleteRegistry, BatchDeleteRegistry and
ListRegistryStatistics, and their errors as the SDK raises them. The password
is never in a model the SDK returns, nor in the database files.

    IMGSECD=build/imgsecd IMGSEC_CLI=build/imgsec python3 tests/conformance/test_sdk_python_registries.py
"""
import os
import sys

from harness import Server, check, raises, report

from huaweicloudsdkhss.v5.model import (
    AddRegistryRequest, AddRegistryRequestBody, BatchDeleteRegistryRequest,
    BatchDeleteRegistryRequestBody, DeleteRegistryRequest, ListRegistryRequest,
    ListRegistryStatisticsRequest, UpdateRegistryRequest, UpdateRegistryRequestBody)

PW = "SdkRegistryPassw0rd-%s"


def run(mode, c, s):
    pw = PW % mode

    def add(name, **kw):
        body = dict(registry_name=name, registry_type="Harbor", protocol="https",
                    registry_addr="harbor.%s.example:443" % mode)
        body.update(kw)
        return c.add_registry(AddRegistryRequest(body=AddRegistryRequestBody(**body)))

    def items(**q):
        return c.list_registry(ListRegistryRequest(**q))

    def by_name(name):
        r = items(registry_name=name)
        assert r.total_num == 1, r.total_num
        return r.data_list[0]

    def t_add_list():
        r = add("h-" + mode, registry_username="robot", registry_password=pw,
                namespace="library", get_scan_image_channel="Other", connect_cluster_id="c1")
        assert r.to_dict() == {}, r.to_dict()
        add("j-" + mode, registry_type="Jfrog", api_version="V1", protocol="http")
        r = items()
        assert r.total_num == 2 and len(r.data_list) == 2, r
        a = r.data_list[0].to_dict()
        assert int(a.pop("id")) > 0
        assert a == {"registry_name": "h-" + mode, "registry_type": "Harbor",
                     "api_version": "V2", "protocol": "https",
                     "registry_addr": "harbor.%s.example:443" % mode,
                     "registry_username": "robot", "namespace": "library",
                     "connect_cluster_id": "c1", "get_scan_image_channel": "Other",
                     "status": "accessing", "fail_reason": "", "images_num": 0,
                     "latest_sync_time": 0}, a
        assert pw not in str(r.to_dict())
        assert items(registry_type="Jfrog").total_num == 1
        assert items(registry_type="Harbor,Jfrog").total_num == 2
        assert items(registry_addr="harbor.%s" % mode).total_num == 2
        assert items(status="accessing").total_num == 2
        assert items(status="success").total_num == 0
        assert items(registry_id=r.data_list[1].id).data_list[0].registry_name == "j-" + mode
        p = items(offset=1, limit=10)
        assert p.total_num == 2 and len(p.data_list) == 1
        st = c.list_registry_statistics(ListRegistryStatisticsRequest(registry_type="Harbor"))
        assert (st.success_num, st.fail_num) == (0, 0)

    def t_errors():
        raises(lambda: add("h-" + mode), 409, "HSS.0001", "registry_name")
        raises(lambda: add("x", registry_type="Docker"), 400, "HSS.0001", "registry_type")
        raises(lambda: add("x", registry_addr="https://h/v2"), 400, "HSS.0001", "registry_addr")
        raises(lambda: add("x", registry_password=pw), 400, "HSS.0001", "registry_username")
        raises(lambda: items(limit=9), 400, "HSS.0001", "limit")
        raises(lambda: items(status="ok"), 400, "HSS.0001", "status")
        raises(lambda: c.update_registry(UpdateRegistryRequest(
            id="999999", body=UpdateRegistryRequestBody(protocol="http"))), 404, "HSS.0011", "id")
        raises(lambda: c.delete_registry(DeleteRegistryRequest(id="999999")),
               404, "HSS.0011", "id")
        assert items().total_num == 2

    def t_update():
        h = by_name("h-" + mode)
        r = c.update_registry(UpdateRegistryRequest(id=h.id, body=UpdateRegistryRequestBody(
            registry_addr="new.%s.example" % mode, registry_username="robot2",
            registry_password=pw + "2", api_version="V1")))
        assert r.to_dict() == {}, r.to_dict()
        h = by_name("h-" + mode)
        assert (h.registry_addr, h.registry_username, h.api_version, h.protocol) == (
            "new.%s.example" % mode, "robot2", "V1", "https"), h

    def t_delete():
        h, j = by_name("h-" + mode), by_name("j-" + mode)
        raises(lambda: c.batch_delete_registry(BatchDeleteRegistryRequest(
            body=BatchDeleteRegistryRequestBody(ids=[h.id, "999999"]))), 404, "HSS.0011", "ids")
        assert items().total_num == 2
        r = c.delete_registry(DeleteRegistryRequest(id=j.id))
        assert r.to_dict() == {}, r.to_dict()
        add("k-" + mode)
        k = by_name("k-" + mode)
        r = c.batch_delete_registry(BatchDeleteRegistryRequest(
            body=BatchDeleteRegistryRequestBody(ids=[h.id, k.id])))
        assert r.to_dict() == {}, r.to_dict()
        assert items().total_num == 0

    def t_sealed():
        for path in (s.db, s.db + "-wal"):
            if os.path.exists(path):
                data = open(path, "rb").read()
                assert pw.encode() not in data and (pw + "2").encode() not in data, path

    for name, fn in (("add+list", t_add_list), ("errors", t_errors), ("update", t_update),
                     ("sealed", t_sealed), ("delete", t_delete)):
        check("%s %s" % (mode, name), fn)


def main():
    s = Server()
    s.user("alice", role="admin")
    ak, sk = s.key("alice")
    with s:
        tok = s.token("alice")
        for mode, c in (("aksk", s.client(ak=ak, sk=sk)), ("token", s.client(token=tok))):
            run(mode, c, s)
    return report()


if __name__ == "__main__":
    sys.exit(main())
