"""One contract for every workbook port: the file adapter, the in-memory one, and the live (xlwings) adapter.

Excel cannot run here, so the live adapter drives a small in-memory stand-in for the part of the
xlwings Book/Sheet/Range/App surface it uses. The stand-in parses strings the way Excel parses
``Range.Value`` input (formulas, numbers, booleans, the quote prefix), so "text stays text" is a
real check, and it counts range calls so "never cell by cell" is one too.
"""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from xl_addin.adapters.workbook.schema import Column, SheetSchema
from xl_addin.errors import WorkbookError
from xl_addin.excel.live_workbook import LiveWorkbook, column_runs, quoted
from xl_addin.excel.workbook_port import FileWorkbook, MemoryWorkbook

SCHEMA = SheetSchema("订单", "Orders", (
    Column("order_no", "订单编号", ("Order No",), required=True),
    Column("phone", "收货人电话", ("Phone",)),
    Column("received_at", "接收时间"),
    Column("status", "校验状态"),
    Column("note", "问题说明"),
))

GRID = [
    ["订单台账", None, None, None],
    ["Order No", "收货人电话", "客户自己的列", "接收时间"],
    ["SO-1", "13800138000", "备注甲", datetime(2026, 11, 26, 9, 30)],
    [None, None, "只有客户的列", None],
    ["SO-2", 13900139000, None, None],
]


# ---------------------------------------------------------------- a stand-in for xlwings + Excel

class Formula:
    def __init__(self, text):
        self.text = text


def excel_parses(value):
    """What Excel makes of a value given to Range.Value (as if typed)."""
    if not isinstance(value, str):
        return value, False
    if value.startswith("'"):
        return value[1:], True
    if value.startswith(("=", "+", "-", "@")) and len(value) > 1:
        try:
            return float(value), False
        except ValueError:
            return Formula(value), False
    if value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE", False
    try:
        return float(value), False
    except ValueError:
        return value, False


class FakeApp:
    def __init__(self):
        self.screen_updating, self.calculation = True, "automatic"
        self.seen_during_write: list[tuple[bool, str]] = []


class FakeRange:
    def __init__(self, sheet, r1, c1, r2, c2):
        self.sheet, self.r1, self.c1, self.r2, self.c2 = sheet, r1, c1, r2, c2

    @property
    def row(self):
        return self.r1

    @property
    def column(self):
        return self.c1

    @property
    def last_cell(self):
        return FakeRange(self.sheet, self.r2, self.c2, self.r2, self.c2)

    def options(self, ndim=None, **_):
        assert ndim == 2
        return self

    @property
    def value(self):
        self.sheet.calls.append(("get", self.r1, self.c1, self.r2, self.c2))
        out = []
        for r in range(self.r1, self.r2 + 1):
            line = []
            for c in range(self.c1, self.c2 + 1):
                v = self.sheet.cells.get((r, c))
                line.append("#NAME?" if isinstance(v, Formula) else v)
            out.append(line)
        return out

    @value.setter
    def value(self, rows):
        self.sheet.calls.append(("set", self.r1, self.c1, self.r2, self.c2))
        app = self.sheet.book.app
        app.seen_during_write.append((app.screen_updating, app.calculation))
        if self.sheet.fail_on_write:
            raise RuntimeError("COM error")
        assert len(rows) == self.r2 - self.r1 + 1 and all(len(r) == self.c2 - self.c1 + 1 for r in rows)
        for i, line in enumerate(rows):
            for j, v in enumerate(line):
                parsed, _prefix = excel_parses(v)
                if parsed is None or parsed == "":
                    self.sheet.cells.pop((self.r1 + i, self.c1 + j), None)
                else:
                    self.sheet.cells[(self.r1 + i, self.c1 + j)] = parsed


class FakeSheet:
    def __init__(self, book, name, grid):
        self.book, self.name = book, name
        self.cells = {(r + 1, c + 1): v for r, line in enumerate(grid) for c, v in enumerate(line) if v is not None}
        self.calls: list[tuple] = []
        self.fail_on_write = False

    @property
    def used_range(self):
        rows = max((r for r, _ in self.cells), default=1)
        cols = max((c for _, c in self.cells), default=1)
        return FakeRange(self, 1, 1, rows, cols)

    def range(self, a, b=None):
        b = b or a
        return FakeRange(self, a[0], a[1], b[0], b[1])


class FakeSheets(list):
    def __getitem__(self, key):
        if isinstance(key, str):
            return next(s for s in self if s.name == key)
        return super().__getitem__(key)


class FakeBook:
    def __init__(self, sheets: dict[str, list[list]]):
        self.app = FakeApp()
        self.fullname = r"C:\desk\订单确认单.xlsx"
        self.sheets = FakeSheets(FakeSheet(self, n, g) for n, g in sheets.items())


# ---------------------------------------------------------------- the adapters under one contract

