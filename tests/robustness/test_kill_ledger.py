"""kill -9 at random moments of ``sync-ledger`` (30 kills, seeded): the Exception Ledger opens, no case row
and no history row twice, no case lost, ``PRAGMA integrity_check`` ok, the next run completes, ``doctor``
healthy. Real processes, a real desk with 150 cases (each with history) not yet in the ledger; kills come in
chains of five on one copy of it, then one run completes the chain."""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta

import openpyxl
import pytest

from tests.robustness.helpers import record, NOW, TZ, cli, make_desk, popen

LEDGER = "异常订单处理台账.xlsx"
CHAINS, PER_CHAIN, CASES = 6, 5, 150


def _seed(root) -> list[str]:
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.cases import case_handling as sc

    at = datetime.fromisoformat(NOW).astimezone(TZ)
    with store_for(load_desk(root)) as s:
        with s.transaction():
            TrackingStore(s).register([{"waybill_no": f"SF{i:08d}", "order_no": f"RB{i:06d}", "carrier_code": "shunfeng"}
                                       for i in range(CASES)], at)
        ids = []
        for i in range(CASES):
            case = sc.report_exception(s, at, type="丢件" if i % 2 else "破损", description=f"第{i}单", by="张三",
                                       waybill_no=f"SF{i:08d}")
            ids.append(case["case_id"])
            sc.update_case(s, at + timedelta(minutes=5), case["case_id"], {"cause": f"原因{i}", "handler": "王五"},
                           by="李四")
    return ids


def _sheet(path, name):
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [r for r in wb[name].iter_rows(values_only=True)]
    wb.close()
    header = list(rows[0])
    return header, [r for r in rows[1:] if r and any(v is not None for v in r)]


def _check(desk, ids, complete=False):
    header, rows = _sheet(desk / LEDGER, "异常台账")
    at = header.index("案件编号")
    in_book = [r[at] for r in rows if r[at]]
    assert not [c for c, n in Counter(in_book).items() if n > 1], "a case row twice"
    assert len(in_book) == len(rows), "a row without its case id"
    _, history = _sheet(desk / LEDGER, "处理历史")
    assert not [h for h, n in Counter(history).items() if n > 1], "a history row twice"
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [r[0] for r in con.execute("SELECT case_id FROM cases")]
        changes = con.execute("SELECT COUNT(*) FROM case_history").fetchone()[0]
    assert sorted(stored) == sorted(ids)                 # no case made twice, none lost
    if complete:
        assert sorted(in_book) == sorted(ids) and len(history) == changes
    openpyxl.load_workbook(desk / LEDGER)


@pytest.mark.slow
def test_kills_during_sync_ledger_double_nothing(tmp_path):
    rng = random.Random(2026120222)
    base = make_desk(tmp_path / "base")
    ids = _seed(base)
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    t0 = time.monotonic()
    assert cli("sync-ledger", "--desk", str(probe), "--now", NOW).returncode == 0
    span = time.monotonic() - t0
    t0 = time.monotonic()
    assert cli("sync-ledger", "--desk", str(probe), "--now", NOW).returncode == 0
    idle = time.monotonic() - t0
    tried = killed = 0
    for c in range(CHAINS):
        desk = tmp_path / f"chain{c}"
        shutil.copytree(base, desk)
        for _ in range(PER_CHAIN):
            proc = popen("sync-ledger", "--desk", str(desk), "--now", NOW)
            time.sleep(rng.uniform(0.6 * idle, max(span, idle) * 1.05))
            tried += 1
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            _, err = proc.communicate(timeout=120)
            assert "Traceback" not in err, err
            _check(desk, ids)
        done = cli("sync-ledger", "--desk", str(desk), "--now", NOW)
        assert done.returncode == 0, done.stdout + done.stderr
        _check(desk, ids, complete=True)
    record(f"kill -9 during sync-ledger ({killed} mid-run)", tried, tried)  # every check above passed for each
    assert tried >= 30 and killed >= tried // 3  # 13 of 30 on the loaded build machine
    doctor = cli("doctor", "--desk", str(desk))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


# ---------------------------------------------------------------- the two narrow windows, hit on purpose
# (``xl_addin/checkpoints.py``: the process kills itself at the named moment, so every kill lands in the window)

