"""Pairs of jobs that run at the same time on one desk: nothing lost, workbook and store agree after both.

Real processes on a real desk (SQLite store, .xlsx files, the OS's workbook locks): ``allocate`` while
``validate`` loops on the Order Confirmation, and two people pressing ``allocate`` at the same moment."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter

import openpyxl
import pytest

from tests.robustness.helpers import NOW, ORDER_BOOK, ORDER_SHEET, cli, make_desk, order_row, popen, record, write_csv
from tests.robustness.helpers import binding_rows

ORDERS = 600


def _confirmed_desk(tmp_path):
    desk = make_desk(tmp_path / "台账")
    batch = write_csv(tmp_path / "orders.csv", [order_row(i) for i in range(ORDERS)])
    for args in (["import", str(batch), "--source", "店铺", "--accept-mapping"], ["validate"]):
        done = cli(*args, "--desk", str(desk), "--now", NOW)
        assert done.returncode == 0, done.stdout + done.stderr
    return desk


def _order_cells(desk) -> dict[str, tuple]:
    wb = openpyxl.load_workbook(desk / ORDER_BOOK, read_only=True)
    rows = wb[ORDER_SHEET].iter_rows(values_only=True)
    header = list(next(rows))
    o, w, s = header.index("订单编号"), header.index("物流单号"), header.index("订单状态")
    out = {}
    for r in rows:
        if r and r[o]:
            assert str(r[o]) not in out, f"order {r[o]} twice in the sheet"
            out[str(r[o])] = (r[w], r[s])
    wb.close()
    return out


def _agree(desk):
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bound = dict(con.execute("SELECT order_no, waybill_no FROM bindings WHERE is_current = 1").fetchall())
        registry = [r[0] for r in con.execute("SELECT waybill_no FROM waybill_registry WHERE state = 'bound'")]
    assert len(registry) == len(set(registry)) == len(bound)
    assert sorted(bound) == sorted(f"RB{i:06d}" for i in range(ORDERS))     # every order got its one number
    cells = _order_cells(desk)
    assert sorted(cells) == sorted(bound)                                    # no order row lost
    assert {o: w for o, (w, _) in cells.items()} == bound                    # the sheet shows the store's numbers
    assert {s for _, s in cells.values()} == {"已分配运单"}
    rows = binding_rows(desk)
    assert not [w for w, c in Counter(w for _, w in rows).items() if c > 1]
    assert dict(rows) == bound                                               # Binding Table agrees too


def _finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 1), out[-2000:] + err[-2000:]
    return out


def _until(condition, what: str, limit: float = 120.0) -> None:
    """Wait for a state of the desk (not a timed assertion: the bound only stops a hung run)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _stored_statuses(desk) -> Counter:
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        return Counter(r[0] for r in con.execute("SELECT status FROM orders"))


@pytest.mark.slow
def test_allocate_inside_validates_window(tmp_path):
    """The race made certain: validate is stopped after it read the orders' earlier results and before it
    saves them (holding the Order Confirmation's lock); allocate moves every order on meanwhile. The check
    must keep the store's 已分配运单 and write it into the rows, not the 已确认 it had read."""
    desk = _confirmed_desk(tmp_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    validator = popen("validate", "--desk", str(desk), "--now", NOW,
                      env={"XL_LOGISTICS_PAUSE_AT": "validate:before_save", "XL_LOGISTICS_PAUSE_DIR": str(gate)})
    _until(lambda: (gate / "validate_before_save.paused").exists() or validator.poll() is not None, "validate to pause")
    assert validator.poll() is None, validator.communicate()
    allocator = popen("allocate", "--desk", str(desk), "--now", NOW)
    # allocate's store part needs no workbook; its sheet sync then waits for validate's lock
    _until(lambda: _stored_statuses(desk) == Counter({"allocated": ORDERS}) or allocator.poll() is not None,
           "allocate to move every order on")
    (gate / "validate_before_save.go").touch()
    _finish(validator)
    _finish(allocator)
    assert _stored_statuses(desk) == Counter({"allocated": ORDERS})
    _agree(desk)
    report = cli("validate", "--desk", str(desk), "--now", NOW, "--json")
    assert report.returncode in (0, 1), report.stderr
    record("allocate inside validate's window (rows)", ORDERS, ORDERS)


@pytest.mark.slow
def test_allocate_while_validate_runs(tmp_path):
    """The same pair as it happens on a desk, unsteered: validate before, during and after allocate."""
    rounds = 3
    for k in range(rounds):
        desk = _confirmed_desk(tmp_path / f"round{k}")
        validators = [popen("validate", "--desk", str(desk), "--now", NOW)]
        time.sleep(0.1 * k)
        allocator = popen("allocate", "--desk", str(desk), "--now", NOW)
        validators.append(popen("validate", "--desk", str(desk), "--now", NOW))
        _finish(allocator)
        for v in validators:
            _finish(v)
        _agree(desk)
    record("validate + allocate at once (rounds)", rounds, rounds)


@pytest.mark.slow
def test_two_people_allocate_at_once(tmp_path):
    desk = _confirmed_desk(tmp_path)
    first = popen("allocate", "--desk", str(desk), "--now", NOW)
    second = popen("allocate", "--desk", str(desk), "--now", NOW)
    _finish(first)
    _finish(second)
    _agree(desk)
    record("two allocate at once (orders)", ORDERS, ORDERS)
