"""A signing completes its order where it is learnt: refresh (sandbox over real HTTP), the push
receiver (a signed form), a manual node in the Tracking Log; held while an exception case is open;
`close` stays the catch-up; the follow-up clock runs from the signing time."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from support.push_desk import NOW, SALT, event_item, make_desk, push_form

from xl_addin.adapters.store.followups import ClosingStore
from xl_addin.adapters.store.orders import OrderRecords
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.bootstrap import store_for
from xl_addin.services.cases.case_handling import close_case, report_exception
from xl_addin.services.closing.close_orders import complete_signed_orders, followup_list
from xl_addin.services.push.service import ingest_push
from xl_addin.services.tracking import refresh

ROOT = Path(__file__).resolve().parents[2]




def _pin(sb, n, carriers=("zhongtong", "yuantong")):
    for i in range(n):
        sb.app.pin(f"WB{i:08d}", carriers[i % 2], scenario="normal", phone="13800138000",
                   shipped_at=(NOW - timedelta(hours=2)).isoformat())


def _state(desk, order_no):
    with store_for(desk) as st:
        closing = ClosingStore(st).closing(order_no)
        return OrderRecords(st).get(order_no).status, closing


def _until_signed(desk, sb, waybills):
    t = NOW
    for _ in range(12):
        t += timedelta(hours=12)
        sb.app.clock.set(t, 0.0)
        refresh(desk, t)
        with store_for(desk) as st:
            ts = TrackingStore(st)
            if all(ts.status(w)["is_final"] for w in waybills):
                return t
    raise AssertionError("the sandbox journeys did not end in 6 days")


def test_refresh_that_learns_of_signings_completes_the_orders_and_starts_the_follow_ups(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 4, carriers=("zhongtong", "yuantong"))
    _pin(sandbox, 4)
    with store_for(desk) as st:
        case = report_exception(st, NOW, type="破损", description="外箱破损", by="李娜", waybill_no="WB00000001",
                                order_no="O00001")
    t = _until_signed(desk, sandbox, [f"WB{i:08d}" for i in range(4)])
    with store_for(desk) as st:
        signed = {w: TrackingStore(st).status(w)["final_at"] for w in ("WB00000000", "WB00000002", "WB00000003")}
        items = {f["order_no"]: f for f in followup_list(st, t)}
    for i in (0, 2, 3):
        status, closing = _state(desk, f"O{i:05d}")
        assert status == "completed" and closing["state"] == "completed"
        assert closing["signed_at"].isoformat() == signed[f"WB{i:08d}"]
        due = items[f"O{i:05d}"]["due_at"]
        assert due == (closing["signed_at"] + timedelta(hours=24)).isoformat()
    status, closing = _state(desk, "O00001")  # its case is open: held, not completed
    assert status == "signed" and closing["state"] == "held" and closing["held_by_cases"] == [case["case_id"]]
    # the case closes; the catch-up run completes it
    with store_for(desk) as st:
        close_case(st, t, case["case_id"], by="王强", result="已补发", responsible_party="天气或不可抗力",
                   customer_informed_at="now", receiver_informed_at="now")
        res = complete_signed_orders(st, t + timedelta(minutes=1))
    assert [c["order_no"] for c in res.completed] == ["O00001"]
    assert _state(desk, "O00001")[0] == "completed"


def test_a_signed_push_completes_the_order_in_the_same_transaction(tmp_path):
    desk = make_desk(tmp_path / "desk", 2)
    picked = event_item(NOW - timedelta(hours=2), "【杭州市西湖区网点】 已揽收", "103")
    signed_at = NOW + timedelta(hours=20)
    signed = event_item(signed_at, "已签收，签收人：本人", "301")
    with store_for(desk) as st:
        assert ingest_push(st, push_form("WB00000000", [picked]), SALT, NOW).outcome == "ingested"
        assert ClosingStore(st).closing("O00000") is None
        verdict = ingest_push(st, push_form("WB00000000", [picked, signed], status="shutdown", state="3"), SALT,
                              NOW + timedelta(hours=21))
        assert verdict.outcome == "ingested"
        closing = ClosingStore(st).closing("O00000")
        fu = ClosingStore(st).followup("O00000")
    assert closing["state"] == "completed" and closing["signed_at"] == signed_at
    assert fu["due_at"] == signed_at + timedelta(hours=24)
    assert _state(desk, "O00001")[1] is None  # the other order is untouched


def test_a_manual_signing_node_completes_the_order(tmp_path):
    from xl_addin.adapters.workbook.books import MANUAL_NODES_SHEET
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.services.tracking.tracking_log import ingest_manual

    desk = make_desk(tmp_path / "desk", 1)
    book = desk.workbook("tracking")
    cols = {c.key: i + 1 for i, c in enumerate(MANUAL_NODES_SHEET.columns)}
    when = (NOW + timedelta(hours=30)).replace(tzinfo=None)
    write_cells(book, "人工录入", 1, {}, {
        (2, cols["waybill_no"]): "WB00000000", (2, cols["node_name"]): "已签收", (2, cols["actual_time"]): when,
        (2, cols["status_note"]): "客户电话确认已收到", (2, cols["entered_by"]): "李娜"}, backup_dir=None)
    with store_for(desk) as st:
        res = ingest_manual(book, st, NOW + timedelta(hours=31), NOW.tzinfo, backup_dir=None)
        assert res.manual_ingested == 1
        closing = ClosingStore(st).closing("O00000")
    assert closing["state"] == "completed" and closing["signed_at"] == NOW + timedelta(hours=30)


def test_cli_refresh_then_followups_lists_the_signed_orders(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 3, carriers=("zhongtong", "yuantong"))
    _pin(sandbox, 3)
    env = {**os.environ, "XL_LOGISTICS_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    t = NOW
    for _ in range(12):
        t += timedelta(hours=12)
        sandbox.app.clock.set(t, 0.0)
        r = subprocess.run([sys.executable, "-m", "xl_addin", "refresh", "--desk", str(desk.root), "--now",
                            t.isoformat()], capture_output=True, text=True, env=env)
        assert r.returncode in (0, 1), r.stderr
    out = subprocess.run([sys.executable, "-m", "xl_addin", "followups", "--desk", str(desk.root), "--now",
                          t.isoformat(), "--json"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    items = listed["followups"] if isinstance(listed, dict) else listed
    assert sorted(f["order_no"] for f in items) == ["O00000", "O00001", "O00002"]


def test_the_catch_up_gives_a_desk_its_own_follow_up_hours(tmp_path):
    desk = make_desk(tmp_path / "desk", 1)
    picked = event_item(NOW - timedelta(hours=2), "【杭州市西湖区网点】 已揽收", "103")
    signed_at = NOW + timedelta(hours=20)
    signed = event_item(signed_at, "已签收，签收人：本人", "301")
    with store_for(desk) as st:
        ingest_push(st, push_form("WB00000000", [picked, signed], status="shutdown", state="3"), SALT,
                    NOW + timedelta(hours=21))
        assert ClosingStore(st).followup("O00000")["due_at"] == signed_at + timedelta(hours=24)
        complete_signed_orders(st, NOW + timedelta(hours=22), followup_hours=48)
        assert ClosingStore(st).followup("O00000")["due_at"] == signed_at + timedelta(hours=48)
