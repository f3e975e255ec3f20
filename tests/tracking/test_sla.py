"""Each SLA clock at its boundary: on time at the due second, breached one second later."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from xl_addin.domain.sla import (AT_RISK, BREACHED, LATE, MET, OK, WAIVED, SlaConfig, applicable_clocks,
                                 evaluate_case, evaluate_clock, sla_status)

TZ = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
S = timedelta(seconds=1)


def case(kind="延误", **kw):
    return {"type": kind, "found_at": FOUND, **kw}


@pytest.mark.parametrize("clock,kind,limit,done", [
    ("report", "其他", timedelta(minutes=30), {"submitted_at": None}),
    ("claim", "丢件", timedelta(hours=24), {"claim_started_at": None}),
    ("claim", "破损", timedelta(hours=24), {"claim_started_at": None}),
    ("delay_update", "延误", timedelta(hours=24), {"cause": "暴雨", "new_expected": FOUND, "customer_informed_at": None}),
    ("wrong_info", "信息错误", timedelta(hours=24), {"error_source": "物流商录入错误", "binding_checked_at": FOUND,
                                                  "correction_requested_at": None}),
    ("close", "延误", timedelta(hours=72), {"result": "已送达", "customer_informed_at": FOUND, "receiver_informed_at": None}),
])
def test_clock_boundaries(clock, kind, limit, done):
    due = FOUND + limit
    key = [k for k, v in done.items() if v is None][0]
    open_case = case(kind, **done)
    assert evaluate_clock(clock, open_case, due).state == AT_RISK
    assert evaluate_clock(clock, open_case, due).seconds_left == 0
    late = evaluate_clock(clock, open_case, due + S)
    assert late.state == BREACHED and late.overdue_seconds == 1 and late.breached
    warn = timedelta(minutes=SlaConfig().warn[clock])
    assert evaluate_clock(clock, open_case, due - warn - S).state == OK
    assert evaluate_clock(clock, open_case, due - warn).state == AT_RISK
    on_time = evaluate_clock(clock, {**open_case, key: due}, due + timedelta(days=9))
    assert on_time.state == MET and not on_time.breached
    done_late = evaluate_clock(clock, {**open_case, key: due + S}, due + timedelta(days=9))
    assert done_late.state == LATE and done_late.overdue_seconds == 1
    # a step recorded after "now" does not count yet (past-week evaluation)
    assert evaluate_clock(clock, {**open_case, key: due}, due - timedelta(minutes=1)).state != MET


def test_delay_clock_needs_cause_and_new_time_too():
    c = case("延误", customer_informed_at=FOUND + timedelta(hours=1))
    assert evaluate_clock("delay_update", c, FOUND + timedelta(hours=25)).state == BREACHED
    c.update(cause="交通", new_expected=FOUND + timedelta(days=1))
    assert evaluate_clock("delay_update", c, FOUND + timedelta(hours=25)).state == MET


def test_customer_address_path_needs_confirmed_and_corrected_address():
    c = case("信息错误", error_source="客户地址错误", binding_checked_at=FOUND, address_confirmed_at=FOUND)
    assert evaluate_clock("wrong_info", c, FOUND + timedelta(hours=25)).state == BREACHED
    c["corrected_address"] = "新地址"
    assert evaluate_clock("wrong_info", c, FOUND + timedelta(hours=25)).state == MET


def test_clocks_per_type_and_configurable_limits():
    assert applicable_clocks("丢件") == ("report", "claim", "close")
    assert applicable_clocks("延误") == ("report", "delay_update", "close")
    assert applicable_clocks("信息错误") == ("report", "wrong_info", "close")
    assert applicable_clocks("其他") == ("report", "close")
    cfg = SlaConfig(limits={**SlaConfig().limits, "report": 60}, warn={**SlaConfig().warn, "report": 5})
    assert evaluate_clock("report", case(), FOUND + timedelta(minutes=45), cfg).state == OK
    assert evaluate_clock("report", case(), FOUND + timedelta(minutes=61), cfg).state == BREACHED


def test_closed_early_waives_and_status_summary():
    c = case("丢件", submitted_at=FOUND, closed_at=FOUND + timedelta(hours=2))
    assert evaluate_clock("claim", c, FOUND + timedelta(days=3)).state == WAIVED
    status, detail = sla_status(evaluate_case(case("丢件"), FOUND + timedelta(minutes=25)))
    assert status == "临近" and "提交处理剩余5分" in detail
    status, detail = sla_status(evaluate_case(case("丢件"), FOUND + timedelta(minutes=95)))
    assert status == "超时" and detail.startswith("提交处理超时1小时5分")
    status, _ = sla_status(evaluate_case(case("丢件", submitted_at=FOUND), FOUND + timedelta(minutes=95)))
    assert status == "正常"
