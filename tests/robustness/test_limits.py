"""Bounded readers: far cells, claimed dimensions, padded parts, raw control characters, long CSV
lines and broken parts are refused before any big allocation, with a message naming the file."""

from __future__ import annotations

import random

import pytest

from tests.robustness.corpus import base_book, workbook_cases
from xl_addin.adapters.imports import read_export
from xl_addin.adapters.workbook.books import ORDERS_SHEET
from xl_addin.adapters.workbook.limits import check_text_lines, limits_for
from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.errors import WorkbookError

CASES = {name: data for name, _kind, data in workbook_cases(random.Random(1)) if not name.startswith(("truncated", "bitflip"))}


@pytest.mark.parametrize("name, words", [
    ("far-XFD1048576", ["XFD1048576", "上限"]), ("far-XFD20000", ["XFD20000"]),
    ("far-CV1048576", ["CV1048576"]), ("far-ZZ100000", ["ZZ100000"]),
    ("far-XFE1", ["XFD1048576"]), ("far-A1048577", ["XFD1048576"]),
    ("claim-XFE1", ["范围"]), ("claim-AAAA1", ["范围"]),
    ("whitespace-bomb", ["压缩比", "max_ratio"]),
    ("raw-control-01", ["控制字符"]), ("raw-control-1a", ["控制字符"]),
    ("rels-outside-0", ["压缩包之外"]), ("corrupt-member", ["损坏"]),
])
def test_refused_naming_the_file_and_what_is_wrong(tmp_path, name, words):
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(CASES[name])
    with pytest.raises(WorkbookError) as err:
        read_sheet(path, ORDERS_SHEET)
    text = str(err.value)
    assert str(path) in text and "Error" not in text.split("（")[0]
    for w in words:
        assert w in text, text


def test_a_real_cell_in_column_a_far_down_is_still_read(tmp_path):
    path = tmp_path / "far-A.xlsx"
    path.write_bytes(CASES["far-A1048576"])
    table = read_sheet(path, ORDERS_SHEET)
    assert [r.values["order_no"] for r in table.rows][:2] == ["SO0000", "SO0001"]


def test_limits_come_from_the_desk_config(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text("[limits]\nmax_sheet_cells = 1000\nmax_line_chars = 10\n", encoding="utf-8")
    path = tmp_path / "book.xlsx"
    path.write_bytes(base_book(rows=200))
    assert limits_for(path).max_sheet_cells == 1000
    with pytest.raises(WorkbookError, match="max_sheet_cells"):
        read_sheet(path, ORDERS_SHEET)
    with pytest.raises(WorkbookError, match="max_line_chars"):
        check_text_lines(path, b"a,b\n" + b"x" * 11)


def test_long_csv_line_is_refused_before_parsing(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_bytes("订单编号,客户\r\n".encode() + b"x" * (3 * 1024 * 1024))
    with pytest.raises(WorkbookError) as err:
        read_export(path)
    assert str(path) in str(err.value) and "第 2 行" in str(err.value)


def _unknown_compression(data: bytes, member: str) -> bytes:
    """The package with ``member``'s compression method set to 99 in both its headers (what a flipped bit
    there looks like to zipfile: "That compression method is not supported")."""
    import struct
    import zipfile as zf
    from io import BytesIO

    buf = bytearray(data)
    info = zf.ZipFile(BytesIO(data)).getinfo(member)
    struct.pack_into("<H", buf, info.header_offset + 8, 99)
    name = member.encode()
    at = buf.find(b"PK\x01\x02")
    while at != -1:
        if buf[at + 46:at + 46 + len(name)] == name:
            struct.pack_into("<H", buf, at + 10, 99)
            break
        at = buf.find(b"PK\x01\x02", at + 4)
    return bytes(buf)


@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/styles.xml"])
def test_an_unknown_compression_method_is_a_damaged_file_not_a_crash(tmp_path, capsys, member):
    from tests.robustness.helpers import NOW
    from xl_addin.entrypoints.cli import main

    path = tmp_path / "订单.xlsx"
    path.write_bytes(_unknown_compression(base_book(), member))
    code = main(["validate", str(path), "--desk", str(tmp_path), "--now", NOW])
    err = capsys.readouterr().err
    assert code == 2 and "出错了" not in err and str(path) in err and "损坏" in err, err
