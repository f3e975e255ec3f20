"""The monthly archive with the desk's books open in Excel: the rows leave through Excel's own row delete.

Excel cannot run here. The stand-in below is the part of an xlwings Book the live port uses, loaded
from the real workbook file; ``Range("a:b").api.EntireRow.Delete()`` does what Microsoft documents for
``Range.Delete`` on entire rows (xlShiftUp): the rows go and every row below moves up by their count.
(Excel's adjustment of formulas, formats and names is Excel's own work, not modelled: the cells hold
values.) ``Workbook.Save`` is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from support.archive_month import NOV, build_month
from xl_addin.excel.live_workbook import LiveWorkbook
from xl_addin.services.closing.archive import archive_month
from xl_addin.services.closing.archive_in_excel import removal_through


class _Cell:
    def __init__(self, row, column):
        self.row, self.column = row, column


class _Range:
    def __init__(self, sheet, first, last=None):
        self.sheet, self.first, self.last = sheet, first, last or first

    def options(self, ndim=None, **_):
        return self

    @property
    def value(self):
        (r1, c1), (r2, c2) = self.first, self.last
        return [[(self.sheet.grid[r - 1] + [None] * c2)[c - 1] if r <= len(self.sheet.grid) else None
                 for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]

    @property
    def api(self):
        return self

    @property
    def EntireRow(self):  # noqa: N802 - Excel's COM name
        return self

    def Delete(self):  # noqa: N802 - Range.Delete on entire rows: rows below shift up
        first, last = (int(x) for x in str(self.first).split(":"))
        self.sheet.book.before_delete(self.sheet.name, first, last)
        del self.sheet.grid[first - 1:last]
        self.sheet.book.deletes.append((self.sheet.name, first, last))


class _Sheet:
    def __init__(self, book, name, grid):
        self.book, self.name, self.grid = book, name, grid

    def range(self, first, last=None):
        return _Range(self, first, last)

    @property
    def used_range(self):
        width = max((len(r) for r in self.grid), default=1)
        return type("Used", (), {"last_cell": _Cell(max(len(self.grid), 1), width)})()


class _Sheets(list):
    def __getitem__(self, key):
        if isinstance(key, str):
            return next(s for s in self if s.name == key)
        return list.__getitem__(self, key)


class _App:
    screen_updating, calculation = True, "automatic"


class StandInBook:
    """An xlwings Book over a workbook file's cell values, as Excel would show it when opened."""

    def __init__(self, path: Path, fail_save: bool = False):
        self.fullname, self.app, self.fail_save = str(path), _App(), fail_save
        wb = openpyxl.load_workbook(path, data_only=True)
        self.sheets = _Sheets(_Sheet(self, ws.title, [list(r) for r in ws.iter_rows(values_only=True)])
                              for ws in wb.worksheets)
        self.deletes: list[tuple[str, int, int]] = []
        self.saves = 0
        self.before_delete = lambda *_: None

    def save(self):
        self.saves += 1
        if self.fail_save:
            raise RuntimeError("Excel stopped while saving")

    def column(self, sheet, label):
        grid = self.sheets[sheet].grid
        h = next(i for i, r in enumerate(grid) if label in r)
        return [r[grid[h].index(label)] for r in grid[h + 1:] if r[grid[h].index(label)] is not None]


def _open_all(desk, **kw):
    return {desk.workbook(k).resolve(): StandInBook(desk.workbook(k), **kw)
            for k in ("orders", "bindings", "tracking", "exceptions") if desk.workbook(k).exists()}


def test_rows_leave_through_excel_after_the_archive_is_committed(tmp_path):
    from xl_addin.bootstrap import store_for

    desk = build_month(tmp_path)
    books = _open_all(desk)
    on_disk = {p: p.read_bytes() for p in books}
    manifest = desk.archive_dir / "2026-10" / "manifest.json"
    states = []
    for b in books.values():
        b.before_delete = lambda *_: states.append(json.loads(manifest.read_text("utf-8"))["state"])
    with store_for(desk) as store, removal_through(lambda p: LiveWorkbook(books[p.resolve()])
                                                    if p.resolve() in books else None):
        res = archive_month(desk, store, "2026-10", NOV)
    orders = books[desk.workbook("orders").resolve()]
    assert sorted(orders.column("订单确认单", "订单编号")) == ["B1", "C1"]
    assert sorted(orders.column("满意度回访", "订单编号")) == ["B1"]
    assert sorted(books[desk.workbook("bindings").resolve()].column("绑定表", "订单编号")) == ["B1", "C1"]
    deleted = [d for d in orders.deletes if d[0] == "订单确认单"]
    assert deleted and deleted == sorted(deleted, key=lambda d: -d[1])       # bottom-up
    assert all(a[1] > b[2] for a, b in zip(deleted, deleted[1:]))           # one call per separate block
    assert states and set(states) == {"written"}    # the archive was committed before any row went
    assert orders.saves == 1 and res["removed"]["orders"] == 3 + 3
    assert {p: p.read_bytes() for p in books} == on_disk   # the files were not rewritten behind Excel's back
    assert json.loads(manifest.read_text("utf-8"))["state"] == "complete"


def test_a_resumed_archive_does_not_delete_twice(tmp_path):
    from xl_addin.bootstrap import store_for

    desk = build_month(tmp_path)
    books = _open_all(desk, fail_save=True)
    lookup = lambda p: LiveWorkbook(books[p.resolve()]) if p.resolve() in books else None  # noqa: E731
    with store_for(desk) as store, removal_through(lookup), pytest.raises(RuntimeError):
        archive_month(desk, store, "2026-10", NOV)     # Excel deleted the rows, then stopped while saving
    orders = books[desk.workbook("orders").resolve()]
    after_crash = [list(r) for r in orders.sheets["订单确认单"].grid]
    assert sorted(orders.column("订单确认单", "订单编号")) == ["B1", "C1"]
    orders.fail_save = False
    for b in books.values():
        b.fail_save = False
    with store_for(desk) as store, removal_through(lookup):
        res = archive_month(desk, store, "2026-10", NOV)
    assert orders.sheets["订单确认单"].grid == after_crash     # B1 and C1 are still there: nothing deleted twice
    assert res["removed"]["orders"] == 0 and res["status"] == "archived"


def test_the_ribbon_button_archives_through_the_open_books(tmp_path):
    from support.recording_ui import RecordingUI
    from xl_addin.excel import handlers

    desk = build_month(tmp_path)
    books = _open_all(desk)

    class ExcelWithOpenBooks(RecordingUI):
        def open_book(self, path):
            return LiveWorkbook(books[Path(path).resolve()]) if Path(path).resolve() in books else None

    ui = ExcelWithOpenBooks(desk.workbook("orders"))  # no answer given: the offered month is taken
    assert handlers.dispatch("reports.archive", ui, now=NOV) == "ok", ui.messages
    assert ui.asked == [("月份（YYYY-MM）：", "2026-10")]     # the finished month is offered, as on the 1st
    assert ui.released == []                       # the books stayed open in Excel
    orders = books[desk.workbook("orders").resolve()]
    assert orders.saves == 2                       # saved before (the archive reads the file), and after
    assert sorted(orders.column("订单确认单", "订单编号")) == ["B1", "C1"]
    assert "归档完成" in ui.messages[-1][1]
