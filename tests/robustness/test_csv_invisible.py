"""Control characters and a byte-order mark in the middle of a CSV: every row reported as added is
really in the Order Confirmation, under the same order number the store has."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.robustness.helpers import HEADER, NOW, ORDER_BOOK, make_desk, order_row, sheet_order_numbers
from xl_addin.entrypoints.cli import main


def _csv_bytes(lines: list[list[str]]) -> bytes:
    return "\r\n".join(",".join(cells) for cells in lines).encode("utf-8")


@pytest.mark.parametrize("case", ["controls", "bom_mid", "dos_eof"])
def test_rows_reported_added_are_present(tmp_path, capsys, case):
    desk = make_desk(tmp_path / "台账")
    rows = [order_row(i) for i in range(5)]
    if case == "controls":
        rows[1][0] = "RB\x01\x07000001"
        rows[2][6] = rows[2][6] + "\x1a"
        data = _csv_bytes([HEADER, *rows])
    elif case == "bom_mid":  # two exports pasted together: the second starts with its own BOM
        data = b"\xef\xbb\xbf" + _csv_bytes([HEADER, *rows[:2]]) + b"\r\n\xef\xbb\xbf" + _csv_bytes(rows[2:])
    else:
        data = _csv_bytes([HEADER, *rows]) + b"\r\n\x1a"
    src = tmp_path / "导出.csv"
    src.write_bytes(data)
    code = main(["import", str(src), "--source", "店铺", "--accept-mapping", "--desk", str(desk), "--now", NOW, "--json"])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    payload = json.loads(out.out)
    added = [r["order_no"] for r in payload["rows"] if r["action"] == "added"]
    assert sorted(added) == [f"RB{i:06d}" for i in range(5)]
    assert sorted(sheet_order_numbers(desk / ORDER_BOOK)) == sorted(added)
    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3") as con:
        stored = {r[0] for r in con.execute("SELECT order_no FROM import_orders")}
    assert stored == set(added)
    assert "控制字符" in json.dumps(payload, ensure_ascii=False)
