"""The month's closing jobs beside a person at the desk: ``archive`` (the scheduler's run on the 1st),
``close`` (every two hours) and ``followups --remind`` (daily) while someone imports a shop export and
checks it, each side first once.

Real processes, a real SQLite store, real .xlsx files. Afterwards every order is in exactly one place (the
live Order Confirmation or October's archive, never both, never twice), the person's imported orders are
all in the live sheet with the store's status, the archive still verifies against its manifest, and the
follow-up sheet shows each open follow-up once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter

import openpyxl
import pytest

from support.archive_month import NOV, archived_keys, build_busy_month, live_keys
from tests.robustness.helpers import ORDER_BOOK, ORDER_SHEET, cli, order_row, popen, record, write_csv

OCTOBER, NOVEMBER, IMPORTED = 150, 40, 200
STATUS_ZH = {"awaiting_customer": "待确认", "confirmed": "已确认", "cancelled": "已取消", "allocated": "已分配运单",
             "in_transit": "运输中", "signed": "已签收", "completed": "已完成"}
AT = NOV.isoformat()


def _person(root, export) -> tuple[threading.Thread, list]:
    results: list = []

    def work():
        for args in (["import", str(export), "--source", "店铺", "--accept-mapping"], ["validate"]):
            results.append((args, cli(*args, "--desk", str(root), "--now", AT)))

    t = threading.Thread(target=work)
    t.start()
    return t, results


def _job(root, name: str):
    args = {"archive": ["archive", "--month", "2026-10"], "close": ["close"], "followups": ["followups", "--remind"]}[name]
    return popen(*args, "--desk", str(root), "--now", AT)


def _statuses(root) -> dict[str, str]:
    with sqlite3.connect(root / ".xl-logistics" / "state.sqlite3", timeout=30) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(con.execute("SELECT order_no, status FROM orders").fetchall())


def _sheet_status(root) -> dict[str, str]:
    wb = openpyxl.load_workbook(root / ORDER_BOOK, read_only=True)
    rows = wb[ORDER_SHEET].iter_rows(values_only=True)
    head = list(next(rows))
    o, s = head.index("订单编号"), head.index("订单状态")
    out = {str(r[o]): r[s] for r in rows if r and r[o] is not None}
    wb.close()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("job", ["archive", "close", "followups"])
def test_closing_job_while_a_person_imports_and_validates(tmp_path, job):
    imported = {f"RB{i:06d}" for i in range(IMPORTED)}
    tried = 0
    for first in ("job", "person"):
        root = tmp_path / first
        desk = build_busy_month(root, OCTOBER, NOVEMBER)
        before = {k: set(v) for k, v in live_keys(desk).items()}
        export = write_csv(tmp_path / f"shop-{first}.csv", [order_row(i) for i in range(IMPORTED)])
        if first == "job":
            proc = _job(root, job)
            person, results = _person(root, export)
        else:
            person, results = _person(root, export)
            proc = _job(root, job)
        out, err = proc.communicate(timeout=600)
        person.join(600)
        assert "Traceback" not in err and proc.returncode == 0, out[-2000:] + err[-2000:]
        for args, done in results:
            assert "Traceback" not in done.stderr and "出错了" not in done.stdout + done.stderr, (args, done.stderr)
            assert done.returncode in (0, 1), (args, done.stdout[-1000:], done.stderr[-1000:])

        live, arch = live_keys(desk), archived_keys(desk)
        everything = before["orders"] | imported
        assert imported <= set(live["orders"]), (first, sorted(imported - set(live["orders"]))[:5])
        assert Counter(live["orders"] + arch["orders"]) == Counter(everything)   # each order in exactly one place
        assert len(arch["orders"]) == (OCTOBER if job == "archive" else 0)
        assert max(Counter(live["followups"]).values(), default=1) == 1
        assert max(Counter(live["bindings"] + arch["bindings"]).values(), default=1) == 1
        store, sheet = _statuses(root), _sheet_status(root)
        assert {o: STATUS_ZH[store[o]] for o in imported} == {o: sheet[o] for o in imported}  # the store's status
        if job == "archive":
            verify = cli("archive", "--verify", "2026-10", "--desk", str(root))
            assert verify.returncode == 0, verify.stdout + verify.stderr
        tried += 1
    record(f"{job} + a person's import/validate (both orders)", tried, tried)


@pytest.mark.slow
def test_import_inside_the_archives_removal(tmp_path):
    """The race made certain: the archive is stopped while it builds the Order Confirmation without October's
    rows (``archive:during_remove:orders``); a person imports meanwhile. The import must wait for the
    archive's hold on the workbook — had it written its rows there, the archive's file, built from the
    earlier reading, would replace them."""
    root = tmp_path / "desk"
    desk = build_busy_month(root, OCTOBER, NOVEMBER)
    gate = tmp_path / "gate"
    gate.mkdir()
    archive = popen("archive", "--month", "2026-10", "--desk", str(root), "--now", AT,
                    env={"XL_LOGISTICS_PAUSE_AT": "archive:during_remove:orders", "XL_LOGISTICS_PAUSE_DIR": str(gate)})
    deadline = time.monotonic() + 120
    while not (gate / "archive_during_remove_orders.paused").exists() and archive.poll() is None:
        assert time.monotonic() < deadline, "the archive did not reach its removal"
        time.sleep(0.05)
    assert archive.poll() is None, archive.communicate()
    export = write_csv(tmp_path / "shop.csv", [order_row(i) for i in range(IMPORTED)])
    person = popen("import", str(export), "--source", "店铺", "--accept-mapping", "--desk", str(root), "--now", AT)
    waited = time.monotonic() + 8  # long enough for the import to finish if nothing held it back
    while person.poll() is None and time.monotonic() < waited:
        time.sleep(0.05)
    (gate / "archive_during_remove_orders.go").touch()
    out, err = archive.communicate(timeout=300)
    assert archive.returncode == 0, out + err
    p_out, p_err = person.communicate(timeout=300)
    assert person.returncode == 0 and "Traceback" not in p_err, p_out[-1000:] + p_err[-1000:]
    live, arch = live_keys(desk), archived_keys(desk)
    imported = {f"RB{i:06d}" for i in range(IMPORTED)}
    assert imported <= set(live["orders"]), sorted(imported - set(live["orders"]))[:5]
    assert len(arch["orders"]) == OCTOBER and not set(arch["orders"]) & set(live["orders"])
    record("import inside the archive's removal (rows)", IMPORTED, len(imported & set(live["orders"])),
           lost=len(imported - set(live["orders"])))
