"""The fast writer: only owned cells change; the user's formulas, fills, notes, sheets and tables survive."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.worksheet.table import Table

from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.adapters.workbook.schema import PRODUCT, Column, SheetSchema
from xl_addin.adapters.workbook.xml_patch import write_cells

SCHEMA = SheetSchema(
    name="订单确认单", table="Orders",
    columns=(
        Column("order_no", "订单编号", ("Order No",), required=True),
        Column("customer", "客户名称", ("Customer",), required=True),
        Column("quantity", "数量", ("Qty",)),
        Column("check_status", "检查结果", ("Check Status",), owner=PRODUCT),
        Column("problems", "问题说明", ("Problems",), owner=PRODUCT),
        Column("checked_at", "检查时间", ("Checked At",), owner=PRODUCT),
    ),
)
YELLOW = "FFFFFF00"


def _user_book(path: Path) -> Path:
    """A loose user file: title row, header, their own formula column with a fill, a note, a 2nd sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["五月订单"])
    ws.append(["订单编号", "客户名称", "数量", "金额(我的)"])
    for i in range(1, 6):
        ws.append([f"SO-{i:03d}", f"客户{i}", i * 2, f"=C{i + 2}*100"])
        ws.cell(i + 2, 4).fill = PatternFill("solid", fgColor=YELLOW)
    ws["C3"].number_format = "0.00"
    ws["B3"].comment = Comment("大客户，优先发货", "王经理")
    other = wb.create_sheet("汇总")
    other["A1"] = "合计"
    other["B1"] = "=SUM(订单确认单!C3:C7)"
    wb.save(path)
    return path


def _results(table, values: dict[int, tuple]) -> tuple[dict[int, str], dict[tuple[int, int], object]]:
    first = table.last_column + 1
    keys = ["check_status", "problems", "checked_at"]
    headers = {first + i: SCHEMA.column(k).label for i, k in enumerate(keys)}
    cells = {(row, first + i): v for row, vals in values.items() for i, v in enumerate(vals)}
    return headers, cells


def test_loose_file_gets_product_columns_after_users_last_column_and_keeps_everything(tmp_path):
    path = _user_book(tmp_path / "orders.xlsx")
    t = read_sheet(path, SCHEMA)
    assert t.last_column == 4 and set(t.missing) == {"check_status", "problems", "checked_at"}
    when = datetime(2024, 5, 6, 14, 30)
    headers, cells = _results(t, {
        3: ("通过", None, when),
        4: ("有问题", "=HYPERLINK(\"http://evil\")", date(2024, 5, 7)),
        5: ("有问题", "+86 电话缺位\n第二行 & <特殊> 字符", when),
        6: ("待复核", "@SUM(A1)", when),
        7: ("通过", "-1", when),
    })
    write_cells(path, t.sheet, t.header_row, headers, cells, backup_dir=tmp_path / "bak")

    wb = openpyxl.load_workbook(path)
    ws = wb["订单确认单"]
    assert [ws.cell(2, c).value for c in range(1, 8)] == ["订单编号", "客户名称", "数量", "金额(我的)", "检查结果", "问题说明", "检查时间"]
    # the user's formula column and its fill survive
    assert ws["D4"].value == "=C4*100" and ws["D4"].data_type == "f"
    assert ws["D4"].fill.fgColor.rgb == YELLOW
    assert ws["C3"].number_format == "0.00"
    assert ws["B3"].comment is not None and "大客户" in ws["B3"].comment.text
    assert wb["汇总"]["B1"].value == "=SUM(订单确认单!C3:C7)"
    # formula-looking text is text, never a formula
    for ref, text in (("F4", "=HYPERLINK(\"http://evil\")"), ("F6", "@SUM(A1)"), ("F7", "-1")):
        assert ws[ref].value == text and ws[ref].data_type != "f"
    assert ws["F5"].value == "+86 电话缺位\n第二行 & <特殊> 字符"
    assert ws["G3"].value == when and ws["G3"].is_date
    assert ws["G4"].value == datetime(2024, 5, 7) and ws["G4"].is_date
    assert ws["F3"].value is None
    # the header cell copies the style of the user's last header cell; the dimension covers the new columns
    assert ws.max_column == 7 and ws.max_row == 7
    assert len(list((tmp_path / "bak").iterdir())) == 1

    # read back through the same schema: product columns now found by name
    t2 = read_sheet(path, SCHEMA)
    assert t2.columns["check_status"] == 5 and t2.rows[1].values["problems"] == "=HYPERLINK(\"http://evil\")"


