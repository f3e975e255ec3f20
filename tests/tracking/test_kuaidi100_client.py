"""Kuaidi100 client: pure builders/parsers on the protocol's example bodies, and contract tests
against the sandbox over real HTTP on 127.0.0.1."""

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from xl_addin.adapters.providers import kuaidi100 as k
from xl_addin.domain.tracking.status import MainStatus, SubStatus
from xl_addin.sandbox import serve_sandbox

# --- the two example bodies of the protocol file (§7), verbatim structure
QUERY_EXAMPLE = {
    "message": "ok", "nu": "YT6247854916511", "ischeck": "1", "com": "yuantong",
    "status": "200", "state": "304", "condition": "F00", "isLoop": False,
    "routeInfo": {"from": {"number": "CN441300000000", "name": "广东,惠州市"},
                  "cur": {"number": "CN510116000000", "name": "四川,成都市,双流区"},
                  "to": {"number": "CN510116000000", "name": "四川,成都市,双流区"}},
    "data": [
        {"time": "2022-01-13 18:52:32", "ftime": "2022-01-13 18:52:32",
         "context": "快件已签收，签收人凭取货码签收", "location": "",
         "areaCode": None, "areaName": None, "status": "投柜或站签收",
         "statusCode": "304", "areaCenter": None, "areaPinYin": None},
        {"time": "2022-01-10 14:25:24", "ftime": "2022-01-10 14:25:24",
         "context": "【广东省惠州市公司】 已揽收", "location": "",
         "areaCode": "CN441300000000", "areaName": "广东,惠州市", "status": "揽收",
         "statusCode": "1", "areaCenter": "114.416196,23.111847",
         "areaPinYin": "hui zhou shi"}]}
PUSH_PARAM = {
    "status": "polling", "billstatus": "got", "message": "",
    "lastResult": {"message": "ok", "nu": "YT6186594166532", "ischeck": "0",
                   "com": "yuantong", "status": "200", "state": "0", "condition": "F00",
                   "data": [{"time": "2021-12-15 20:15:14", "ftime": "2021-12-15 20:15:14",
                             "context": "【苏州转运中心】 已发出 下一站 【无锡转运中心公司】",
                             "areaCode": "CN320500000000", "areaName": "江苏,苏州市", "status": "干线",
                             "location": "", "statusCode": "1002"}]}}

CHINA = timezone(timedelta(hours=8))
START = datetime(2024, 11, 5, 12, 0, tzinfo=CHINA)


# ---------------------------------------------------------------- pure


def test_sign_is_uppercase_md5_of_param_key_customer():
    expected = hashlib.md5("{\"com\":\"yuantong\"}keyCUST".encode()).hexdigest().upper()
    assert k.sign_query('{"com":"yuantong"}', "key", "CUST") == expected
    form = k.build_query("YuanTong", " YT1 ", phone="1234", customer="CUST", key="key")
    param = json.loads(form["param"])
    assert param["com"] == "yuantong" and param["num"] == "YT1" and param["phone"] == "1234"
    assert param["resultv2"] == "4" and " " not in form["param"]
    assert form["sign"] == k.sign_query(form["param"], "key", "CUST") and form["customer"] == "CUST"


def test_parse_query_example_body():
    out = k.parse_query_response(json.dumps(QUERY_EXAMPLE), "YT6247854916511", "yuantong")
    assert out.kind == "ok" and out.ischeck and out.state == "304" and out.unknown_codes == []
    assert [e.raw_code for e in out.events] == ["304", "1"]
    signed, picked = out.events
    assert signed.status is MainStatus.DELIVERED and signed.raw_status_name == "投柜或站签收"
    assert picked.sub_status is SubStatus.IN_TRANSIT_PICKED_UP and picked.outlet == "广东省惠州市公司"
    assert picked.area_name == "广东,惠州市" and picked.time.utcoffset() == timedelta(hours=8)
    assert out.latest is signed and out.route["to"]["name"] == "四川,成都市,双流区"


@pytest.mark.parametrize("code,kind", [("500", "not_found"), ("400", "waybill_problem"), ("408", "waybill_problem"),
                                       ("501", "retryable"), ("502", "retryable"), ("599", "retryable"),
                                       ("503", "config_error"), ("601", "config_error"), ("600", "config_error")])
def test_failure_bodies_are_told_apart_before_data(code, kind):
    body = {"result": False, "returnCode": code, "message": "x", "data": [{"time": "bogus"}]}
    out = k.parse_query_response(body, "N1", "yuantong")
    assert out.kind == kind and out.return_code == code and out.events == []
    if code in ("400", "408", "503", "601"):
        assert out.hint and any("\u4e00" <= ch <= "\u9fff" for ch in out.hint)


@pytest.mark.parametrize("body,status", [("{not json", 200), ("[]", 200), (json.dumps(QUERY_EXAMPLE), 502),
                                         (json.dumps({"message": "ok", "status": "200"}), 200)])
def test_malformed_and_http_errors_are_retryable(body, status):
    assert k.parse_query_response(body, "N1", "yuantong", http_status=status).kind == "retryable"


