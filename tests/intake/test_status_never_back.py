"""A check never moves an order back: an order a later stage moved on while ``validate`` ran keeps that stage,
in the store, in validate's own row reports and in the 订单状态 cells validate writes (issue 20's race).

Real desk, real store, real workbook. validate runs in a thread and is held at its ``validate:before_save``
checkpoint (after it read the orders' earlier results); the later stages' store adapter moves orders on
from this thread meanwhile, as ``allocate`` and the tracking stage do from their processes."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from support.order_desk import column, fill_desk, order

from xl_addin.adapters.store.order_status import OrderStatuses
from xl_addin.adapters.store.orders import OrderRecords
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.intake.desk_rules import policy_for_desk
from xl_addin.services.intake.validation import validate_orders

from support.order_desk import NOW

NUMBERS = [f"DD{7000 + i}" for i in range(6)]


def _validate(desk, now=NOW):
    with store_for(desk) as store:
        return validate_orders(desk.workbook("orders"), now, store=store, backup_dir=desk.backup_dir,
                               policy=policy_for_desk(desk))


def test_orders_moved_on_during_a_check_keep_their_stage(tmp_path, monkeypatch):
    root = tmp_path / "desk"
    init_desk(root, NOW)
    desk = load_desk(root)
    fill_desk(root, [order(order_no=n) for n in NUMBERS])
    first = _validate(desk)
    assert [r.decision.status for r in first.rows] == ["confirmed"] * len(NUMBERS)

    gate = tmp_path / "gate"
    gate.mkdir()
    monkeypatch.setenv("XL_LOGISTICS_PAUSE_AT", "validate:before_save")
    monkeypatch.setenv("XL_LOGISTICS_PAUSE_DIR", str(gate))
    out: dict = {}
    check = threading.Thread(target=lambda: out.update(report=_validate(desk)))
    check.start()
    deadline = time.monotonic() + 60
    while not (gate / "validate_before_save.paused").exists():
        assert check.is_alive() and time.monotonic() < deadline, "validate did not reach its checkpoint"
        time.sleep(0.02)
    moved = {NUMBERS[0]: "allocated", NUMBERS[1]: "allocated", NUMBERS[2]: "signed", NUMBERS[3]: "completed"}
    with store_for(desk) as store:  # what allocate / tracking / closing do meanwhile, from their own connection
        with store.transaction():
            for number, status in moved.items():
                OrderStatuses(store).set([number], status, NOW)
    (gate / "validate_before_save.go").touch()
    check.join(60)
    assert not check.is_alive()
    report = out["report"]

    expected = [moved.get(n, "confirmed") for n in NUMBERS]
    with store_for(desk) as store:
        stored = OrderRecords(store).by_numbers(str(desk.workbook("orders").resolve()), NUMBERS)
    assert [stored[n].status for n in NUMBERS] == expected                      # the store kept the later stage
    assert [r.decision.status for r in report.rows] == expected                 # so does the check's report
    assert column(desk.workbook("orders"), "订单状态") == \
        ["已分配运单", "已分配运单", "已签收", "已完成", "已确认", "已确认"]         # and the cells it wrote
    assert report.summary["later"] == 4 and report.summary["confirmed"] == 2

    # otherwise the rows are reported exactly as a check of the moved-on desk reports them
    monkeypatch.delenv("XL_LOGISTICS_PAUSE_AT")
    again = _validate(desk)
    assert [r.as_dict() for r in again.rows] == [r.as_dict() for r in report.rows]
    assert [replace(r.decision, status="x") for r in first.rows[4:]] == \
        [replace(r.decision, status="x") for r in report.rows[4:]]
