"""The archive's row removal through Excel: for desk books open in Excel, Excel itself deletes the rows.

The ribbon's 月度归档 enters ``removal_through(open_book)``; while it holds, ``archive_month`` asks
``open_book(path)`` for each live workbook and, when a port comes back, removes that book's rows with
``remove_open_book_rows`` instead of rewriting the file. Rows are found by key in what Excel holds at
that moment, so a resumed archive deletes only what is still there.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

from xl_addin.errors import WorkbookError

__all__ = ["open_book_lookup", "remove_open_book_rows", "removal_through"]


def remove_open_book_rows(port, plan: list[tuple[Any, str, set[str]]], key_text: Callable[[Any], str],
                          before_save: Callable[[], None] | None = None) -> int:
    """Delete the rows whose key is in the set through the book open in Excel, then save it through Excel.

    ``port`` is the live-workbook port (``xl_addin.excel.live_workbook.LiveWorkbook``): each sheet's
    rows are looked up by key in what Excel holds now, and ``port.delete_rows`` removes them as
    Excel's own "Delete rows" does. Returns how many rows were removed (0: the book is not saved)."""
    removed = 0
    for schema, key, keys in plan:  # (the sheet's schema, its key column, the keys to remove)
        sheet_name = schema.name
        try:
            table = port.read_table(schema, sheet_name)
        except WorkbookError:  # no such sheet or header in this book: nothing of it to remove
            continue
        rows = [r.row for r in table.rows if key_text(r.values.get(key)) in keys]
        if rows:
            removed += port.delete_rows(sheet_name, rows)
    if removed:
        if before_save:
            before_save()
        port.save()
    return removed


# which desk books are open in Excel: path → the live-workbook port, or None (the file is used)
OpenBook = Callable[[Path], Any]
_open_book: ContextVar[OpenBook | None] = ContextVar("archive_open_book", default=None)


@contextmanager
def removal_through(open_book: OpenBook) -> Iterator[None]:
    """For the duration, an archive removes rows through ``open_book(path)`` when it returns a port."""
    token = _open_book.set(open_book)
    try:
        yield
    finally:
        _open_book.reset(token)


def open_book_lookup() -> OpenBook | None:
    """The ``open_book`` given to the innermost ``removal_through`` (None: the files are used)."""
    return _open_book.get()