def test_unknown_state_is_reported_not_guessed():
    doc = json.loads(json.dumps(QUERY_EXAMPLE))
    doc["state"] = "999"
    doc["data"][0]["statusCode"] = "999"
    out = k.parse_query_response(doc, "N1", "yuantong")
    assert out.kind == "ok" and out.unknown_codes == ["999"]
    assert out.events[0].status is MainStatus.UNKNOWN and out.events[0].raw_code == "999"


def test_parse_push_example_with_signature():
    param = json.dumps(PUSH_PARAM, ensure_ascii=False)
    sign = hashlib.md5((param + "salty").encode()).hexdigest().upper()
    assert k.verify_push_sign(param, "salty", sign) and not k.verify_push_sign(param, "other", sign)
    out = k.parse_push({"param": param, "sign": sign}, salt="salty")
    assert out.valid and out.status == "polling" and out.waybill_no == "YT6186594166532" and not out.ischeck
    assert len(out.events) == 1 and out.events[0].sub_status is SubStatus.IN_TRANSIT_DEPARTURE
    assert out.events[0].source == "push" and out.events[0].outlet == "苏州转运中心"
    assert not k.parse_push({"param": param, "sign": "0" * 32}, salt="salty").valid
    assert not k.parse_push({"param": "{broken", "sign": k.sign_push("{broken", "s")}, salt="s").valid


def test_parse_push_carrier_correction():
    doc = dict(PUSH_PARAM, autoCheck="1", comOld="yunda", comNew="yuantong")
    out = k.parse_push({"param": json.dumps(doc)})
    assert out.auto_check and out.com_old == "yunda" and out.carrier_code == "yuantong"


@pytest.mark.parametrize("code,kind,ok", [("200", "accepted", True), ("501", "duplicate", True),
                                          ("700", "waybill_problem", False), ("701", "waybill_problem", False),
                                          ("702", "waybill_problem", False), ("600", "config_error", False),
                                          ("601", "config_error", False), ("500", "retryable", False)])
def test_parse_subscribe(code, kind, ok):
    out = k.parse_subscribe_response({"result": code == "200", "returnCode": code, "message": "m"})
    assert out.kind == kind and out.ok is ok


def test_build_subscribe_and_autonumber_parsing():
    form = k.build_subscribe("yuantong", "YT1", "KEY", "http://h/cb?orderId=1", salt="", phone="5678")
    param = json.loads(form["param"])
    assert form["schema"] == "json" and param["key"] == "KEY" and param["parameters"]["salt"] == ""
    assert param["parameters"]["callbackurl"] == "http://h/cb?orderId=1"
    ok = k.parse_autonumber_response('[{"lengthPre": 15, "comCode": "yuantong", "name": "圆通速递"}]')
    assert ok.kind == "ok" and ok.candidates[0] == k.CarrierGuess("yuantong", "圆通速递", 15)
    assert k.parse_autonumber_response({"returnCode": "701", "message": "key缺失", "result": False}).kind == "config_error"
    assert k.parse_autonumber_response({"returnCode": "201", "result": False}).kind == "not_a_waybill"


def test_default_urls_are_the_real_service():
    c = k.Kuaidi100Client(customer="c", key="k")
    assert c.base_url == "https://poll.kuaidi100.com" and c.autonumber_url == "https://www.kuaidi100.com"
    c2 = k.Kuaidi100Client("http://127.0.0.1:1/", "c", "k")
    assert c2.autonumber_url == "http://127.0.0.1:1"


# ---------------------------------------------------------------- contract (real HTTP)


@pytest.fixture(scope="module")
def sandbox():
    with serve_sandbox(speed=0, start=START, seed=7, credentials={"SANDBOX-CUSTOMER": "sandbox-key", "EXPIRED": "old-key"},
                       expired_customers=("EXPIRED",)) as sb:
        yield sb


@pytest.fixture
def client(sandbox):
    sandbox.app.set_faults({"reset": True})
    c = k.Kuaidi100Client(sandbox.base_url, "SANDBOX-CUSTOMER", "sandbox-key", timeout=(1, 1), retries=2,
                          backoff_factor=0.01)
    yield c
    c.close()


def pin(sandbox, num, com, **spec):
    r = requests.post(sandbox.base_url + "/_sandbox/waybills", json=dict(num=num, com=com, **spec), timeout=5)
    assert r.status_code == 200
    return r.json()


def test_ok_query(sandbox, client):
    j = pin(sandbox, "YT9000000001", "yuantong", scenario="normal", shipped_at="2024-10-28T09:00:00")
    out = client.query("yuantong", "YT9000000001")
    assert out.kind == "ok" and out.ischeck and out.return_code == "200"
    assert len(out.events) == len(j["nodes"])
    assert out.events[0].status is MainStatus.DELIVERED and out.events[-1].sub_status is SubStatus.IN_TRANSIT_PICKED_UP
    assert all(a.time >= b.time for a, b in zip(out.events, out.events[1:]))  # newest first
    assert out.events[-1].courier and out.events[-1].outlet


