"""One writer per workbook: jobs that run at the same time on one desk lose nothing.

Real processes on a real desk (SQLite store, .xlsx files); the lock is the OS's, the workbook is
read back with openpyxl. Before the lock, ``import`` in batches while ``validate`` ran lost most
of the imported rows (each validate wrote back the sheet it had read before the import).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.helpers import (
    NOW, ORDER_BOOK, cli, cli_env, make_desk, order_row, record, sheet_order_numbers, write_csv,
)

IMPORT_LOOP = r"""
import sys
from xl_addin.entrypoints.cli import main
desk, now, files = sys.argv[1], sys.argv[2], sys.argv[3:]
codes = [main(["import", f, "--source", "店铺", "--accept-mapping", "--desk", desk, "--now", now, "--json"]) for f in files]
print("codes", *codes)
"""

VALIDATE_LOOP = r"""
import sys, os, time
from xl_addin.entrypoints.cli import main
desk, now, stop = sys.argv[1], sys.argv[2], sys.argv[3]
runs, codes = 0, set()
while not os.path.exists(stop) or runs < 2:
    codes.add(main(["validate", "--desk", desk, "--now", now, "--json"]))
    runs += 1
print("runs", runs, "codes", *sorted(codes))
"""


def _loop(script: str, *args: str) -> subprocess.Popen:
    # stdout to a file: a full pipe would stall the job (and its lock) at its next print
    out = open(Path(args[0]).parent / f"out-{abs(hash(script))}.txt", "w+")
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=out, stderr=subprocess.PIPE,
                            text=True, env=cli_env())


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    _, err = proc.communicate(timeout=timeout)
    out_path = Path(proc.args[3]).parent / f"out-{abs(hash(proc.args[2]))}.txt"
    return out_path.read_text(), err


def _orders_in_store(desk: Path) -> set[str]:
    import sqlite3

    db = next(desk.rglob("*.sqlite3"))
    with sqlite3.connect(db) as con:
        return {r[0] for r in con.execute("SELECT order_no FROM orders")}


@pytest.mark.slow
def test_import_in_batches_while_validate_runs_loses_no_row(tmp_path):
    desk = make_desk(tmp_path / "台账")
    n, batch = 1200, 100
    files = [str(write_csv(tmp_path / f"批次{b:02d}.csv", [order_row(i) for i in range(b * batch, (b + 1) * batch)]))
             for b in range(n // batch)]
    stop = tmp_path / "stop"
    validator = _loop(VALIDATE_LOOP, str(desk), NOW, str(stop))
    time.sleep(1.0)  # let validate start first: it is reading when the first batch lands
    importer = _loop(IMPORT_LOOP, str(desk), NOW, *files)
    out, err = _finish(importer, 400)
    stop.touch()
    vout, verr = _finish(validator, 400)
    assert importer.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in verr, (err, verr)
    codes = out.strip().splitlines()[-1].split()
    assert codes[0] == "codes" and set(codes[1:]) <= {"0", "1"}, out[-2000:]
    last = vout.strip().splitlines()[-1].split()
    assert last[0] == "runs" and int(last[1]) >= 2, (vout[-2000:], verr)
    expected = [f"RB{i:06d}" for i in range(n)]
    in_book = sheet_order_numbers(desk / ORDER_BOOK)
    assert sorted(in_book) == expected            # none lost, none twice
    assert _orders_in_store(desk) >= set(expected)
    # and a last validate sees every row, so workbook and store agree
    done = cli("validate", "--desk", str(desk), "--now", NOW, "--json")
    assert done.returncode in (0, 1), done.stderr
    assert sorted(sheet_order_numbers(desk / ORDER_BOOK)) == expected
    record(f"import x {n // batch} batches while validate loops (rows)", n, n)
