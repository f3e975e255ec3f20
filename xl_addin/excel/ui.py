"""The ``ExcelUI`` the handlers talk to, on the real Excel through xlwings (Windows only).

Which workbook: xlwings' ``RunPython`` starts Python with ``--wb=<name> --hwnd=<window>`` — for an
add-in built on ``xlwings_custom_addin.bas`` the name is the *active* workbook's and the window
that of the Excel instance that ran the macro — and ``xw.Book.caller()`` finds exactly that book
in exactly that instance. (``xw.apps.active`` would be whichever Excel window is on top, which
is not always the one whose button was clicked.) With no usable workbook — only add-ins open, the
file still in Protected View, the book closed meanwhile — the person gets a Chinese answer in the
calling instance, not a traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

# xlwings' App.alert(prompt, title, buttons, mode, callback): mode is "info" or "critical"
_MODES = {"info": "info", "warning": "info", "error": "critical"}
TITLE = "物流助手"
NO_USABLE_BOOK = ("没有可用的工作簿：请先打开台账中的工作簿（如 订单确认单.xlsx）；"
                  "若它在“受保护的视图”中，请先点“启用编辑”，再点按钮。")


class NoUsableWorkbook(Exception):
    """No workbook the buttons can work on; ``app`` (may be None) is where to say so."""

    def __init__(self, app, text: str = NO_USABLE_BOOK):
        super().__init__(text)
        self.app, self.text = app, text

    def tell(self) -> None:
        if self.app is not None:
            try:
                self.app.alert(self.text, title=TITLE, mode="info")
                return
            except Exception:
                pass
        print(self.text, file=sys.stderr)  # xlwings' RunPython shows a failed run's error output


def _argument(argv: Sequence[str], key: str) -> str | None:
    for arg in argv:
        if arg.startswith(f"--{key}="):
            return arg.split("=", 1)[1].strip().strip('"')
    return None


def calling_app(xw, argv: Sequence[str]):
    """The Excel instance whose window handle RunPython passed (``--hwnd``), else the active one."""
    hwnd = _argument(argv, "hwnd")
    if hwnd and hwnd.lstrip("-").isdigit():
        for app in xw.apps:
            try:
                if int(app.hwnd) == int(hwnd):
                    return app
            except Exception:  # an instance busy or closing: not the caller
                continue
    try:
        return xw.apps.active
    except Exception:
        return None


def usable(book) -> bool:
    """A workbook the buttons may work on: a real workbook window, not an add-in."""
    try:
        return not bool(book.api.IsAddin)
    except Exception:
        return False


class XlwingsUI:
    def __init__(self, book):
        self.book = book
        self.app = book.app

    @classmethod
    def from_caller(cls, xw=None, argv: Sequence[str] | None = None) -> "XlwingsUI":
        """The calling workbook (see the module's docstring); ``NoUsableWorkbook`` when there is none."""
        if xw is None:
            import xlwings as xw
        argv = sys.argv if argv is None else argv
        try:
            book = xw.Book.caller()
        except Exception:  # the named book is not open (any more) in that instance
            book = None
        if book is None or not usable(book):
            raise NoUsableWorkbook(book.app if book is not None else calling_app(xw, argv))
        return cls(book)

    def caller_book_path(self) -> Path | None:
        full = self.book.fullname
        return Path(full) if ("\\" in full or "/" in full) else None

    def message(self, text: str, kind: str = "info", title: str | None = None) -> None:
        self.app.alert(text, title=title or TITLE, mode=_MODES.get(kind, "info"))

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

    def open_book(self, path: Path):
        """The live-workbook port of the book at ``path`` when it is open in this Excel, else None."""
        from xl_addin.excel.live_workbook import LiveWorkbook

        target = Path(path).resolve()
        book = next((b for b in self.app.books if b.fullname and Path(b.fullname).resolve() == target), None)
        return LiveWorkbook(book) if book is not None else None

    def user_name(self) -> str:
        return str(self.app.api.UserName or "Excel 用户")

    @contextmanager
    def release(self, path: Path) -> Iterator[None]:
        """Save and close the book at ``path`` while a service rewrites the file, then reopen it.

        The file services never overwrite a workbook open in Excel; saving first
        means what the user sees is what the service reads.
        """
        target = Path(path).resolve()
        open_book = next((b for b in self.app.books if b.fullname and Path(b.fullname).resolve() == target), None)
        if open_book is None:
            yield
            return
        was_caller = self.book is open_book or self.book.fullname == open_book.fullname  # asked before closing
        open_book.save()
        open_book.close()
        try:
            yield
        finally:
            reopened = self.app.books.open(str(target))
            if was_caller:
                self.book = reopened
            self.app.activate(steal_focus=True)  # the calling instance, not whichever is on top