def test_no_record_is_not_found(sandbox, client):
    pin(sandbox, "YT9000000002", "yuantong", scenario="no_record")
    out = client.query("yuantong", "YT9000000002")
    assert out.kind == "not_found" and out.return_code == "500"


def test_unsupported_carrier_is_waybill_problem(client):
    out = client.query("nosuchcarrier", "YT9000000003")
    assert out.kind == "waybill_problem" and out.return_code == "400" and "承运商" in out.hint


def test_phone_mismatch_408_and_last4_accepted(sandbox, client):
    pin(sandbox, "SF1234567890123", "shunfeng", scenario="normal", phone="13912345678",
        shipped_at="2024-11-01T10:00:00")
    assert client.query("shunfeng", "SF1234567890123").return_code == "408"  # no phone
    bad = client.query("shunfeng", "SF1234567890123", phone="0000")
    assert bad.kind == "waybill_problem" and bad.return_code == "408" and "手机号" in bad.hint
    assert client.query("shunfeng", "SF1234567890123", phone="5678").kind == "ok"
    assert client.query("shunfeng", "SF1234567890123", phone="13912345678").kind == "ok"


def test_bad_sign_503_and_expired_key_601(sandbox):
    wrong = k.Kuaidi100Client(sandbox.base_url, "SANDBOX-CUSTOMER", "wrong-key", timeout=(1, 1))
    out = wrong.query("yuantong", "YT9000000004")
    assert out.kind == "config_error" and out.return_code == "503"
    expired = k.Kuaidi100Client(sandbox.base_url, "EXPIRED", "old-key", timeout=(1, 1))
    out = expired.query("yuantong", "YT9000000004")
    assert out.kind == "config_error" and out.return_code == "601" and "充值" in out.hint
    assert expired.subscribe("yuantong", "YT9000000004", "http://127.0.0.1:9/cb").kind == "config_error"


def test_json_body_is_rejected_as_incomplete(sandbox):
    form = k.build_query("yuantong", "YT9000000005", customer="SANDBOX-CUSTOMER", key="sandbox-key")
    r = requests.post(sandbox.base_url + k.QUERY_PATH, json=form, timeout=5)
    assert r.status_code == 200 and r.json()["returnCode"] == "400"


def test_busy_502_is_retried_then_ok(sandbox, client):
    pin(sandbox, "YT9000000006", "yuantong", scenario="normal", shipped_at="2024-11-01T10:00:00")
    sandbox.app.set_faults({"burst": 2})
    out = client.query("yuantong", "YT9000000006")
    assert out.kind == "ok" and client.http_requests == 3


def test_http_502_is_retried_by_transport(sandbox, client):
    pin(sandbox, "YT9000000007", "yuantong", scenario="normal", shipped_at="2024-11-01T10:00:00")
    before = sandbox.app.stats["requests"]
    sandbox.app.set_faults({"http_burst": 1})
    out = client.query("yuantong", "YT9000000007")
    assert out.kind == "ok" and sandbox.app.stats["requests"] - before == 2


def test_busy_beyond_retries_is_retryable(sandbox, client):
    sandbox.app.set_faults({"burst": 10})
    out = client.query("yuantong", "YT9000000008")
    assert out.kind == "retryable" and out.return_code == "502"


def test_malformed_json_is_retryable(sandbox, client):
    sandbox.app.set_faults({"malformed_next": 1})
    out = client.query("yuantong", "YT9000000009")
    assert out.kind == "retryable" and "JSON" in out.message


def test_timeout_is_retryable_never_raised(sandbox):
    sandbox.app.set_faults({"reset": True, "slow_ms": 800, "slow_next": 2})
    c = k.Kuaidi100Client(sandbox.base_url, "SANDBOX-CUSTOMER", "sandbox-key", timeout=(0.5, 0.3), retries=1,
                          backoff_factor=0.01)
    out = c.query("yuantong", "YT9000000010")
    assert out.kind == "retryable" and "超时" in out.message
    sandbox.app.set_faults({"reset": True})


def test_subscribe_contract(sandbox, client):
    cb = "http://127.0.0.1:9/kuaidi100/callback?orderId=1"
    assert client.subscribe("yuantong", "YT9000000011", cb, salt="s").kind == "accepted"
    dup = client.subscribe("yuantong", "YT9000000011", cb, salt="s")
    assert dup.kind == "duplicate" and dup.ok
    bad = client.subscribe("yuantong", "YT9000000012", "not-a-url")
    assert bad.kind == "waybill_problem" and bad.return_code == "700" and bad.hint
    nokey = k.Kuaidi100Client(sandbox.base_url, "x", "nope").subscribe("yuantong", "YT9000000013", cb)
    assert nokey.kind == "config_error" and nokey.return_code == "600"


def test_autonumber_contract(sandbox, client):
    out = client.autonumber("YT6247854916511")
    assert out.kind == "ok" and out.candidates[0].com_code == "yuantong" and out.candidates[0].length_pre == 15
    assert client.autonumber("!!").kind == "not_a_waybill"
    missing = k.Kuaidi100Client(sandbox.base_url, "x", "").autonumber("YT6247854916511")
    assert missing.kind == "config_error" and missing.return_code == "701"
