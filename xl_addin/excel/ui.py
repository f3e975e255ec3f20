"""The ``ExcelUI`` the handlers talk to, on the real Excel through xlwings (Windows only; not run here)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_ICONS = {"info": "info", "warning": "warning", "error": "critical"}


class XlwingsUI:
    def __init__(self, book):
        self.book = book
        self.app = book.app

    @classmethod
    def from_caller(cls) -> "XlwingsUI":
        import xlwings as xw

        # the add-in's RunPython: the caller is the .xlam; the staff's book is the active one
        return cls(xw.apps.active.books.active)

    def caller_book_path(self) -> Path | None:
        full = self.book.fullname
        return Path(full) if ("\\" in full or "/" in full) else None

    def message(self, text: str, kind: str = "info") -> None:
        self.app.alert(text, title="物流助手", icon=_ICONS.get(kind, "info"))

    def status(self, text: str | None) -> None:
        self.app.status_bar = text if text else False

    def ask(self, prompt: str, default: str = "") -> str | None:
        answer = self.app.api.InputBox(prompt, "物流助手", default)
        return None if answer is False or answer == "" else str(answer)

    def active_row(self) -> int | None:
        try:
            return self.app.selection.row
        except Exception:
            return None

    def workbook_port(self):
        """The calling book through the live-workbook port: reads what the user sees, unsaved edits included."""
        from xl_addin.excel.live_workbook import LiveWorkbook

        return LiveWorkbook(self.book)

    def user_name(self) -> str:
        return str(self.app.api.UserName or "Excel 用户")

    @contextmanager
    def release(self, path: Path) -> Iterator[None]:
        """Save and close the book at ``path`` while a service rewrites the file, then reopen it.

        The file services never overwrite a workbook open in Excel; saving first
        means what the user sees is what the service reads.
        """
        import xlwings as xw

        target = Path(path).resolve()
        open_book = next((b for b in self.app.books if b.fullname and Path(b.fullname).resolve() == target), None)
        if open_book is None:
            yield
            return
        open_book.save()
        open_book.close()
        try:
            yield
        finally:
            reopened = self.app.books.open(str(target))
            if self.book.fullname == str(target) or self.book is open_book:
                self.book = reopened
            xw.apps.active.activate(steal_focus=True)
