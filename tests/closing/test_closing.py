"""Closing: automatic completion on signing, held by an open case, follow-up due/overdue at 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from xl_addin.domain.closing import (
    DONE, DUE, OVERDUE, cases_from_answers, decide_completion, followup_due, followup_state, month_bounds,
    month_is_over, parse_score, parse_yes_no, previous_month,
)
from support.closing_desk import make_desk, seed_order

TZ = ZoneInfo("Asia/Shanghai")


# ---------------------------------------------------------------- pure rules

def test_followup_due_and_overdue_at_the_24_hour_boundary():
    signed = datetime(2026, 10, 5, 14, 0, tzinfo=TZ)
    due = followup_due(signed)
    assert due == datetime(2026, 10, 6, 14, 0, tzinfo=TZ)
    assert followup_state(due, None, due - timedelta(seconds=1)) == DUE
    assert followup_state(due, None, due) == DUE                      # at the deadline: still due
    assert followup_state(due, None, due + timedelta(seconds=1)) == OVERDUE
    assert followup_state(due, due + timedelta(hours=5), due + timedelta(days=3)) == DONE


def test_answers_and_cases():
    assert parse_yes_no("否") is False and parse_yes_no("yes") is True and parse_yes_no("") is None
    with pytest.raises(ValueError):
        parse_yes_no("maybe")
    assert parse_score("5") == 5 and parse_score(None) is None
    for bad in ("0", "6", "4.5", "x"):
        with pytest.raises(ValueError):
            parse_score(bad)
    reqs = cases_from_answers("O1", False, False, "外箱压扁")
    assert [r.type for r in reqs] == ["破损", "延误"] and "外箱压扁" in reqs[0].description
    assert cases_from_answers("O1", True, True) == []
    assert decide_completion(True, []) == "complete" and decide_completion(True, ["EX1"]) == "hold"
    assert decide_completion(False, []) == "not_signed"


def test_months():
    start, end = month_bounds("2026-12", TZ)
    assert (start.month, end.year, end.month) == (12, 2027, 1)
    assert not month_is_over("2026-10", datetime(2026, 10, 31, 23, 59, tzinfo=TZ), TZ)
    assert month_is_over("2026-10", datetime(2026, 11, 1, 0, 0, tzinfo=TZ), TZ)
    assert previous_month(datetime(2027, 1, 1).date()) == "2026-12"


# ---------------------------------------------------------------- the service on a real store

def test_signed_orders_complete_with_signing_time_and_follow_up(tmp_path):
    from xl_addin.adapters.store.followups import ClosingStore
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import complete_signed_orders, followup_list

    now = datetime(2026, 10, 6, 9, 0, tzinfo=TZ)
    desk = make_desk(tmp_path / "desk", now)
    signed = datetime(2026, 10, 5, 16, 30, tzinfo=TZ)
    with store_for(desk) as store:
        seed_order(desk, store, "O1", "SF1001", bound_at=now - timedelta(days=3), signed_at=signed, now=now,
                   in_workbooks=False)
        seed_order(desk, store, "O2", "SF1002", bound_at=now - timedelta(days=1), signed_at=None, now=now,
                   in_workbooks=False)
        res = complete_signed_orders(store, now)
        assert [c["order_no"] for c in res.completed] == ["O1"] and res.followups_created == 1
        assert OrderRecords(store).get("O1").status == "completed"
        assert OrderRecords(store).get("O2").status == "allocated"
        closing = ClosingStore(store).closing("O1")
        assert closing["signed_at"] == signed and closing["completed_at"] == now
        assert [e["action"] for e in store.audit_entries("order", "O1")] == ["order:completed"]
        # a second run changes nothing
        again = complete_signed_orders(store, now + timedelta(hours=1))
        assert again.completed == [] and again.followups_created == 0
        items = followup_list(store, now)
        assert [(f["order_no"], f["state"], f["hours_left"]) for f in items] == [("O1", "due", 7.5)]
        assert followup_list(store, signed + timedelta(hours=24, minutes=1))[0]["state"] == "overdue"


def test_open_case_holds_the_order_until_it_is_closed(tmp_path):
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import report_exception
    from xl_addin.services.closing.close_orders import complete_signed_orders

    now = datetime(2026, 10, 6, 9, 0, tzinfo=TZ)
    desk = make_desk(tmp_path / "desk", now)
    with store_for(desk) as store:
        seed_order(desk, store, "O1", "SF2001", bound_at=now - timedelta(days=3),
                   signed_at=now - timedelta(hours=3), now=now, in_workbooks=False)
        case = report_exception(store, now - timedelta(days=1), type="延误", description="晚到", by="张三",
                                waybill_no="SF2001", order_no="O1")
        res = complete_signed_orders(store, now)
        assert res.completed == [] and res.held[0]["open_cases"] == [case["case_id"]]
        assert OrderRecords(store).get("O1").status == "signed"
        with store.transaction():
            CaseStore(store).set_fields(case["case_id"], {"closed_at": now, "case_status": "已结案"}, now)
        later = now + timedelta(hours=1)
        res = complete_signed_orders(store, later)
        assert [c["order_no"] for c in res.completed] == ["O1"]
        assert OrderRecords(store).get("O1").status == "completed"
