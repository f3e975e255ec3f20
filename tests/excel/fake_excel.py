"""Excel's COM objects as pywin32 hands them to xlwings, written from Microsoft's Excel object model
reference (Application, Workbook, Worksheet, Range) — only the members xlwings' code asks for.

- ``Range.Value`` of one cell is the value itself; of several cells a tuple of row tuples
  (VARIANT SAFEARRAY → nested tuples); an empty cell is ``None``; numbers are floats.
- ``Range.Row``/``Column`` are 1-based; ``Rows.Count``/``Columns.Count`` the size; ``Address``
  the absolute A1 address ("$A$2:$A$5001").
- ``Workbook.FullName`` of a never-saved book is its name alone ("Book1"); ``Workbook.Path`` "".
- ``Application.ActiveWorkbook`` is ``Nothing`` (None) with only add-ins open or in Protected View.
- pywin32's ``_oleobj_.GetTypeInfo().GetTypeAttr().iid`` names the COM interface; xlwings'
  ``is_range_instance`` compares it with Excel's Range IID.
"""

from __future__ import annotations

import os

from windows_standins import IID, RANGE_IID


class _TypeAttr:
    def __init__(self, iid):
        self.iid = IID(iid)


class _OleObj:
    def __init__(self, iid):
        self._iid = iid

    def GetTypeInfo(self):
        return self

    def GetTypeAttr(self):
        return _TypeAttr(self._iid)


class _Count:
    def __init__(self, n):
        self.Count = n


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


class Application:
    Name = "Microsoft Excel"
    Version = "16.0"

    def __init__(self, hwnd=1001):
        self.Hwnd = hwnd
        self.ActiveWorkbook = None
        self.Workbooks = Collection([])
        self.Application = self


class Collection:
    def __init__(self, items):
        self.items = list(items)

    @property
    def Count(self):
        return len(self.items)

    def __call__(self, key):
        return self.Item(key)

    def Item(self, key):
        if isinstance(key, int):
            return self.items[key - 1]
        return next(i for i in self.items if i.Name.lower() == str(key).lower())

    def __iter__(self):
        return iter(self.items)


class Workbook:
    def __init__(self, app, name, folder=None):
        self.Application = self.Parent = app
        self.Name = name
        self.Path = folder or ""
        # Excel joins with the file system's separator ("\\" on Windows; here the POSIX one)
        self.FullName = f"{folder}{os.sep}{name}" if folder else name
        self.Worksheets = self.Sheets = Collection([])
        app.Workbooks.items.append(self)

    def add_sheet(self, name):
        sheet = Worksheet(self, name)
        self.Worksheets.items.append(sheet)
        return sheet


class Worksheet:
    def __init__(self, book, name):
        self.Parent = book
        self.Application = book.Application
        self.Name = name
        self.cells: dict[tuple[int, int], object] = {}

    def Range(self, first, last=None):
        last = last or first
        return Range(self, first.Row, first.Column, last.Row - first.Row + 1, last.Column - first.Column + 1)

    def Cells(self, row, col):
        return Range(self, row, col, 1, 1)


class Range:
    CLSID = IID(RANGE_IID)

    def __init__(self, sheet, row, col, nrows=1, ncols=1):
        self.Worksheet = self.Parent = sheet
        self.Application = sheet.Application
        self.Row, self.Column = row, col
        self.Rows, self.Columns = _Count(nrows), _Count(ncols)
        self._oleobj_ = _OleObj(RANGE_IID)

    @property
    def Address(self):
        first = f"${_col(self.Column)}${self.Row}"
        if self.Rows.Count == 1 and self.Columns.Count == 1:
            return first
        return f"{first}:${_col(self.Column + self.Columns.Count - 1)}${self.Row + self.Rows.Count - 1}"

    @property
    def Value(self):
        cells = self.Worksheet.cells
        rows = tuple(tuple(cells.get((r, c)) for c in range(self.Column, self.Column + self.Columns.Count))
                     for r in range(self.Row, self.Row + self.Rows.Count))
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows

    @Value.setter
    def Value(self, value):
        rows = value if isinstance(value, (list, tuple)) else ((value,),)
        for i, row in enumerate(rows):
            for j, v in enumerate(row if isinstance(row, (list, tuple)) else (row,)):
                self.Worksheet.cells[(self.Row + i, self.Column + j)] = v
