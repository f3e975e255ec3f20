"""Stand-ins for xlwings' App/Book/Books written from xlwings' API (tests/addin/test_addin_caller.py checks
their signatures against the installed xlwings): what ``XlwingsUI`` talks to, on any OS, without Excel."""

from pathlib import Path
from types import SimpleNamespace


class ComWorkbook:
    """The COM Workbook behind ``Book.api`` (Excel object model): IsAddin, Name, FullName."""

    def __init__(self, name, full, is_addin=False):
        self.Name, self.FullName, self.IsAddin = name, full, is_addin


class Book:
    def __init__(self, app, full, is_addin=False):
        self.app, self.fullname = app, str(full)
        self.name = Path(full).name if ("/" in str(full) or "\\" in str(full)) else str(full)
        self.api = ComWorkbook(self.name, self.fullname, is_addin)
        self.saved = self.closed = 0

    def save(self, path=None, password=None):
        self.saved += 1

    def close(self):
        self.closed += 1
        self.app.books.items.remove(self)
        self.app.events.append(("close", self.fullname))


class Books:
    def __init__(self, app):
        self.app, self.items = app, []

    def __iter__(self):
        return iter(list(self.items))

    def __getitem__(self, name):
        return next(b for b in self.items if b.name.lower() == str(name).lower())

    def open(self, fullname=None, update_links=None, read_only=None, format=None, password=None,
             write_res_password=None, ignore_read_only_recommended=None, origin=None, delimiter=None,
             editable=None, notify=None, converter=None, add_to_mru=None, local=None, corrupt_load=None,
             json=None):
        book = Book(self.app, fullname)
        self.items.append(book)
        self.app.events.append(("open", str(fullname)))
        return book


class ComApplication:
    """The COM Application behind ``App.api`` (Excel object model): UserName, InputBox (answers given in turn)."""

    def __init__(self, answers=(), user="Excel 用户"):
        self.UserName, self.answers, self.prompts = user, list(answers), []

    def InputBox(self, Prompt, Title=None, Default=None):  # Excel's own names
        self.prompts.append((Prompt, Title, Default))
        return self.answers.pop(0) if self.answers else False  # False: the person pressed Cancel


class App:
    def __init__(self, hwnd):
        self.hwnd, self.pid = hwnd, 10_000 + hwnd
        self.books = Books(self)
        self.api = ComApplication()
        self.alerts, self.events = [], []
        self.status_bar = False

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((prompt, title, mode))

    def activate(self, steal_focus=False):
        self.events.append(("activate", steal_focus))


class Apps:
    def __init__(self, apps, active):
        self.items, self.active = apps, active

    def __iter__(self):
        return iter(self.items)


def fake_xlwings(apps, active, argv):
    """``xw`` with ``apps`` and ``Book.caller()`` as xlwings 0.37.8's main.Book.caller reads sys.argv."""
    def caller():
        wb = next(a.split("=", 1)[1] for a in argv if a.startswith("--wb="))
        hwnd = int(next(a.split("=", 1)[1] for a in argv if a.startswith("--hwnd=")))
        app = next(a for a in apps if a.hwnd == hwnd)
        return app.books[wb.lower()]  # KeyError-like StopIteration when it is not open there
    return SimpleNamespace(apps=Apps(apps, active), Book=SimpleNamespace(caller=caller))
