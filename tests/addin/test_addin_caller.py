"""Which Excel and which workbook a button works on, with stand-ins for xlwings' App/Book/Books
(tests/support/xlwings_standins.py, written from xlwings' API; their signatures are checked below).

xlwings' RunPython starts Python with ``--wb=<active workbook's name> --hwnd=<Application.Hwnd>``;
``xw.Book.caller()`` returns that book of that instance (and raises when it is not open there)."""

import inspect
import sys

import openpyxl
import pytest
import xlwings

from support.xlwings_standins import App, Book, Books, fake_xlwings
from xl_addin.excel import handlers
from xl_addin.excel.ui import NO_USABLE_BOOK, NoUsableWorkbook, XlwingsUI, calling_app


def test_stand_ins_have_xlwings_own_signatures():
    for ours, theirs, names in ((App, xlwings.App, ("alert", "activate")), (Book, xlwings.Book, ("save", "close")),
                                (Books, xlwings.main.Books, ("open",))):
        for name in names:
            mine = list(inspect.signature(getattr(ours, name)).parameters)
            real = list(inspect.signature(getattr(theirs, name)).parameters)
            assert mine == real, (ours.__name__, name, real)
    for prop in ("hwnd", "books", "status_bar", "pid"):
        assert isinstance(getattr(xlwings.App, prop), property)
    for prop in ("fullname", "name", "app", "api"):
        assert isinstance(getattr(xlwings.Book, prop), property)


def _argv(book_name, hwnd):
    return ["-c", f"--wb={book_name}", "--from_xl=1", "--app=C:\\Office\\EXCEL.EXE", f"--hwnd={hwnd}"]


def test_the_calling_instance_not_the_top_window(tmp_path):
    first, second = App(111), App(222)
    mine = Book(second, tmp_path / "订单确认单.xlsx")
    second.books.items.append(mine)
    first.books.items.append(Book(first, tmp_path / "other" / "订单确认单.xlsx"))  # same name, other instance
    argv = _argv("订单确认单.xlsx", 222)
    xw = fake_xlwings([first, second], active=first, argv=argv)  # the other window is on top
    ui = XlwingsUI.from_caller(xw, argv)
    assert ui.book is mine and ui.app is second
    assert calling_app(xw, argv) is second


def test_only_addins_open_answers_in_chinese(tmp_path):
    app = App(7)
    app.books.items.append(Book(app, tmp_path / "xl-logistics.xlam", is_addin=True))
    argv = _argv("xl-logistics.xlam", 7)
    with pytest.raises(NoUsableWorkbook) as none:
        XlwingsUI.from_caller(fake_xlwings([app], app, argv), argv)
    none.value.tell()
    assert app.alerts == [(NO_USABLE_BOOK, "物流助手", "info")]


def test_a_book_not_open_any_more_answers_in_the_calling_instance(tmp_path):
    first, second = App(1), App(2)
    argv = _argv("Protected.xlsx", 2)  # e.g. still in Protected View: not among the workbooks
    with pytest.raises(NoUsableWorkbook) as none:
        XlwingsUI.from_caller(fake_xlwings([first, second], first, argv), argv)
    none.value.tell()
    assert second.alerts and not first.alerts and "受保护的视图" in second.alerts[0][0]


def test_no_excel_to_tell_writes_to_stderr(capsys):
    NoUsableWorkbook(None).tell()
    assert "没有可用的工作簿" in capsys.readouterr().err


def test_message_kinds_map_onto_xlwings_alert_modes(tmp_path):
    app = App(3)
    book = Book(app, tmp_path / "a.xlsx")
    app.books.items.append(book)
    ui = XlwingsUI(book)
    ui.message("好", "info")
    ui.message("出错", "error")
    assert [a[2] for a in app.alerts] == ["info", "critical"]


def test_release_saves_closes_and_reopens_in_the_calling_instance(tmp_path):
    app = App(5)
    path = tmp_path / "订单确认单.xlsx"
    path.write_bytes(b"")
    book = Book(app, path)
    app.books.items.append(book)
    ui = XlwingsUI(book)
    with ui.release(path):
        assert book.saved == 1 and book.closed == 1
    assert ui.book is not book and ui.book.fullname == str(path.resolve())
    assert app.events[-1] == ("activate", True)


def test_validate_on_an_unrelated_workbook_leaves_it_alone(tmp_path):
    """校验订单 on a book without an order sheet: a Chinese answer, nothing saved, closed or reopened."""
    path = tmp_path / "家庭预算.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["月份", "收入", "支出"])
    wb.active.append(["1月", 100, 80])
    wb.save(path)
    before = path.read_bytes()
    app = App(9)
    book = Book(app, path)
    app.books.items.append(book)
    ui = XlwingsUI(book)
    ui.workbook_port = lambda: None  # read the saved file (the live port needs a real Excel)
    assert handlers.dispatch("intake.validate", ui) == "user_error"
    assert book.saved == 0 and book.closed == 0 and not [e for e in app.events if e[0] == "open"]
    assert path.read_bytes() == before
    prompt, title, mode = app.alerts[-1]
    assert "校验订单没有完成" in prompt and "表头" in prompt and mode == "critical"


def test_run_without_a_usable_book_says_so_and_runs_nothing(monkeypatch, tmp_path):
    app = App(4)
    argv = _argv("Book1", 4)
    xw = fake_xlwings([app], app, argv)
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    monkeypatch.setattr(sys, "argv", argv)
    ran = []
    monkeypatch.setattr(handlers, "dispatch", lambda *a, **k: ran.append(a))
    handlers.run("intake.validate")
    assert ran == [] and app.alerts[0][0] == NO_USABLE_BOOK
