"""The workbook port's delete_rows: the file (streaming removal), the memory grid and the live book
(through Excel's own row delete) leave the same rows, in the same order."""

from __future__ import annotations

from openpyxl import Workbook, load_workbook

from xl_addin.excel.live_workbook import LiveWorkbook, row_blocks
from xl_addin.excel.workbook_port import FileWorkbook, MemoryWorkbook

GRID = [["订单编号", "金额"]] + [[f"SO{i}", i] for i in range(1, 11)]
DOOMED = [3, 4, 5, 9, 11]


def test_row_blocks_bottom_first():
    assert row_blocks([3, 4, 5, 9, 11, 4]) == [(11, 11), (9, 9), (3, 5)]


def test_file_and_memory_agree(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "订单"
    for line in GRID:
        ws.append(line)
    wb.save(tmp_path / "b.xlsx")
    assert FileWorkbook(tmp_path / "b.xlsx").delete_rows("订单", DOOMED) == 5
    file_rows = [[c.value for c in r] for r in load_workbook(tmp_path / "b.xlsx")["订单"].iter_rows()]
    mem = MemoryWorkbook({"订单": GRID})
    assert mem.delete_rows("订单", DOOMED) == 5
    assert mem.sheets["订单"] == file_rows
    assert [r[0] for r in file_rows] == ["订单编号", "SO1", "SO5", "SO6", "SO7", "SO9"]


class _EntireRow:
    def __init__(self, sheet, first, last):
        self.sheet, self.first, self.last = sheet, first, last

    def Delete(self):  # noqa: N802 - Excel's COM name (Range.EntireRow.Delete)
        del self.sheet.grid[self.first - 1:self.last]
        self.sheet.calls.append((self.first, self.last))


class _Api:
    def __init__(self, sheet, address):
        first, last = (int(x) for x in address.split(":"))
        self.EntireRow = _EntireRow(sheet, first, last)


class _Range:
    def __init__(self, sheet, address):
        self.api = _Api(sheet, address)


class _Sheet:
    def __init__(self, name, grid):
        self.name, self.grid, self.calls = name, [list(r) for r in grid], []

    def range(self, address):
        return _Range(self, address)


class _App:
    screen_updating = True
    calculation = "automatic"


class _Book:
    """What LiveWorkbook uses of xlwings.Book: sheets by name, app settings, Range("a:b").api.EntireRow.Delete()."""

    fullname = "C:\\desk\\订单确认单.xlsx"

    def __init__(self, grid):
        self.app = _App()
        self._sheet = _Sheet("订单", grid)
        self.sheets = _Sheets(self._sheet)


class _Sheets(list):
    def __init__(self, sheet):
        super().__init__([sheet])

    def __getitem__(self, key):
        return self[0] if isinstance(key, str) else list.__getitem__(self, key)


def test_live_book_deletes_bottom_up_one_call_per_block():
    book = _Book(GRID)
    assert LiveWorkbook(book).delete_rows("订单", DOOMED) == 5
    assert book._sheet.calls == [(11, 11), (9, 9), (3, 5)]
    assert book._sheet.grid == MemoryWorkbook({"订单": GRID}).sheets["订单"][:1] + [GRID[i - 1] for i in (2, 6, 7, 8, 10)]
    assert book.app.screen_updating is True and book.app.calculation == "automatic"   # restored
