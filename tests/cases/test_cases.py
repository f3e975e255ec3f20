"""Cases: automatic opening and de-duplication, manual reports, and each type's handling path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.store import open_store
from xl_addin.domain.tracking.anomalies import AnomalyHit
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.services.cases import case_handling as sc

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "state.sqlite3")
    ts = TrackingStore(s)
    with s.transaction():
        ts.register([{"waybill_no": "SF1", "order_no": "O1", "carrier_code": "shunfeng"},
                     {"waybill_no": "ZT2", "order_no": "O2", "carrier_code": "zhongtong"}], NOW)
        s.conn.execute("UPDATE waybill_status SET status = 'Exception', sub_status = 'Exception_Lost' "
                       "WHERE waybill_no = 'ZT2'")
        OrderRecords(s).save([OrderRecord("O1", "in_transit", "ok", fields={"address": "旧地址"})], NOW)
    yield s
    s.close()


def hit(waybill, rule, since):
    return AnomalyHit(waybill, rule, since, "规则命中", None, None, None)


def test_anomalies_open_cases_once_and_repeats_join_history(store):
    ts = TrackingStore(store)
    with store.transaction():
        ts.sync_anomalies("SF1", [hit("SF1", "stalled_in_transit", NOW - timedelta(hours=1))], NOW)
        ts.sync_anomalies("ZT2", [hit("ZT2", "carrier_problem", NOW - timedelta(hours=2))], NOW)
    opened = sc.open_cases_from_anomalies(store, NOW)
    assert {(c["waybill_no"], c["type"], c["severity"], c["source"]) for c in opened} == {
        ("SF1", "延误", "中", "anomaly"), ("ZT2", "丢件", "高", "carrier_problem")}
    assert all(c["found_by"] == "系统" and c["order_no"] for c in opened)
    assert sc.open_cases_from_anomalies(store, NOW + timedelta(hours=2)) == []        # same anomalies: nothing new
    # the anomaly resolves and comes back (a new record): the open case gets a history line, no duplicate
    later = NOW + timedelta(hours=3)
    with store.transaction():
        ts.sync_anomalies("SF1", [], later)
        ts.sync_anomalies("SF1", [hit("SF1", "not_delivered_by_expected_date", later)], later)
    assert sc.open_cases_from_anomalies(store, later) == []
    cs = CaseStore(store)
    assert len(cs.open_cases()) == 2
    sf_case = cs.open_case_for("SF1", "延误")
    assert [h["field"] for h in cs.history(sf_case["case_id"])] == ["创建", "重复异常"]
    assert len(store.audit_entries("case")) == 2
    assert {c["status"] for c in cs.open_cases()} == {"待提交"}


def test_manual_report_and_duplicate(store):
    c = sc.report_exception(store, NOW, type="damaged", description="外箱破损", by="张三", waybill_no="SF1",
                            evidence="https://img.example/1.jpg", source="complaint", handler="李四")
    assert c["type"] == "破损" and c["severity"] == "高" and c["order_no"] == "O1" and c["carrier_code"] == "shunfeng"
    assert c["case_status"] == "处理中" and c["submitted_at"] == NOW and not c["duplicate"]
    again = sc.report_exception(store, NOW, type="破损", description="客户再次来电", by="王五", order_no="O1")
    assert again["duplicate"] and again["case_id"] == c["case_id"]
    assert CaseStore(store).cases_for_order("O1")[0]["case_id"] == c["case_id"]
    with pytest.raises(sc.CaseInputError, match="异常类型"):
        sc.report_exception(store, NOW, type="迷路", description="x", by="张三", waybill_no="SF1")


def test_delay_path_and_closing_rules(store):
    c = sc.report_exception(store, NOW, type="延误", description="三天未动", by="张三", waybill_no="SF1")
    cid = c["case_id"]
    c = sc.update_case(store, NOW, cid, {"submitted_at": "2026-11-26 09:10", "handler": "李四"}, by="张三")
    assert c["case_status"] == "处理中"
    with pytest.raises(sc.CaseInputError, match="处理结果、责任方、客户告知时间、订单接收员告知时间"):
        sc.close_case(store, NOW, cid, by="李四")
    view = sc.case_view(c, NOW + timedelta(hours=1))
    assert [s["step"] for s in view["steps"] if not s["done"]] == ["cause", "new_expected", "customer_informed",
                                                                  "result", "inform"]
    c = sc.update_case(store, NOW, cid, {"cause": "暴雨", "new_expected": "2026-11-27 18:00",
                                         "customer_informed_at": "now"}, by="李四")
    assert sc.case_view(c, NOW)["clocks"][1]["state"] == "met"
    with pytest.raises(sc.CaseInputError, match="责任方"):
        sc.update_case(store, NOW, cid, {"responsible_party": "老天"}, by="李四")
    c = sc.close_case(store, NOW + timedelta(hours=5), cid, by="李四", result="已送达", responsible_party="天气或不可抗力",
                      receiver_informed_at="now")
    assert c["case_status"] == "已结案" and c["closed_at"] == NOW + timedelta(hours=5)
    assert CaseStore(store).open_cases() == []
    fields = [h["field"] for h in CaseStore(store).history(cid)]
    assert fields[0] == "创建" and "原因" in fields and "结案时间" in fields
    # a closed case frees the (waybill, type) slot: a new delay opens a new case
    assert not sc.report_exception(store, NOW + timedelta(days=1), type="延误", description="又延误", by="张三",
                                   waybill_no="SF1")["duplicate"]


def test_lost_path_claim_and_money(store):
    c = sc.report_exception(store, NOW, type="丢件", description="显示丢失", by="系统", waybill_no="ZT2")
    c = sc.update_case(store, NOW, c["case_id"], {"claim_started_at": "2026-11-27 08:59", "claim_amount": "¥1,200.5",
                                                  "claim_status": "已发起", "reship_refund": "补发"}, by="李四")
    assert c["claim_amount"] == "1200.50"
    claim = sc.case_view(c, NOW + timedelta(days=2))["clocks"][1]
    assert claim["clock"] == "claim" and claim["state"] == "met"
    with pytest.raises(sc.CaseInputError, match="金额"):
        sc.update_case(store, NOW, c["case_id"], {"claim_amount": "一千"}, by="李四")


def test_wrong_information_paths_feed_back_address(store):
    c = sc.report_exception(store, NOW, type="信息错误", description="地址写错", by="张三", waybill_no="SF1")
    cid = c["case_id"]
    with pytest.raises(sc.CaseInputError, match="客户地址错误"):
        sc.update_case(store, NOW, cid, {"corrected_address": "新地址"}, by="李四")
    with pytest.raises(sc.CaseInputError, match="确认"):
        sc.update_case(store, NOW, cid, {"error_source": "客户地址错误", "corrected_address": "新地址"}, by="李四")
    sc.update_case(store, NOW, cid, {"error_source": "客户地址错误", "binding_checked_at": "now",
                                     "address_confirmed_at": "now", "corrected_address": "杭州市文三路1号"}, by="李四")
    assert OrderRecords(store).get("O1").fields["address"] == "杭州市文三路1号"
    order_audit = store.audit_entries("order", "O1")
    assert order_audit[-1]["action"] == "address_corrected" and order_audit[-1]["detail"]["old"] == "旧地址"
    assert store.audit_entries("binding", "SF1")[-1]["detail"]["case_id"] == cid
    # carrier entry error: the path asks for a correction and re-delivery instead
    c2 = sc.report_exception(store, NOW, type="信息错误", description="录错单号", by="张三", waybill_no="ZT2")
    c2 = sc.update_case(store, NOW, c2["case_id"], {"error_source": "物流商录入错误", "binding_checked_at": "now"}, by="李四")
    steps = {s["step"]: s["done"] for s in sc.case_view(c2, NOW)["steps"]}
    assert steps["binding_checked"] and steps["correction"] is False and "address_confirmed" not in steps


def test_cli_report_list_show_update(tmp_path, capsys):
    from xl_addin.entrypoints import case_commands  # noqa: F401  (registers the commands)
    from xl_addin.entrypoints.cli import main
    from xl_addin.services.desk.setup import init_desk

    init_desk(tmp_path, NOW)
    now = ["--now", "2026-11-26T09:00+08:00", "--desk", str(tmp_path)]
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    assert main(["report-exception", "--waybill", "SF9", "--type", "lost", "--description", "丢了", "--by", "张三",
                 "--evidence", str(photo), "--off-system", "客户自行寄出的退货件", "--json", *now]) == 0
    case = json.loads(capsys.readouterr().out)
    assert case["type"] == "丢件" and case["sla_status"] == "正常"
    assert main(["cases", "--open", "--json", "--now", "2026-11-26T09:25+08:00", "--desk", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["sla_status"] for r in rows] == ["临近"]
    assert main(["case-update", case["case_id"], "--by", "李四", "--submitted-at", "2026-11-26 09:20",
                 "--handler", "李四", *now]) == 0
    capsys.readouterr()
    assert main(["case", case["case_id"], *now]) == 0
    out = capsys.readouterr().out
    assert "提交处理时间" in out and "[x] 提交异常处理专员" in out
    assert main(["case-update", case["case_id"], "--by", "李四", "--close", *now]) == 2
    assert "还不能结案" in capsys.readouterr().err
