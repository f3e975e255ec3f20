"""More pairs of jobs at once on one desk: the tracking refresh + allocate, the scheduler's refresh job + a
person's validate/bind/confirm, two people binding and confirming at the same time.

Real processes (the CLI, the scheduler's ``schedule --run-job``), a real SQLite store, real .xlsx files, the
project's Kuaidi100 sandbox on 127.0.0.1. After both sides finish: every order row once, the Order
Confirmation shows the store's number and status (and the person's confirmation) for every order, the
Binding Table is the store's current bindings, the Tracking Log holds no row twice and only tracked numbers."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from datetime import timedelta

import openpyxl
import pytest

from tests.robustness.helpers import ORDER_BOOK, ORDER_SHEET, cli, order_row, popen, record, write_csv
from tests.robustness.helpers import binding_rows
from tests.support.refresh_desk import NOW as TRACK_NOW
from tests.support.refresh_desk import make_desk as tracking_desk
from tests.support.refresh_desk import pin_all

STATUS = {"awaiting_customer": "待确认", "confirmed": "已确认", "cancelled": "已取消", "allocated": "已分配运单",
          "in_transit": "运输中", "signed": "已签收", "completed": "已完成"}
TRACKING_BOOK = "实时物流跟踪记录表.xlsx"
NOW = TRACK_NOW.isoformat()
TRACKED = 40     # bound waybills the refresh has to ask about
ORDERS = 300     # confirmed orders waiting for numbers
AWAITING = 20    # orders waiting for the customer (two numbers in the phone cell)


def _desk(tmp_path, sandbox):
    """A desk with TRACKED bound waybills (pinned in the sandbox), ORDERS confirmed orders, AWAITING waiting."""
    desk = tracking_desk(tmp_path / "desk", TRACKED, rate=200.0, concurrency=4)
    pin_all(sandbox, TRACKED)
    rows = [order_row(i) for i in range(ORDERS + AWAITING)]
    for r in rows[ORDERS:]:
        r[5] = f"{r[5]}/13812345678"
    batch = write_csv(tmp_path / "orders.csv", rows)
    for args in (["import", str(batch), "--source", "店铺", "--accept-mapping"], ["validate"]):
        done = cli(*args, "--desk", str(desk.root), "--now", NOW)
        assert done.returncode in (0, 1), done.stdout + done.stderr
    return desk


def _env(sandbox) -> dict[str, str]:
    return {"KUAIDI100_BASE_URL": sandbox.base_url}


def _finish(proc, timeout=600) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 1), out[-2000:] + err[-2000:]
    return out


def _sheet(path, name):
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = wb[name].iter_rows(values_only=True)
    header = list(next(rows))
    out = [dict(zip(header, r)) for r in rows if r and any(v is not None for v in r)]
    wb.close()
    return out


def _agree(root) -> dict[str, str]:
    """Workbooks and store agree; returns the store's current bindings {order: waybill}."""
    with sqlite3.connect(root / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bound = dict(con.execute("SELECT order_no, waybill_no FROM bindings WHERE is_current = 1").fetchall())
        registry = [r[0] for r in con.execute("SELECT waybill_no FROM waybill_registry WHERE state = 'bound'")]
        orders = {r[0]: r[1:] for r in con.execute("SELECT order_no, status, confirmed_by FROM orders")}
        tracked = {r[0] for r in con.execute("SELECT waybill_no FROM waybill_status")}
    assert len(set(bound.values())) == len(bound)                              # no number on two orders
    assert len(registry) == len(set(registry))
    rows = _sheet(root / ORDER_BOOK, ORDER_SHEET)
    numbers = [str(r["订单编号"]) for r in rows]
    assert sorted(numbers) == sorted(f"RB{i:06d}" for i in range(ORDERS + AWAITING))  # no row lost, none twice
    for r in rows:
        no = str(r["订单编号"])
        status, confirmed_by = orders[no]
        assert r["物流单号"] == bound.get(no), no                              # the store's number, or none
        assert r["订单状态"] == STATUS[status], (no, r["订单状态"], status)      # the store's status
        if confirmed_by and confirmed_by != "系统校验":
            assert r["确认人"] == confirmed_by, no                               # the person's answer is shown
    sheet = binding_rows(root)
    assert not [w for w, c in Counter(w for _, w in sheet).items() if c > 1]
    assert dict(sheet) == bound                                                # Binding Table = the store
    overview = [r["物流单号"] for r in _sheet(root / TRACKING_BOOK, "跟踪总览") if r.get("物流单号")]
    assert len(overview) == len(set(overview))                                 # no waybill twice in the log
    nodes = [(r["物流单号"], r["实际时间"], r.get("状态说明")) for r in _sheet(root / TRACKING_BOOK, "节点明细")
             if r.get("物流单号")]
    assert len(nodes) == len(set(nodes))                                       # no node row twice
    assert set(overview) <= tracked                                            # only numbers the store tracks
    openpyxl.load_workbook(root / ORDER_BOOK)                                  # the workbooks open
    openpyxl.load_workbook(root / TRACKING_BOOK)
    return bound


def _refresh_cli(root, sandbox, moment: str):
    return popen("refresh", "--desk", str(root), "--now", moment, env=_env(sandbox))


@pytest.mark.slow
def test_refresh_and_allocate_at_once(tmp_path, sandbox):
    """The scheduler's refresh (Tracking Log, Binding Table's carrier checks, registering new bindings)
    while a person allocates numbers (Order Confirmation, Binding Table): each first, twice."""
    tried = 0
    for k, first in enumerate(("refresh", "allocate")):
        desk = _desk(tmp_path / f"round{k}", sandbox)
        sandbox.app.clock.set(TRACK_NOW, 0.0)
        start = {"refresh": lambda root: _refresh_cli(root, sandbox, NOW),
                 "allocate": lambda root: popen("allocate", "--desk", str(root), "--now", NOW)}
        a = start[first](desk.root)
        b = start["allocate" if first == "refresh" else "refresh"](desk.root)
        _finish(a)
        _finish(b)
        bound = _agree(desk.root)
        assert len(bound) == TRACKED + ORDERS                                  # every confirmed order got its number
        overview = {r["物流单号"] for r in _sheet(desk.root / TRACKING_BOOK, "跟踪总览")}
        assert {f"WB{i:08d}" for i in range(TRACKED)} <= overview             # and the refresh's rows are there
        # the next refresh tracks the new numbers too and still doubles nothing
        later = (TRACK_NOW + timedelta(minutes=31)).isoformat()
        sandbox.app.clock.set(TRACK_NOW + timedelta(minutes=31), 0.0)
        _finish(_refresh_cli(desk.root, sandbox, later))
        _agree(desk.root)
        tried += 1
    record("refresh + allocate at once (both orders)", tried, tried)


def _person(commands: list[list[str]], root, results: list) -> threading.Thread:
    """One person at the desk: the commands one after the other, each a real process."""
    def work():
        for args in commands:
            done = cli(*args, "--desk", str(root), "--now", NOW)
            results.append((args, done))

    t = threading.Thread(target=work)
    t.start()
    return t


def _no_tracebacks(results) -> None:
    for args, done in results:
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert "出错了" not in done.stderr + done.stdout, (args, done.stdout, done.stderr)


def _waybill(i: int) -> str:
    return f"SF{7_000_000_000_000 + i:013d}"


@pytest.mark.slow
def test_scheduler_refresh_job_while_a_person_works(tmp_path, sandbox):
    """``schedule --run-job refresh`` (as cron starts it) while a person validates, binds and confirms."""
    desk = _desk(tmp_path, sandbox)
    job = popen("schedule", "--run-job", "refresh", "--desk", str(desk.root), "--json", env=_env(sandbox))
    work: list[list[str]] = [["validate"]]
    for i in range(8):
        work.append(["bind", f"RB{i:06d}", _waybill(i), "--carrier", "SF", "--by", "李四"])
        work.append(["confirm", f"RB{ORDERS + i:06d}", "--outcome", "已确认", "--by", "王芳"])
    work.append(["validate"])
    results: list = []
    person = _person(work, desk.root, results)
    out, err = job.communicate(timeout=600)
    person.join(600)
    assert "Traceback" not in err, err
    assert job.returncode == 0 and json.loads(out)["ok"], out + err           # the job ran and succeeded
    _no_tracebacks(results)
    assert all(done.returncode == 0 for args, done in results if args[0] in ("bind", "confirm")), \
        [(a, d.stdout[-300:], d.stderr[-300:]) for a, d in results if d.returncode]
    bound = _agree(desk.root)
    assert all(bound[f"RB{i:06d}"] == _waybill(i) for i in range(8))
    overview = {r["物流单号"] for r in _sheet(desk.root / TRACKING_BOOK, "跟踪总览")}
    assert {f"WB{i:08d}" for i in range(TRACKED)} <= overview                 # the job's refresh reached the log
    record("scheduler refresh + validate/bind/confirm", 1 + len(work), 1 + len(work))


@pytest.mark.slow
def test_two_people_bind_and_confirm_at_once(tmp_path, sandbox):
    """Two people at one desk: each binds numbers and records customers' answers, at the same moment; both
    also try the same number on different orders — exactly one of them gets it."""
    desk = _desk(tmp_path, sandbox)
    contested = _waybill(999)
    plans: list[list[list[str]]] = []
    for p, who in enumerate(("李四", "赵六")):
        mine = [["bind", f"RB{100 + p:06d}", contested, "--carrier", "SF", "--by", who]]
        for i in range(p * 8, p * 8 + 8):
            mine.append(["bind", f"RB{i:06d}", _waybill(i), "--carrier", "SF", "--by", who])
            if i < AWAITING:
                mine.append(["confirm", f"RB{ORDERS + i:06d}", "--outcome", "已确认", "--by", who])
        plans.append(mine)
    results: list[list] = [[], []]
    people = [_person(plan, desk.root, res) for plan, res in zip(plans, results)]
    for t in people:
        t.join(600)
    everything = results[0] + results[1]
    _no_tracebacks(everything)
    contest = [done.returncode for args, done in everything if contested in args]
    assert sorted(contest) == [0, 2], contest                                  # one got it, the other was told
    others = [(a, d) for a, d in everything if contested not in a]
    assert all(d.returncode == 0 for _, d in others), [(a, d.stdout[-300:]) for a, d in others if d.returncode]
    bound = _agree(desk.root)
    assert all(bound[f"RB{i:06d}"] == _waybill(i) for i in range(16))
    assert list(bound.values()).count(contested) == 1
    with sqlite3.connect(desk.root / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        answered = dict(con.execute("SELECT order_no, confirmed_by FROM orders WHERE order_no >= ?",
                                    (f"RB{ORDERS:06d}",)).fetchall())
    assert all(answered[f"RB{ORDERS + i:06d}"] in ("李四", "赵六") for i in range(16))
    record("two people bind + confirm at once", len(everything), len(everything))