def test_rerun_is_idempotent_and_none_empties_a_cell(tmp_path):
    path = _user_book(tmp_path / "orders.xlsx")
    t = read_sheet(path, SCHEMA)
    headers, cells = _results(t, {r: ("有问题", f"第{r}行问题", None) for r in range(3, 8)})
    write_cells(path, t.sheet, t.header_row, headers, cells, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        first = z.read("xl/worksheets/sheet1.xml")
    t = read_sheet(path, SCHEMA)
    write_cells(path, t.sheet, t.header_row, {}, {(r, t.columns["check_status"]): "有问题" for r in range(3, 8)}
                | {(r, t.columns["problems"]): f"第{r}行问题" for r in range(3, 8)}, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/worksheets/sheet1.xml") == first
    write_cells(path, t.sheet, t.header_row, {}, {(3, t.columns["problems"]): None}, backup_dir=None)
    ws = openpyxl.load_workbook(path).active
    assert ws["F3"].value is None and ws["F4"].value == "第4行问题"


def test_overwritten_cell_keeps_its_style_and_other_parts_are_byte_identical(tmp_path):
    path = _user_book(tmp_path / "orders.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["E2"] = "检查结果"
    ws["E3"] = "旧结果"
    ws["E3"].fill = PatternFill("solid", fgColor="FF00B050")
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist()}
    write_cells(path, "订单确认单", 2, {}, {(3, 5): "通过", (4, 5): 42, (5, 5): True}, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert set(after) == set(before)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"xl/worksheets/sheet1.xml"}
    ws = openpyxl.load_workbook(path).active
    assert ws["E3"].value == "通过" and ws["E3"].fill.fgColor.rgb == "FF00B050"
    assert ws["E4"].value == 42 and ws["E5"].value is True


def test_table_grows_over_appended_rows_and_new_columns(tmp_path):
    path = tmp_path / "bind.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["订单编号", "客户名称", "数量"])
    ws.append(["SO-1", "甲", 1])
    ws.append(["SO-2", "乙", 2])
    ws.add_table(Table(displayName="Orders", ref="A1:C3"))
    wb.save(path)
    cells = {(4, 1): "SO-3", (4, 2): "丙", (4, 3): 3, (5, 1): "SO-4", (5, 2): "丁", (5, 3): 4, (4, 4): "通过"}
    write_cells(path, "订单确认单", 1, {4: "检查结果"}, cells, backup_dir=None, append_table_rows=True)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    table = ws.tables["Orders"]
    assert table.ref == "A1:D5"
    assert table.autoFilter is None or table.autoFilter.ref == "A1:D5"
    assert [c.name for c in table.tableColumns] == ["订单编号", "客户名称", "数量", "检查结果"]
    assert [ws.cell(5, c).value for c in range(1, 4)] == ["SO-4", "丁", 4]
    assert read_sheet(path, SCHEMA).rows[-1].values == {"order_no": "SO-4", "customer": "丁", "quantity": 4,
                                                        "check_status": None}


def test_date_style_is_added_once_and_cell_fill_is_kept(tmp_path):
    path = _user_book(tmp_path / "orders.xlsx")
    write_cells(path, "订单确认单", 2, {}, {(3, 4): date(2024, 1, 2), (4, 4): date(2024, 1, 3)}, backup_dir=None)
    ws = openpyxl.load_workbook(path).active
    assert ws["D3"].value == datetime(2024, 1, 2) and ws["D3"].is_date
    assert ws["D3"].fill.fgColor.rgb == YELLOW  # the user's fill is kept on the cloned date style
    assert ws["D3"].style_id == ws["D4"].style_id
