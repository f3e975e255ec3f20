"""Slow tier: LibreOffice, an independent spreadsheet application, opens a workbook our writer
rewrote (the sheet part re-deflated, every other part copied as its compressed bytes) and sees the
written cells beside the untouched ones, on both sheets."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from support.libreoffice import recalculated
from xl_addin.adapters.workbook.xml_patch import write_cells

pytestmark = pytest.mark.slow


def test_libreoffice_reads_a_rewritten_workbook(tmp_path):
    (tmp_path / "desk").mkdir()
    book = tmp_path / "desk" / "orders.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["订单号", "收件人地址"])
    for i in range(1, 51):
        ws.append([f"DD{i:04d}", f"北京市朝阳区建国路{i}号"])
    other = wb.create_sheet("备注")
    other.append(["别动", 42])
    wb.save(book)

    write_cells(book, "订单确认单", 1, {3: "校验结果"}, {(r, 3): f"通过{r}" for r in range(2, 52)}, backup_dir=None)

    got = recalculated(book, tmp_path)
    sheet = got["订单确认单"]
    assert [c.value for c in sheet[1]] == ["订单号", "收件人地址", "校验结果"]
    assert [c.value for c in sheet[51]] == ["DD0050", "北京市朝阳区建国路50号", "通过51"]
    assert [c.value for c in got["备注"][1]] == ["别动", 42]
