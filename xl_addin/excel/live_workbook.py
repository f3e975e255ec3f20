"""The workbook port on the book open in Excel, through xlwings (the same port as ``FileWorkbook``).

Why bulk ranges: every xlwings property access is a COM round trip (~0.1–1 ms), so a sheet is read
with one ``Range.value`` over its used area, and cells are written as one range per run of adjacent
rows in a column — never cell by cell. Screen updating and automatic calculation are switched off
during a large write and put back as they were afterwards, also when the write fails.

Text stays text. xlwings hands a Python ``str`` unchanged to COM's ``Range.Value``, and Excel then
parses it exactly like typed input: ``=1+2`` becomes a formula, ``+86 138…``/``-5`` numbers or
formulas, ``@x`` an error, ``00123`` the number 123, ``2024-01-02`` a date, ``TRUE`` a boolean,
``#N/A`` an error value. A leading apostrophe is Excel's quote prefix: the cell then holds the text
that follows, and ``Range.Value`` reads it back without the apostrophe. So every string Excel could
reinterpret is written with one apostrophe in front (``quoted``); plain words are written as they are.
(Setting the range's number format to text "@" first would also work for typed input, but it changes
the cell's format the user chose and Excel still evaluates "=…" pasted later; the quote prefix is
per value and leaves formats alone.) This holds for the free xlwings engine on Windows and macOS;
the PRO "remote"/"calamine" engines are not used.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterator

from xl_addin.adapters.workbook.cells import EXCEL_MAX_TEXT
from xl_addin.adapters.workbook.reader import SheetTable
from xl_addin.adapters.workbook.schema import SheetSchema
from xl_addin.errors import WorkbookError
from xl_addin.excel.workbook_port import read_from_grids

LARGE_WRITE = 50  # cells; smaller writes are not worth touching the application's settings

# What Excel would turn into something other than the text: formulas and their look-alikes, the
# quote prefix itself, error literals, booleans, and anything made of digits and number/date marks.
_RISKY_START = tuple("=+-@'#\t\r\n")
_NUMBERISH = re.compile(r"^[\s\d.,:/%$¥€£()eE+\-年月日时分秒AaPpMm]*\d[\s\d.,:/%$¥€£()eE+\-年月日时分秒AaPpMm]*$")
_BOOLEANS = {"TRUE", "FALSE", "真", "假"}


def quoted(text: str) -> str:
    """The string to hand to ``Range.Value`` so the cell ends up holding exactly ``text`` as text."""
    text = text[:EXCEL_MAX_TEXT - 1]
    if text.startswith(_RISKY_START) or _NUMBERISH.match(text) or text.strip().upper() in _BOOLEANS:
        return "'" + text
    return text


def to_excel(value: object) -> object:
    """A Python value as xlwings should receive it (None clears the cell)."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bool, int, float, datetime, date, time)) or value is None:
        return value
    return quoted(str(value))


@contextmanager
def paused(app) -> Iterator[None]:
    """Screen updating off and calculation manual for the duration; both restored even on error."""
    screen, calc = app.screen_updating, app.calculation
    app.screen_updating = False
    app.calculation = "manual"
    try:
        yield
    finally:
        app.calculation = calc
        app.screen_updating = screen


def column_runs(cells: dict[tuple[int, int], object]) -> list[tuple[int, int, list]]:
    """(column, first row, values) for each run of adjacent rows in one column: one range write each."""
    by_col: dict[int, list[tuple[int, object]]] = {}
    for (row, col), value in cells.items():
        by_col.setdefault(col, []).append((row, value))
    runs: list[tuple[int, int, list]] = []
    for col, items in sorted(by_col.items()):
        items.sort(key=lambda rv: rv[0])
        start, values = items[0][0], [items[0][1]]
        for row, value in items[1:]:
            if row == start + len(values):
                values.append(value)
            else:
                runs.append((col, start, values))
                start, values = row, [value]
        runs.append((col, start, values))
    return runs


def row_blocks(rows) -> list[tuple[int, int]]:
    """Runs of adjacent row numbers, bottom-most first (deleting from the bottom keeps the others' numbers)."""
    out: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out[::-1]


class LiveWorkbook:
    """The port over an ``xlwings.Book`` (``xw.Book.caller()`` or the active book)."""

    def __init__(self, book):
        self.book = book

    @property
    def where(self) -> str:
        return str(self.book.fullname)

    def _names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def _grid(self, name: str) -> list[list]:
        sheet = self.book.sheets[name]
        last = sheet.used_range.last_cell
        values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
        return [list(r) for r in values or []]

    def read_table(self, schema: SheetSchema, sheet_name: str | None = None) -> SheetTable:
        return read_from_grids(self.where, self._names(), self._grid, schema, sheet_name)

    def write_cells(self, sheet: str, header_row: int, headers: dict[int, str],
                    cells: dict[tuple[int, int], object]) -> None:
        if sheet not in self._names():
            raise WorkbookError(f"没有名为「{sheet}」的工作表", "请检查工作表名称", path=self.where)
        plan = {(header_row, c): label for c, label in headers.items()} | dict(cells)
        for row, col in plan:
            if row < 1 or not 1 <= col <= 16384:
                raise ValueError(f"cell outside the sheet: {(row, col)}")
        ws = self.book.sheets[sheet]
        runs = column_runs(plan)

        def write() -> None:
            for col, first, values in runs:
                ws.range((first, col), (first + len(values) - 1, col)).value = [[to_excel(v)] for v in values]

        if len(plan) >= LARGE_WRITE:
            with paused(self.book.app):
                write()
        else:
            write()

    def delete_rows(self, sheet: str, rows) -> int:
        """Delete whole rows through Excel itself (its own "Delete rows": formulas, formats, validations,
        tables and names follow as Excel moves them), one range delete per run of adjacent rows."""
        if sheet not in self._names():
            raise WorkbookError(f"没有名为「{sheet}」的工作表", "请检查工作表名称", path=self.where)
        ws = self.book.sheets[sheet]
        blocks = row_blocks(rows)
        with paused(self.book.app):
            for first, last in blocks:
                ws.range(f"{first}:{last}").api.EntireRow.Delete()
        return sum(b - a + 1 for a, b in blocks)

    def save(self) -> None:
        """Save the book through Excel (``Workbook.Save``: same file, same format)."""
        self.book.save()