def _file(tmp_path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, grid in sheets.items():
        ws = wb.create_sheet(name)
        for line in grid:
            ws.append(line)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return FileWorkbook(path, backup_dir=tmp_path / "backup")


def _memory(tmp_path, sheets):
    return MemoryWorkbook(sheets)


def _live(tmp_path, sheets):
    return LiveWorkbook(FakeBook(sheets))


@pytest.fixture(params=[_file, _memory, _live], ids=["file", "memory", "live"])
def make(request, tmp_path):
    return lambda sheets: request.param(tmp_path, sheets)


def test_reads_by_header_names_wherever_the_header_is(make):
    port = make({"其他": [["x"]], "订单": GRID})
    table = port.read_table(SCHEMA)
    assert table.sheet == "订单" and table.header_row == 2
    assert table.columns == {"order_no": 1, "phone": 2, "received_at": 4}
    assert set(table.missing) == {"status", "note"} and table.last_column == 4
    assert [r.row for r in table.rows] == [3, 5]  # the row with only the user's own column is skipped
    first, second = table.rows
    assert first.values == {"order_no": "SO-1", "phone": "13800138000", "received_at": datetime(2026, 11, 26, 9, 30)}
    assert second.values["phone"] == 13900139000 and type(second.values["phone"]) is int


def test_a_missing_required_column_is_a_workbook_error(make):
    port = make({"订单": [["收货人电话"], ["138"]]})
    with pytest.raises(WorkbookError):
        port.read_table(SCHEMA)
    with pytest.raises(WorkbookError):
        port.read_table(SCHEMA, sheet_name="没有这个表")


def test_writes_cells_and_new_headers_and_keeps_the_users_cells(make):
    port = make({"订单": GRID})
    table = port.read_table(SCHEMA)
    port.write_cells(table.sheet, table.header_row, {5: "校验状态", 6: "问题说明"},
                     {(3, 5): "通过", (5, 5): "有问题", (5, 6): "电话位数不对", (3, 2): None})
    again = port.read_table(SCHEMA)
    assert again.columns["status"] == 5 and again.columns["note"] == 6
    by_row = {r.row: r.values for r in again.rows}
    assert by_row[3]["status"] == "通过" and by_row[3]["phone"] is None
    assert by_row[5]["note"] == "电话位数不对"
    assert by_row[3]["received_at"] == datetime(2026, 11, 26, 9, 30)
    # the user's own column is untouched (read it with a schema that names it)
    own = SheetSchema("订单", "Orders", (Column("mine", "客户自己的列", required=True),))
    assert [r.values["mine"] for r in port.read_table(own).rows] == ["备注甲", "只有客户的列"]


@pytest.mark.parametrize("text", ["=1+2", "+8613800138000", "-5", "@SUM(A1)", "'quoted", "00123",
                                  "2026-11-26", "TRUE", "#N/A", "\t=cmd"])
def test_outside_text_stays_text(make, text):
    port = make({"订单": GRID})
    port.write_cells("订单", 2, {5: "校验状态"}, {(3, 5): text})
    row = next(r for r in port.read_table(SCHEMA).rows if r.row == 3)
    assert row.values["status"] == text


def test_dates_round_trip(make):
    port = make({"订单": GRID})
    when = datetime(2026, 12, 1, 8, 15)
    port.write_cells("订单", 2, {}, {(5, 4): when})
    assert next(r for r in port.read_table(SCHEMA).rows if r.row == 5).values["received_at"] == when


def test_writing_to_a_missing_sheet_is_refused(make):
    port = make({"订单": GRID})
    with pytest.raises(WorkbookError):
        port.write_cells("没有这个表", 2, {}, {(3, 1): "x"})


# ---------------------------------------------------------------- the live adapter's own promises

def test_live_reads_one_range_and_writes_one_range_per_column_run():
    book = FakeBook({"订单": GRID})
    port = LiveWorkbook(book)
    port.read_table(SCHEMA)
    sheet = book.sheets["订单"]
    assert [c[0] for c in sheet.calls] == ["get"]
    sheet.calls.clear()
    cells = {(r, 5): f"ok{r}" for r in range(3, 1003)} | {(r, 6): "x" for r in (3, 4, 10)}
    port.write_cells("订单", 2, {5: "校验状态"}, cells)
    writes = [c for c in sheet.calls if c[0] == "set"]
    # column 5: header row 2 + rows 3..1002 in one range; column 6: rows 3-4, then row 10
    assert writes == [("set", 2, 5, 1002, 5), ("set", 3, 6, 4, 6), ("set", 10, 6, 10, 6)]


def test_live_pauses_screen_and_calculation_for_large_writes_and_restores_them():
    book = FakeBook({"订单": GRID})
    book.app.calculation = "semiautomatic"
    LiveWorkbook(book).write_cells("订单", 2, {}, {(r, 5): "x" for r in range(3, 200)})
    assert book.app.seen_during_write == [(False, "manual")]
    assert (book.app.screen_updating, book.app.calculation) == (True, "semiautomatic")
    LiveWorkbook(book).write_cells("订单", 2, {}, {(3, 5): "y"})  # small: settings untouched
    assert book.app.seen_during_write[-1] == (True, "semiautomatic")


def test_live_restores_settings_when_the_write_fails():
    book = FakeBook({"订单": GRID})
    book.sheets["订单"].fail_on_write = True
    with pytest.raises(RuntimeError):
        LiveWorkbook(book).write_cells("订单", 2, {}, {(r, 5): "x" for r in range(3, 200)})
    assert book.app.seen_during_write == [(False, "manual")]
    assert (book.app.screen_updating, book.app.calculation) == (True, "automatic")


def test_quoting_leaves_plain_words_alone():
    assert quoted("已签收") == "已签收" and quoted("广东省深圳市南山区") == "广东省深圳市南山区"
    assert quoted("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and quoted("13800138000") == "'13800138000"


def test_column_runs_split_gaps():
    assert column_runs({(5, 2): "b", (3, 1): "a", (4, 1): "a2", (7, 1): "c"}) == [
        (1, 3, ["a", "a2"]), (1, 7, ["c"]), (2, 5, ["b"])]
