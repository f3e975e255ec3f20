"""Four processes allocating against one store; a process killed mid-batch. Real processes, real SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import WaybillStore
from xl_addin.domain.waybills.numbering import parse_own_waybill

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))
ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import sys, time
from datetime import datetime
from xl_addin.adapters.store import open_store
from xl_addin.services.waybills import WaybillPolicy, allocate
path, limit, chunk, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
now = datetime.fromisoformat(sys.argv[5])
with open_store(path) as store:
    report = allocate(store, now, policy=WaybillPolicy(numbering="company"), limit=limit, chunk=chunk,
                      on_chunk=(lambda done, total: time.sleep(pause)) if pause else None)
    print(" ".join(b.waybill_no for b in report.bindings))
"""


def _seed(path: Path, n: int) -> None:
    with open_store(path) as store, store.transaction():
        OrderRecords(store).save([OrderRecord(order_no=f"SO{i:06d}", status="confirmed", check_status="ok",
                                              fields={"weight_kg": 1, "normalized": {"province": "江苏省", "tags": []}})
                                  for i in range(n)], T0)


def _worker(path: Path, limit: int, chunk: int = 5000, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(limit), str(chunk), str(pause),
                             T0.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
def test_four_processes_allocate_distinct_gap_free_blocks(tmp_path):
    path = tmp_path / "state.sqlite3"
    _seed(path, 100_000)
    procs = [_worker(path, 25_000) for _ in range(4)]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        outputs.append(out.split())
    every = [w for out in outputs for w in out]
    assert len(every) == 100_000 and len(set(every)) == 100_000
    for out in outputs:
        assert len(out) == 25_000
        serials = sorted(parse_own_waybill(w).serial for w in out)
        assert serials == list(range(serials[0], serials[0] + 25_000))  # no gap inside a batch
    with open_store(path) as store:
        ws = WaybillStore(store)
        assert len(ws.all_current()) == 100_000
        assert ws.registry_counts() == {"bound": 100_000}
        assert ws.last_serial("XL", T0.date()) == 100_000
        assert OrderRecords(store).all("confirmed") == []


@pytest.mark.slow
def test_killed_mid_batch_leaves_every_number_bound_or_void(tmp_path):
    path = tmp_path / "state.sqlite3"
    _seed(path, 6000)
    proc = _worker(path, 6000, chunk=1000, pause=30.0)
    deadline = time.monotonic() + 120
    with open_store(path) as store:
        while time.monotonic() < deadline:
            bound = store.conn.execute("SELECT COUNT(*) FROM bindings").fetchone()[0]
            if bound >= 1000:
                break
            time.sleep(0.1)
        assert bound == 1000
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        ws = WaybillStore(store)
        assert ws.registry_counts() == {"bound": 1000, "reserved": 5000}
        # the next run voids the dead batch's reservations and allocates those orders afresh
        from xl_addin.services.waybills import WaybillPolicy, allocate
        report = allocate(store, T0 + timedelta(minutes=5), policy=WaybillPolicy(numbering="company"))
        assert len(report.voided) == 5000 and len(report.bindings) == 5000
        assert ws.registry_counts() == {"bound": 6000, "void": 5000}
        numbers = [r[0] for r in store.conn.execute("SELECT waybill_no FROM waybill_registry")]
        assert len(numbers) == len(set(numbers)) == 11000
        serials = sorted(parse_own_waybill(n).serial for n in numbers)
        assert serials == list(range(1, 11001))  # void numbers are never reused: new ones follow them
        bound_to = store.conn.execute("SELECT COUNT(DISTINCT order_no), COUNT(*) FROM bindings WHERE is_current = 1").fetchone()
        assert bound_to == (6000, 6000)
        void_in_bindings = store.conn.execute(
            "SELECT COUNT(*) FROM bindings b JOIN waybill_registry r ON r.waybill_no = b.waybill_no "
            "WHERE r.state = 'void'").fetchone()[0]
        assert void_in_bindings == 0
