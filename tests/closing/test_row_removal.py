"""Rows removed from a workbook file as Excel's "Delete rows" would leave it: every reference kind.

The workbooks are real files written by openpyxl (and one shared formula written the way Excel
stores it); the result is read back with openpyxl, an independent reader of the package."""

from __future__ import annotations

import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from xl_addin.adapters.workbook.row_removal import RowMap, adjust_formula, adjust_ranges, remove_rows

S = "订单确认单"
OTHER = "汇总 表"  # a name that needs quoting


# ---------------------------------------------------------------- the references, one by one

@pytest.mark.parametrize("formula,expected,broke", [
    ('=A5&"-"&E5', '=A3&"-"&E3', False),              # same row, below the removed block
    ("=A2", "=A2", False),                              # above it: unchanged
    ("=A3", "=#REF!", True),                            # a removed row
    ("=B6-B5", "=B4-B3", False),                         # cross-row
    ("=B5-B4", "=B3-#REF!", True),
    ("=$B$6*2", "=$B$4*2", False),                       # absolute
    ("=B$6+$B7", "=B$4+$B5", False),                     # mixed
    ("=SUM(B2:B10)", "=SUM(B2:B8)", False),              # a range spanning the block shrinks
    ("=SUM(B3:B4)", "=SUM(#REF!)", True),                # a range wholly removed
    ("=SUM(B4:B9)", "=SUM(B3:B7)", False),               # starts inside the block
    ("=SUM(B1:B3)", "=SUM(B1:B2)", False),               # ends inside the block
    ("=SUM(B:B)", "=SUM(B:B)", False),                   # whole column
    ("=SUM(2:6)", "=SUM(2:4)", False),                   # whole rows
    ("=SUM(T1[金额])", "=SUM(T1[金额])", False),          # a table column
    ("=SUM(B1:B1048576)", "=SUM(B1:B1048576)", False),   # to the sheet's end
    (f"='{OTHER}'!B5", f"='{OTHER}'!B5", False),         # another sheet's rows do not move
    (f"={S}!B5+'{S}'!C6", f"={S}!B3+'{S}'!C4", False),   # qualified references to the sheet
    ('=IF(A7>0,"第3行","")', '=IF(A5>0,"第3行","")', False),  # text is not a reference
    ("=LOG10(B5)", "=LOG10(B3)", False),                 # a function name that looks like a cell
])
def test_formula_on_the_sheet(formula, expected, broke):
    assert adjust_formula(formula, S, {S.lower(): RowMap([3, 4])}) == (expected, broke)


def test_formula_on_another_sheet():
    maps = {S.lower(): RowMap([3, 4])}
    assert adjust_formula(f"={S}!B5*B5", OTHER, maps) == (f"={S}!B3*B5", False)
    assert adjust_formula(f"=SUM('{S}'!B3:B4)", OTHER, maps) == ("=SUM(#REF!)", True)
    assert adjust_formula("=B5", OTHER, maps) == ("=B5", False)


def test_ranges_list():
    m = RowMap([3, 4])
    assert adjust_ranges("A2:F10 H3:H4 J5", m) == "A2:F8 J3"
    assert adjust_ranges("A3:A4", m) == ""


# ---------------------------------------------------------------- a whole workbook

