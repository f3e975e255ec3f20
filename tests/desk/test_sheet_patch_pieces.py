"""The writer's cached-piece path for appended cells gives the same bytes as the cell-by-cell path.

Why: the first check of an export appends every product cell after the user's last one; that
case is joined from cached pieces (no call per cell). These tests run both paths on the same
rows — texts that need escaping, "_x" texts, long texts, empty cells, numbers, booleans, dates,
times, the row number inside a text, spans, namespace prefixes — and compare the XML byte for byte,
then the whole rewritten sheet against a writer that never takes the new path.
"""

from __future__ import annotations

import random
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import openpyxl

from xl_addin.adapters.workbook import sheet_stream
from xl_addin.adapters.workbook.date_styles import Styles
from xl_addin.adapters.workbook.sheet_stream import Cursor, SheetPatcher
from xl_addin.adapters.workbook.xml_patch import write_rows

VALUES = [None, "", "已通过", "✗ 电话: 位数不对\n⚠ 地址: 缺少区县", "a&b<c>", "x_x000D_y", "tab\there", "ctl\x01",
          "行 7 的 P7", "A" * 40000, 0, 1, 1.0, True, False, 2.5, 13800138000, Decimal("3.10"), float(2**60),
          datetime(2026, 11, 27, 10, 0), datetime(2026, 11, 27, 11, 0, 30), date(2026, 1, 2), time(9, 30),
          timedelta(hours=2), "\u4e2d\u6587\ufffe"]


def _patchers(tmp_path, ns: bytes):
    book = tmp_path / "s.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    wb.save(book)
    zin = zipfile.ZipFile(book)
    out = []
    for _ in range(2):
        pt = SheetPatcher(Cursor(iter([])), None, 1, set(), Styles(zin), False)
        pt.use_prefix(ns)
        out.append(pt)
    return zin, out


def _row(rng: random.Random, p: bytes, r: int) -> tuple[bytes, bytes]:
    ncells = rng.randint(0, 6)
    cols = sorted(rng.sample(range(1, 12), ncells))
    body = b"".join(b"<" + p + b'c r="' + openpyxl.utils.get_column_letter(c).encode() + str(r).encode()
                    + b'" t="s"><' + p + b"v>" + str(c).encode() + b"</" + p + b"v></" + p + b"c>" for c in cols)
    if rng.random() < 0.5:
        tag = b"<" + p + b'row r="' + str(r).encode() + b'" spans="1:' + str(max(cols, default=1)).encode() + b'">'
    else:
        tag = b"<" + p + b'row r="' + str(r).encode() + b'">'
    return tag, body


def test_appended_pieces_equal_the_cell_by_cell_xml(tmp_path):
    rng = random.Random(21)
    for ns in (b"", b"x"):
        zin, (fast, plain) = _patchers(tmp_path, ns)
        p = fast.p
        taken = 0
        for r in range(2, 3000):
            tag, body = _row(rng, p, r)
            first = rng.randint(8, 14)
            cols = list(range(first, first + rng.randint(1, 16)))
            if rng.random() < 0.2:
                rng.shuffle(cols)  # the dict's order need not be the columns' order
            writes = {c: rng.choice(VALUES) for c in cols}
            rs = str(r).encode()
            last = max((c for c in range(1, 12) if b'r="' + openpyxl.utils.get_column_letter(c).encode() + rs
                        in body), default=0)
            fast.plan.writes = plain.plan.writes = writes
            got = fast._append_only(tag, body, rs, last, writes, r)
            want = plain._patch_row_cells(tag, body, r, rs, last, writes)
            if got is not None:
                taken += 1
                assert got == want, (r, writes)
        assert taken > 2000  # the new path was the one tested
        assert fast.styles._cache == plain.styles._cache  # the same date formats were added
        zin.close()


def test_whole_sheet_is_the_same_as_without_pieces(tmp_path, monkeypatch):
    """A sheet with shared strings, a formula, gaps and rows of different lengths, rewritten both ways."""
    rng = random.Random(7)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["订单编号", "客户名称", "数量", "备注"])
    for r in range(2, 400):
        if r % 37 == 0:
            continue  # a gap: no row element
        ws.cell(r, 1, f"SO-{r}")
        if r % 3:
            ws.cell(r, 2, f"客户{r % 11}")
        if r % 5 == 0:
            ws.cell(r, 3, f"=2*{r}")
        elif r % 2:
            ws.cell(r, 3, r * 1.5)
        if r % 7 == 0:
            ws.cell(r, 4, "note")
    src = tmp_path / "src.xlsx"
    wb.save(src)
    rows = []
    for r in range(2, 420):
        writes = {c: rng.choice(VALUES) for c in range(5, 5 + rng.randint(1, 12))}
        if r % 41 == 0:
            writes[3] = "over"  # a user cell overwritten: the cell-by-cell path
        rows.append((r, writes))
    outs = []
    for use_pieces in (True, False):
        book = tmp_path / f"out-{use_pieces}.xlsx"
        book.write_bytes(src.read_bytes())
        if not use_pieces:
            monkeypatch.setattr(SheetPatcher, "_append_only", lambda self, *a: None)
        write_rows(book, "订单确认单", 1, {}, iter(rows), (2, 419, 3, 16), backup_dir=None)
        with zipfile.ZipFile(book) as zf:
            outs.append({n: zf.read(n) for n in zf.namelist()})
    assert outs[0] == outs[1]
    assert sheet_stream  # the module under test
