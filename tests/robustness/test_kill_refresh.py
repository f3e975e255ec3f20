"""kill -9 at random moments of ``refresh``: the Tracking Log's 节点明细 never holds a node twice.

Real processes against the project's Kuaidi100 sandbox on 127.0.0.1 and a real SQLite desk; the
moments come from a seeded RNG so a failure can be replayed. Each killed run is followed by the
next one (the resume); at the end one run completes and the sheet is compared with the store.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import timedelta

import openpyxl
import pytest

from tests.robustness.helpers import record
from tests.support.refresh_desk import NOW, make_desk, pin_all
from tests.support.refresh_desk import refresh_cli as _cli

KILLS = 30


def _node_rows(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb["节点明细"]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    w, t, note = header.index("物流单号"), header.index("实际时间"), header.index("状态说明")
    out = [(r[w], r[t], r[note]) for r in rows if r and r[w]]
    wb.close()
    return out


@pytest.mark.slow
def test_kills_during_refresh_never_duplicate_node_rows(tmp_path, sandbox):
    n = 40
    desk = make_desk(tmp_path / "desk", n, rate=200.0, concurrency=4)
    pin_all(sandbox, n)
    rng = random.Random(20261202)
    book = desk.root / "实时物流跟踪记录表.xlsx"
    killed = 0
    # one whole run first: its duration here sets the kill moments, so they land mid-run on any machine
    sandbox.app.clock.set(NOW, 0.0)
    cmd, env = _cli(desk, "refresh", "--now", NOW.isoformat(), env={"KUAIDI100_BASE_URL": sandbox.base_url})
    t0 = time.monotonic()
    first = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    span = time.monotonic() - t0
    assert first.returncode in (0, 1), first.stderr.decode(errors="replace")
    for k in range(KILLS):
        moment = NOW + timedelta(minutes=31 * (k + 1))
        sandbox.app.clock.set(moment, 0.0)
        cmd, env = _cli(desk, "refresh", "--now", moment.isoformat(), env={"KUAIDI100_BASE_URL": sandbox.base_url})
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, 0.6) * span)  # the first run writes the most; later ones are shorter
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        _, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode(errors="replace")
        rows = _node_rows(book)
        dupes = [key for key, c in Counter(rows).items() if c > 1]
        assert not dupes, f"after kill {k}: {len(dupes)} node rows twice, e.g. {dupes[:3]}"
    assert killed >= KILLS // 2  # most runs really were killed mid-way
    moment = NOW + timedelta(minutes=31 * (KILLS + 1))
    sandbox.app.clock.set(moment, 0.0)
    cmd, env = _cli(desk, "refresh", "--now", moment.isoformat(), env={"KUAIDI100_BASE_URL": sandbox.base_url})
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    rows = _node_rows(book)
    assert rows and len(rows) == len(set(rows))
    with sqlite3.connect(desk.store_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = con.execute("SELECT COUNT(DISTINCT waybill_no || time || context) FROM tracking_events").fetchone()[0]
    assert len(rows) <= events
    openpyxl.load_workbook(book)  # the workbook opens
    record(f"kill -9 during refresh ({killed} mid-run)", KILLS, KILLS)  # each passed the checks above