def make_book(path, rows=10, shared=False):
    """Title merged over A1:F1, header row 2, order rows 3.., staff formula columns, a table, CF, DV,
    defined names, a summary sheet referring to the order rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = S
    ws["A1"] = "订单确认单（客服部）"
    ws.merge_cells("A1:F1")
    ws.append(["订单编号", "金额", "数量", "客户", "状态", "备注", "编号-状态", "累计", "金额×2", "汇总引用"])
    for i in range(rows):
        r = i + 3
        ws.append([f"SO{i:03d}", 10 * (i + 1), i + 1, f"客户{i}", "x" if i % 2 else "y", None,
                   f'=A{r}&"-"&E{r}', f"=B{r}+H{r - 1}" if i else f"=B{r}", f"=B{r}*$K$1", f"='{OTHER}'!A1"])
    ws["K1"] = 2
    last = rows + 2
    tab = Table(displayName="T1", ref=f"A2:J{last}")
    tab.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2")
    ws.add_table(tab)
    ws.conditional_formatting.add(f"A3:F{last}", FormulaRule(formula=['$E3="x"'], fill=PatternFill("solid", "FFFF00")))
    dv = DataValidation(type="list", formula1='"x,y"', allow_blank=True)
    dv.add(f"E3:E{last}")
    ws.add_data_validation(dv)
    ws.merge_cells("F5:F6")
    o = wb.create_sheet(OTHER)
    o["A1"] = 100
    o["B1"] = f"=SUM({S}!B3:B{last})"
    o["B2"] = f"={S}!B5"
    o["B3"] = f"='{S}'!B3"
    o["B4"] = "=SUM(T1[金额])"
    o["B5"] = f"=SUM({S}!B:B)"
    o["B6"] = "=SUM(金额列)"
    wb.defined_names["金额列"] = DefinedName("金额列", attr_text=f"'{S}'!$B$3:$B${last}")
    wb.defined_names["首单"] = DefinedName("首单", attr_text=f"'{S}'!$A$3")
    wb.save(path)
    if shared:  # store column G the way Excel does: one shared formula over the column
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        for i in range(rows):
            r = i + 3
            old = f'<c r="G{r}"><f>A{r}&amp;"-"&amp;E{r}</f><v></v></c>'
            assert old in xml, xml[:2000]
            new = (f'<c r="G{r}" t="str"><f t="shared" ref="G3:G{last}" si="0">A3&amp;"-"&amp;E3</f><v>x</v></c>'
                   if i == 0 else f'<c r="G{r}" t="str"><f t="shared" si="0"/><v>x</v></c>')
            xml = xml.replace(old, new)
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in parts.items():
                z.writestr(n, d)
    return path


def test_remove_rows_moves_everything(tmp_path):
    path = make_book(tmp_path / "book.xlsx")
    counts = remove_rows(path, {S: [3, 4, 9]}, backup_dir=tmp_path / "bak")
    assert counts == {S: 3}
    wb = load_workbook(path)
    ws = wb[S]
    ids = [ws.cell(r, 1).value for r in range(3, ws.max_row + 1)]
    assert ids == ["SO002", "SO003", "SO004", "SO005", "SO007", "SO008", "SO009"]
    assert ws.max_row == 9
    assert ws["G3"].value == '=A3&"-"&E3' and ws["G9"].value == '=A9&"-"&E9'   # same-row follows the row
    assert ws["I4"].value == "=B4*$K$1"                                         # absolute stays put
    assert ws["H3"].value == "=B3+#REF!"          # SO002's "row above" (SO001) is gone
    assert ws["H7"].value == "=B7+#REF!" and ws["H8"].value == "=B8+H7"
    assert ws["J3"].value == f"='{OTHER}'!A1"
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A1:F1", "F3:F4"]
    assert ws.tables["T1"].ref == "A2:J9"
    cf = list(ws.conditional_formatting)
    assert [str(c.sqref) for c in cf] == ["A3:F9"] and cf[0].rules[0].formula == ['$E3="x"']
    assert [str(d.sqref) for d in ws.data_validations.dataValidation] == ["E3:E9"]
    o = wb[OTHER]
    assert o["B1"].value == f"=SUM({S}!B3:B9)"
    assert o["B2"].value == f"={S}!B3"            # SO002 was row 5
    assert o["B3"].value == "=#REF!"               # SO000 was removed
    assert o["B4"].value == "=SUM(T1[金额])" and o["B5"].value == f"=SUM({S}!B:B)"
    assert wb.defined_names["金额列"].attr_text == f"'{S}'!$B$3:$B$9"
    assert wb.defined_names["首单"].attr_text == "#REF!"
    assert wb.calculation.fullCalcOnLoad is True
    assert len(list((tmp_path / "bak").iterdir())) == 1


def test_cached_value_of_a_broken_formula_is_ref_error(tmp_path):
    path = make_book(tmp_path / "book.xlsx")
    remove_rows(path, {S: [3]}, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet2.xml").decode()
    cell = re.search(r'<c r="B3"[^>]*>.*?</c>', xml).group(0)
    assert 't="e"' in cell and "<v>#REF!</v>" in cell


def test_shared_formula_is_expanded_when_its_anchor_goes(tmp_path):
    path = make_book(tmp_path / "book.xlsx", shared=True)
    remove_rows(path, {S: [3, 4]}, backup_dir=None)
    ws = load_workbook(path)[S]
    assert [ws.cell(r, 7).value for r in range(3, 11)] == [f'=A{r}&"-"&E{r}' for r in range(3, 11)]


def test_a_merge_shrunk_to_one_cell_is_dropped(tmp_path):
    path = make_book(tmp_path / "book.xlsx")
    remove_rows(path, {S: [5]}, backup_dir=None)           # F5:F6 loses its top row
    assert sorted(str(r) for r in load_workbook(path)[S].merged_cells.ranges) == ["A1:F1"]


def test_cf_anchored_on_a_removed_row_keeps_meaning(tmp_path):
    path = make_book(tmp_path / "book.xlsx")
    remove_rows(path, {S: [3]}, backup_dir=None)
    cf = list(load_workbook(path)[S].conditional_formatting)
    assert str(cf[0].sqref) == "A3:F11" and cf[0].rules[0].formula == ['$E3="x"']


def test_all_body_rows_removed_leaves_table_header_and_one_row(tmp_path):
    path = make_book(tmp_path / "book.xlsx", rows=3)
    remove_rows(path, {S: [3, 4, 5]}, backup_dir=None)
    wb = load_workbook(path)
    ws = wb[S]
    assert ws.tables["T1"].ref == "A2:J3"
    assert ws.max_row == 2 or all(c.value is None for c in ws[3])
    assert list(ws.conditional_formatting) == [] and ws.data_validations.dataValidation == []
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<dataValidations" not in xml and "<mergeCells" in xml   # no empty container left; the title stays
    assert wb[OTHER]["B1"].value == "=SUM(#REF!)"


def test_no_rows_leaves_file_untouched_and_missing_sheet_refused(tmp_path):
    from xl_addin.errors import WorkbookError

    path = make_book(tmp_path / "book.xlsx")
    before = path.read_bytes()
    assert remove_rows(path, {S: []}, backup_dir=None) == {}
    with pytest.raises(WorkbookError, match="没有名为"):
        remove_rows(path, {"不存在": [3]}, backup_dir=None)
    assert path.read_bytes() == before


def test_untouched_sheet_rows_are_copied_byte_for_byte(tmp_path):
    path = make_book(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as z:
        before = z.read("xl/styles.xml"), z.read("xl/worksheets/sheet1.xml")
    remove_rows(path, {S: [12]}, backup_dir=None)   # the last row: nothing below moves
    with zipfile.ZipFile(path) as z:
        styles, sheet = z.read("xl/styles.xml"), z.read("xl/worksheets/sheet1.xml")
    assert styles == before[0]
    head = before[1].split(b'<row r="12"')[0]
    assert sheet.startswith(head.split(b"<dimension")[0]) and b'<row r="11"' in sheet and b'<row r="12"' not in sheet


X14 = ('<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" '
       'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
       '<x14:conditionalFormattings><x14:conditionalFormatting '
       'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
       '<x14:cfRule type="expression" priority="9" id="{00000000-0000-0000-0000-000000000001}">'
       "<xm:f>'汇总 表'!$A$1&lt;$B5</xm:f><x14:dxf/></x14:cfRule><xm:sqref>B5:B12</xm:sqref>"
       "</x14:conditionalFormatting></x14:conditionalFormattings></ext>"
       '<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
       'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
       '<x14:dataValidations xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" count="2">'
       '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>订单确认单!$D$3:$D$12</xm:f>'
       "</x14:formula1><xm:sqref>F3:F12</xm:sqref></x14:dataValidation>"
       '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>订单确认单!$D$3:$D$4</xm:f>'
       "</x14:formula1><xm:sqref>F3:F4</xm:sqref></x14:dataValidation>"
       "</x14:dataValidations></ext></extLst>")


def test_excel_2010_extension_formats_and_validations_move(tmp_path):
    """Excel writes a validation or format that refers to another sheet in the x14 extension form."""
    path = make_book(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</worksheet>", X14 + "</worksheet>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    remove_rows(path, {S: [3, 4]}, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    ext = xml[xml.index("<extLst>"):]
    assert "<xm:sqref>B3:B10</xm:sqref>" in ext and "<xm:f>'汇总 表'!$A$1&lt;$B3</xm:f>" in ext
    assert "<xm:f>订单确认单!$D$3:$D$10</xm:f>" in ext and "<xm:sqref>F3:F10</xm:sqref>" in ext
    assert ext.count("<x14:dataValidation ") == 1 and 'count="1"' in ext      # the wholly removed one is gone
    assert load_workbook(path)[S]["A3"].value == "SO002"                      # openpyxl still opens it


def test_notes_move_with_their_cells_and_go_with_removed_rows(tmp_path):
    from openpyxl.comments import Comment

    path = tmp_path / "notes.xlsx"
    make_book(path)
    wb = load_workbook(path)
    ws = wb[S]
    ws["D3"].comment = Comment("第一单的备注", "客服")
    ws["D8"].comment = Comment("要求周末送", "客服")
    wb.save(path)
    remove_rows(path, {S: [3, 4]}, backup_dir=None)
    ws = load_workbook(path)[S]
    notes = {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment}
    assert notes == {"D6": "要求周末送"}
    with zipfile.ZipFile(path) as z:
        vml = next(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    rows = re.findall(r"<(?:\w+:)?Row>(\d+)</(?:\w+:)?Row>", vml)
    assert rows == ["5"]                      # 0-based row of D6


def test_chart_series_follow_the_rows(tmp_path):
    from openpyxl.chart import BarChart, Reference

    path = tmp_path / "chart.xlsx"
    make_book(path)
    wb = load_workbook(path)
    ws = wb[S]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=3, max_row=12))
    wb[OTHER].add_chart(chart, "D2")
    wb.save(path)
    remove_rows(path, {S: [3, 4]}, backup_dir=None)
    with zipfile.ZipFile(path) as z:
        xml = next(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    assert re.findall(r"<(?:\w+:)?f>(.*?)</(?:\w+:)?f>", xml) == [f"'{S}'!$B$3:$B$10"]


def test_a_formula_that_cannot_be_read_names_sheet_row_column_and_leaves_the_file(tmp_path, monkeypatch):
    from xl_addin.adapters.workbook import row_shift
    from xl_addin.errors import WorkbookError

    path = make_book(tmp_path / "book.xlsx")
    before = path.read_bytes()
    real = row_shift._shape
    monkeypatch.setattr(row_shift, "_shape",                          # as if the tokenizer could not split
                        lambda formula: None if "&" in formula else real(formula))   # the staff's G column
    with pytest.raises(WorkbookError) as err:
        remove_rows(path, {S: [3]}, backup_dir=None)
    text = str(err.value)
    assert str(path) in text and f"「{S}」第4行 G列" in text and "未做任何删除" in text
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
