"""Our own ``ExcelUI`` interface (xl_addin/excel/handlers.py), answering like a person at the keyboard would,
and keeping what Excel would have shown: message boxes (kind, text, title), status bar texts, released books."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path


class RecordingUI:
    def __init__(self, book: Path | None, answers=(), row=None, user: str = "王芳"):
        self.book, self.answers, self.row, self.user = book, list(answers), row, user
        self.messages: list[tuple[str, str]] = []
        self.titles: list[str | None] = []
        self.statuses: list[str | None] = []
        self.released: list[Path] = []
        self.asked: list[tuple[str, str]] = []  # (prompt, offered default) of every input box

    def caller_book_path(self):
        return self.book

    def message(self, text, kind="info", title=None):
        self.messages.append((kind, text))
        self.titles.append(title)

    def status(self, text):
        self.statuses.append(text)

    def ask(self, prompt, default=""):
        self.asked.append((prompt, default))
        return self.answers.pop(0) if self.answers else default

    def active_row(self):
        return self.row

    def user_name(self):
        return self.user

    @contextmanager
    def release(self, path):
        self.released.append(Path(path))
        yield
