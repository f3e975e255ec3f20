"""kill -9 at random moments of ``allocate`` (30 kills, seeded): every workbook opens, no order row lost or
doubled, no waybill twice in the Binding Table or the store, ``PRAGMA integrity_check`` ok, the next run
completes and workbook and store agree, ``doctor`` healthy.

Real processes, a real desk (600 confirmed orders, made once by ``import`` + ``validate``). Kills come in
chains of five on one copy of that desk (each kill hits the resume of the one before), then one run
completes the chain; six chains."""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import time
from collections import Counter

import openpyxl
import pytest

from tests.robustness.helpers import (
    BINDING_BOOK, binding_rows, cli, make_desk, NOW, ORDER_BOOK, order_row, popen, record, sheet_order_numbers, write_csv,
)

CHAINS, PER_CHAIN, ORDERS = 6, 5, 600


def _check(desk, expected: list[str]) -> dict[str, str]:
    numbers = sheet_order_numbers(desk / ORDER_BOOK)       # the workbook opens
    assert sorted(numbers) == expected                   # no order row lost, none doubled
    rows = binding_rows(desk)
    assert not [w for w, c in Counter(w for _, w in rows).items() if c > 1]   # no waybill twice in the sheet
    assert not [o for o, c in Counter(o for o, _ in rows).items() if c > 1]   # no order bound twice in the sheet
    openpyxl.load_workbook(desk / BINDING_BOOK)
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        current = con.execute("SELECT order_no, waybill_no FROM bindings WHERE is_current = 1").fetchall()
        registry = [r[0] for r in con.execute("SELECT waybill_no FROM waybill_registry")]
    assert len(registry) == len(set(registry))
    assert len({w for _, w in current}) == len(current) == len({o for o, _ in current})
    store = dict(current)
    assert all(store.get(o) == w for o, w in rows)          # the sheet shows only what the store holds
    return store


@pytest.mark.slow
def test_kills_during_allocate_lose_and_double_nothing(tmp_path):
    rng = random.Random(2026120221)
    base = make_desk(tmp_path / "base")
    batch = write_csv(tmp_path / "orders.csv", [order_row(i) for i in range(ORDERS)])
    for args in (["import", str(batch), "--source", "店铺", "--accept-mapping"], ["validate"]):
        done = cli(*args, "--desk", str(base), "--now", NOW)
        assert done.returncode == 0, done.stdout + done.stderr
    expected = sorted(f"RB{i:06d}" for i in range(ORDERS))
    # a whole run and a run with nothing to do, measured here: kills land between the end of start-up and the end
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    t0 = time.monotonic()
    assert cli("allocate", "--desk", str(probe), "--now", NOW).returncode in (0, 1)
    span = time.monotonic() - t0
    t0 = time.monotonic()
    assert cli("allocate", "--desk", str(probe), "--now", NOW).returncode in (0, 1)
    idle = time.monotonic() - t0
    tried = killed = 0
    upper = max(span, idle) * 1.05
    for c in range(CHAINS):
        desk = tmp_path / f"chain{c}"
        shutil.copytree(base, desk)
        for _ in range(PER_CHAIN):
            proc = popen("allocate", "--desk", str(desk), "--now", NOW)
            time.sleep(rng.uniform(0.6 * idle, upper))
            tried += 1
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            else:  # a resumed run has less left to do: aim earlier next time (never before start-up ends)
                upper = max(0.6 * idle * 1.2, upper * 0.75)
            _, err = proc.communicate(timeout=120)
            assert "Traceback" not in err, err
            _check(desk, expected)
        done = cli("allocate", "--desk", str(desk), "--now", NOW)
        assert done.returncode in (0, 1), done.stdout + done.stderr   # the next run completes
        store = _check(desk, expected)
        assert set(store) == set(expected)                           # every order has its one number
        assert sorted(binding_rows(desk)) == sorted(store.items())      # workbook and store agree
    record(f"kill -9 during allocate ({killed} mid-run)", tried, tried)  # every check above passed for each
    assert tried >= 30 and killed >= tried // 4  # 8–20 of 30 on the loaded build machine before aiming adapted
    doctor = cli("doctor", "--desk", str(desk))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