def _killed_at(desk, point: str):
    done = cli("sync-ledger", "--desk", str(desk), "--now", NOW, env={"XL_LOGISTICS_KILL_AT": point})
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode == -signal.SIGKILL


def _unmarked(desk) -> int:
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        return con.execute("SELECT COUNT(*) FROM case_history WHERE in_ledger = 0").fetchone()[0]


@pytest.mark.slow
def test_kill_between_history_rows_and_their_mark(tmp_path):
    """Killed after 处理历史 got its rows and before the store marked them, several runs in a row, with new
    history in between: the next runs mark what is there and append only what is not."""
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.cases import case_handling as sc

    desk = make_desk(tmp_path / "desk")
    ids = _seed(desk)
    at = datetime.fromisoformat(NOW).astimezone(TZ)
    kills = 0
    for k in range(4):
        assert _killed_at(desk, "ledger:history_appended")
        kills += 1
        _, history = _sheet(desk / LEDGER, "处理历史")
        assert history and _unmarked(desk) > 0  # the kill was inside the window: rows written, not marked
        _check(desk, ids)
        with store_for(load_desk(desk)) as s:  # new history meanwhile, to be appended next to the old
            sc.update_case(s, at + timedelta(minutes=30 + k), ids[k], {"cause": f"复查{k}"}, by="赵六")
    done = cli("sync-ledger", "--desk", str(desk), "--now", NOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _unmarked(desk) == 0
    _check(desk, ids, complete=True)
    record("kill -9 in sync-ledger's history window", kills, kills)


STAFF = 4


def _staff_rows(desk) -> None:
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.services.cases.ledger_sync import LEDGER_SHEET

    table = read_sheet(desk / LEDGER, LEDGER_SHEET)
    cols = table.columns
    cells = {}
    for j in range(STAFF):
        row = table.header_row + 1 + j
        for key, value in (("waybill_no", f"SF{CASES + j:08d}"), ("type", "延误"),
                           ("description", f"客户来电催件{j}"), ("found_by", "钱七")):
            cells[(row, cols[key])] = value
    write_cells(desk / LEDGER, table.sheet, table.header_row, {}, cells, backup_dir=None, append_table_rows=True)


@pytest.mark.slow
def test_kill_between_staff_case_and_its_id(tmp_path):
    """Staff rows without a case id: each run is killed right after it made a case of one (stored, the id
    not yet in the row). The next runs give those rows their cases; none is made twice, no row doubles."""
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.bootstrap import load_desk, store_for

    desk = make_desk(tmp_path / "desk")
    ids = _seed(desk)
    at = datetime.fromisoformat(NOW).astimezone(TZ)
    with store_for(load_desk(desk)) as s:
        with s.transaction():
            TrackingStore(s).register([{"waybill_no": f"SF{CASES + j:08d}", "order_no": f"RB{CASES + j:06d}",
                                        "carrier_code": "shunfeng"} for j in range(STAFF)], at)
    _staff_rows(desk)
    kills = 0
    for k in range(STAFF):
        assert _killed_at(desk, "ledger:staff_case_created")
        kills += 1
        with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
            made = [r[0] for r in con.execute("SELECT case_id FROM cases WHERE source = 'ledger'")]
        assert len(made) == k + 1  # one more staff row's case each run, the earlier ones not made again
        header, rows = _sheet(desk / LEDGER, "异常台账")
        assert len(rows) == STAFF  # nothing written: each run died before its workbook write
    done = cli("sync-ledger", "--desk", str(desk), "--now", NOW)  # no row left to make a case of: completes
    assert done.returncode == 0, done.stdout + done.stderr
    done = cli("sync-ledger", "--desk", str(desk), "--now", NOW, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    everyone = ids + made
    _check(desk, everyone, complete=True)
    header, rows = _sheet(desk / LEDGER, "异常台账")
    at_id, at_waybill = header.index("案件编号"), header.index("物流单号")
    staff = {r[at_waybill]: r[at_id] for r in rows if r[at_waybill] >= f"SF{CASES:08d}"}
    assert sorted(staff.values()) == sorted(made) and len(staff) == STAFF  # each staff row has its own case
    record("kill -9 in sync-ledger's staff-row window", kills, kills)
