"""The product's columns land only where its labels are or after the sheet's last used column.

The staff's unlabelled notes right of the header and a formula column whose formulas have no cached
value (a file saved by a program that does not calculate) used to be taken for free columns.
Checked cell by cell with openpyxl after a real ``validate`` run.
"""

from __future__ import annotations

import openpyxl
import pytest

from tests.robustness.helpers import NOW
from xl_addin.entrypoints.cli import main

HEADER = ["订单编号", "客户名称", "货物名称", "数量", "收货人", "收货人电话", "收货地址"]


def _staff_book(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(HEADER)
    for i in range(12):
        ws.append([f"SO{i:04d}", "客户甲", "马克杯", 2, "张三", "13800138000", f"浙江省杭州市西湖区文三路{i + 1}号"])
    ws["H3"] = "客户说下午再打"          # unlabelled note right of the header
    ws["H9"] = "已催"
    ws["I1"] = "=\"手工\"&\"合计\""       # a formula as header label, no cached value
    for r in range(2, 14):
        ws.cell(r, 9).value = f"=D{r}*2"  # a staff formula column, no cached values
    ws["I2"].number_format = "0.00"
    wb.save(path)
    return path


def _snapshot(path):
    ws = openpyxl.load_workbook(path)["订单确认单"]
    return {(c.row, c.column): (c.value, c.number_format) for row in ws.iter_rows() for c in row if c.value is not None}


@pytest.mark.parametrize("extra", [[], ["--no-write"]])
def test_validate_never_writes_onto_staff_notes_or_formulas(tmp_path, capsys, extra):
    path = _staff_book(tmp_path / "订单.xlsx")
    before = _snapshot(path)
    code = main(["validate", str(path), "--now", NOW, "--desk", str(tmp_path), *extra])
    capsys.readouterr()
    assert code in (0, 1)
    after = _snapshot(path)
    for cell, value in before.items():
        assert after.get(cell) == value, f"staff cell {cell} changed: {value} -> {after.get(cell)}"
    if not extra:
        ws = openpyxl.load_workbook(path)["订单确认单"]
        labels = {c.column: c.value for c in ws[1] if c.value is not None}
        assert labels[10] == "校验状态"  # the first product column comes after I, the last used column
        assert min(c for c in labels if c > 9) == 10
