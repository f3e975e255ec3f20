"""Two-way sync of the Exception Ledger workbook by case id, including a conflict."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.services.cases import case_handling as sc
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.cases.ledger_sync import sync_ledger

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)


@pytest.fixture
def desk(tmp_path):
    from xl_addin.adapters.store.tracking import TrackingStore

    init_desk(tmp_path, NOW)
    d = load_desk(tmp_path)
    s = store_for(d)
    with s.transaction():  # the shipments the cases name are the desk's own
        TrackingStore(s).register([{"waybill_no": w, "order_no": o, "carrier_code": c}
                                   for w, o, c in (("SF1", "O1", "shunfeng"), ("YT77", "O77", "yuantong"))], NOW)
    yield d, s
    s.close()


def sheet(path, name="异常台账"):
    ws = load_workbook(path)[name]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    return [r for r in rows if any(v is not None for v in r.values())]


def edit(path, row, **labels):
    wb = load_workbook(path)
    ws = wb["异常台账"]
    col = {c.value: c.column for c in ws[1]}
    for label, value in labels.items():
        ws.cell(row, col[label]).value = value
    wb.save(path)


def run(d, s, at):
    return sync_ledger(s, d.workbook("exceptions"), at, tz=TZ, backup_dir=d.backup_dir)


def test_two_way_sync_with_conflict(desk):
    d, s = desk
    path = d.workbook("exceptions")
    case = sc.report_exception(s, NOW, type="丢件", description="=HYPERLINK(\"x\")", by="张三", waybill_no="SF1")
    cid = case["case_id"]
    res = run(d, s, NOW + timedelta(minutes=25))
    assert res.written and res.appended == [cid]
    [row] = sheet(path)
    assert row["案件编号"] == cid and row["异常类型"] == "丢件" and row["发现时间"] == datetime(2026, 11, 26, 9, 0)
    assert row["异常描述"] == '=HYPERLINK("x")'                   # text from outside stays text
    assert row["SLA状态"] == "临近" and "提交处理剩余5分" in row["SLA说明"]
    assert "物流商回复时间" in row and "更正后地址" in row       # report fields the template lacks are added

    # staff edit the handler and the cause in the workbook; meanwhile the cause and contact change in the store
    edit(path, 2, 处理人="王五", 原因="台账写的原因", 提交处理时间=datetime(2026, 11, 26, 9, 20))
    sc.update_case(s, NOW, cid, {"cause": "系统里的原因", "carrier_contact": "小李 13800000000"}, by="李四")
    res = run(d, s, NOW + timedelta(minutes=40))
    assert {(a["field"], a["value"]) for a in res.applied} == {("handler", "王五"), ("submitted_at", "2026-11-26 09:20"),
                                                           ("case_status", "处理中")}  # the step moves the status
    assert [(c["field"], c["workbook"], c["store"]) for c in res.conflicts] == [("cause", "台账写的原因", "系统里的原因")]
    case = CaseStore(s).get(cid)
    assert case["handler"] == "王五" and case["cause"] == "系统里的原因" and case["case_status"] == "处理中"
    [row] = sheet(path)
    assert row["原因"] == "台账写的原因"                         # neither side silently overwritten
    assert row["物流商联系人"] == "小李 13800000000" and row["案件状态"] == "处理中"
    assert row["SLA状态"] == "正常" and row["SLA说明"].startswith("⚠ 冲突待处理: 原因")
    assert run(d, s, NOW + timedelta(minutes=41)).conflicts            # still shown until resolved

    edit(path, 2, 原因="系统里的原因")                              # staff accept the store's value
    res = run(d, s, NOW + timedelta(minutes=42))
    assert not res.conflicts and not res.applied
    assert "冲突" not in sheet(path)[0]["SLA说明"]

    history = sheet(path, "处理历史")
    assert [h["字段"] for h in history] == ["创建", "原因", "物流商联系人", "提交处理时间", "处理人"] or \
        sorted(h["字段"] for h in history) == sorted(["创建", "原因", "物流商联系人", "提交处理时间", "处理人", "案件状态"])
    assert {h["变更人"] for h in history} >= {"张三", "李四", "台账"}
    assert len(history) == len(CaseStore(s).history(cid))             # every change exactly once


def test_new_rows_bad_values_and_closing_rules(desk):
    d, s = desk
    path = d.workbook("exceptions")
    run(d, s, NOW)
    edit(path, 2, 物流单号="YT77", 异常类型="延误", 异常描述="客户来电催件", 发现人="赵六")
    res = run(d, s, NOW + timedelta(minutes=5))
    [cid] = res.created
    [row] = sheet(path)
    assert row["案件编号"] == cid and CaseStore(s).get(cid)["source"] == "ledger"
    edit(path, 2, 责任方="老天爷", 结案时间=datetime(2026, 11, 26, 10, 0), 理赔金额=88)
    res = run(d, s, NOW + timedelta(minutes=10))
    messages = " ".join(p["message"] for p in res.problems)
    assert "责任方" in messages and "不能结案" in messages
    case = CaseStore(s).get(cid)
    assert case["closed_at"] is None and case["responsible_party"] is None and case["claim_amount"] == "88.00"


def test_workbook_open_in_excel_is_left_alone(desk):
    d, s = desk
    path = d.workbook("exceptions")
    sc.report_exception(s, NOW, type="延误", description="x", by="张三", waybill_no="SF1")
    before = path.read_bytes()
    owner = path.with_name("~$" + path.name)
    owner.write_bytes(b"\x05someone")
    res = run(d, s, NOW)
    assert not res.written and "关闭" in res.message and path.read_bytes() == before
    owner.unlink()
    assert run(d, s, NOW).written and len(sheet(path)) == 1


def test_a_staff_row_repeating_an_open_case_joins_its_history_once(desk):
    d, s = desk
    path = d.workbook("exceptions")
    cid = sc.report_exception(s, NOW, type="丢件", description="客户投诉未收到", by="张三", waybill_no="SF1")["case_id"]
    run(d, s, NOW)
    edit(path, 3, 物流单号="SF1", 异常类型="丢件", 异常描述="客户又来电", 发现人="赵六")
    for minutes in (5, 10, 15):  # the row stays until staff delete it; every sync says so
        res = run(d, s, NOW + timedelta(minutes=minutes))
        assert res.created == [] and [(p["row"], p["case_id"]) for p in res.problems] == [(3, cid)]
        assert "已记入其历史" in res.problems[0]["message"]
    repeats = [h for h in CaseStore(s).history(cid) if h["field"] == "重复报告"]
    assert [h["new_value"] for h in repeats] == ["客户又来电"]
    assert [r["案件编号"] for r in sheet(path)] == [cid, None]
