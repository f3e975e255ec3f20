"""Hidden rows and uncached formulas come from the limits pass (one inflate of the sheet), the same as
the patterns over the whole sheet XML at once — also when the pass's regions cut rows and cells apart."""

from __future__ import annotations

import random
import re
import zipfile

import openpyxl
import pytest

from xl_addin.adapters.workbook import limits, reader
from xl_addin.adapters.workbook.cells import col_index


def _whole(xml: bytes) -> tuple[set[int], set[tuple[int, int]]]:
    """The definition: every hidden row tag, every cell with a formula and no value, over the whole text."""
    hidden = {int(re.search(rb'\sr="(\d+)"', m.group(0)).group(1)) for m in reader._HIDDEN_ROW.finditer(xml)}
    no_cache = set()
    for m in reader._CELL.finditer(xml):
        body = m.group(2)
        if body and reader._FORMULA.search(body) and not reader._VALUE.search(body):
            rm = reader._CELL_REF.search(m.group(1))
            no_cache.add((int(rm.group(2)), col_index(rm.group(1))))
    return hidden, no_cache


def _book(path, rng: random.Random):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["订单编号", "客户名称", "数量", "金额"])
    for r in range(2, 300):
        ws.cell(r, 1, f"SO-{r}")
        ws.cell(r, 2, rng.choice(["甲", "乙 <&>", "丙"]))
        if rng.random() < 0.3:
            ws.cell(r, 3, f"=B{r}&\"x\"")  # openpyxl writes no cached value
        else:
            ws.cell(r, 3, r)
        if rng.random() < 0.1:
            ws.cell(r, 4 + rng.randint(0, 30), "=1+1")
        if rng.random() < 0.1:
            ws.row_dimensions[r].hidden = True
    wb.save(path)


@pytest.mark.parametrize("chunk", [300, 1000, 4 * 1024 * 1024])
def test_facts_from_the_limits_pass_equal_the_whole_text(tmp_path, monkeypatch, chunk):
    rng = random.Random(chunk)
    path = tmp_path / "o.xlsx"
    _book(path, rng)
    monkeypatch.setattr(limits, "_CHUNK", chunk)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    want = _whole(xml)
    assert want[0] and want[1]  # the sheet has both
    facts = reader._SheetFacts()
    reader.check_extent(path, "订单确认单", facts.visit)
    facts.visit(b"", final=True)
    assert (facts.hidden, facts.no_cache) == want


def test_prefixed_sheet_xml_is_seen_whole(tmp_path):
    """A sheet written with an ``x:`` prefix has no ``</row>``: the facts wait for the last region."""
    path = tmp_path / "o.xlsx"
    _book(path, random.Random(3))
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"]
    xml = re.sub(rb"<(/?)(?!\?)([a-zA-Z]+)", rb"<\1x:\2", xml).replace(b"xmlns=", b"xmlns:x=")
    parts["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    facts = reader._SheetFacts()
    reader.check_extent(path, "订单确认单", facts.visit)
    facts.visit(b"", final=True)
    assert (facts.hidden, facts.no_cache) == _whole(xml)
    assert facts.hidden
