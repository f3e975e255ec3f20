"""The ribbon's handler registry, run with a recording stand-in for Excel on real desks and files."""

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from xl_addin.excel import handlers

NOW = datetime(2026, 11, 26, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class RecordingUI:
    """Our own ExcelUI interface, answering like a person at the keyboard would."""

    def __init__(self, book: Path | None, answers=(), row=None):
        self.book, self.answers, self.row = book, list(answers), row
        self.messages: list[tuple[str, str]] = []
        self.statuses: list[str | None] = []
        self.released: list[Path] = []

    def caller_book_path(self):
        return self.book

    def message(self, text, kind="info"):
        self.messages.append((kind, text))

    def status(self, text):
        self.statuses.append(text)

    def ask(self, prompt, default=""):
        return self.answers.pop(0) if self.answers else default

    def active_row(self):
        return self.row

    def user_name(self):
        return "王芳"

    @contextmanager
    def release(self, path):
        self.released.append(Path(path))
        yield


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.desk_setup import init_desk
    from xl_addin.services.sample_orders import generate_orders, write_orders_xlsx

    root = tmp_path_factory.mktemp("desk")
    init_desk(root, NOW)
    d = load_desk(root)
    write_orders_xlsx(generate_orders(12, seed=3), d.workbook("orders"))
    return d


def test_unknown_tag_says_so_and_does_nothing(desk):
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("rm -rf", ui) == "unknown"
    assert len(ui.messages) == 1 and handlers.UNKNOWN_BUTTON in ui.messages[0][1]
    assert ui.released == []


def test_validate_runs_the_intake_service_on_the_desk_workbook(desk):
    book = desk.workbook("orders")
    ui = RecordingUI(book)
    assert handlers.dispatch("intake.validate", ui, now=NOW) == "ok"
    assert ui.released == [book]  # the open book is let go while the file is rewritten
    kind, text = ui.messages[-1]
    assert "12 行" in text and "结果已写入" in text
    ws = openpyxl.load_workbook(book, read_only=True).worksheets[0]
    header = [c.value for c in next(ws.iter_rows(max_row=5)) if c.value] + \
             [c.value for row in ws.iter_rows(max_row=5) for c in row if c.value == "校验状态"]
    assert "校验状态" in header
    assert ui.statuses[-1] is None  # status bar cleared


def test_confirm_uses_the_active_row_and_records_the_person(desk):
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet

    book = desk.workbook("orders")
    first = read_sheet(book, ORDERS.sheets[0]).rows[0]
    ui = RecordingUI(book, answers=[str(first.values["order_no"]), "已取消"], row=first.row)
    assert handlers.dispatch("intake.confirm", ui, now=NOW) == "ok"
    assert str(first.values["order_no"]) in ui.messages[-1][1]
    again = read_sheet(book, ORDERS.sheets[0]).rows[0]
    assert again.values["confirmed_by"] == "王芳"
    assert again.values["confirmation"] == "已取消"


def test_user_error_is_shown_in_chinese_with_what_to_do(desk):
    ui = RecordingUI(desk.workbook("orders"), answers=["NO-SUCH-ORDER", "已确认"], row=None)
    assert handlers.dispatch("intake.confirm", ui, now=NOW) == "user_error"
    kind, text = ui.messages[-1]
    assert kind == "error" and "找不到订单" in text and "怎么办" in text


def test_unsaved_book_is_a_user_error(desk):
    ui = RecordingUI(None)
    assert handlers.dispatch("desk.doctor", ui, now=NOW) == "user_error"
    assert "保存" in ui.messages[-1][1]


def test_doctor_reports_the_desk(desk):
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("desk.doctor", ui, now=NOW) == "ok"
    assert str(desk.root) in ui.messages[-1][1] and "状态库" in ui.messages[-1][1]


def test_unexpected_error_shows_log_path(desk, monkeypatch):
    def boom(ctx):
        raise RuntimeError("disk on fire")
    monkeypatch.setitem(handlers.HANDLERS, "desk.doctor",
                        handlers.Handler("desk.doctor", "检查环境", boom, "xl_addin.services.doctor"))
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("desk.doctor", ui, now=NOW) == "failed"
    text = ui.messages[-1][1]
    assert "日志" in text and ".xl-logistics" in text and "disk on fire" not in text


def test_later_stages_say_not_yet_only_without_their_service(desk):
    ui = RecordingUI(desk.workbook("orders"))
    for tag, h in handlers.HANDLERS.items():
        if handlers._service_exists(h.service):
            continue
        assert handlers.dispatch(tag, ui, now=NOW) == "not_yet"
        assert handlers.NOT_YET in ui.messages[-1][1]


def test_service_check_happens_at_call_time(desk, monkeypatch):
    monkeypatch.setitem(handlers.HANDLERS, "desk.doctor",
                        handlers.Handler("desk.doctor", "检查环境", lambda ctx: ctx.ui.message("ran"),
                                         "xl_addin.services.no_such_stage"))
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("desk.doctor", ui) == "not_yet"
    monkeypatch.setitem(handlers.HANDLERS, "desk.doctor",
                        handlers.Handler("desk.doctor", "检查环境", lambda ctx: ctx.ui.message("ran"),
                                         "xl_addin.services.doctor"))
    assert handlers.dispatch("desk.doctor", ui) == "ok" and ui.messages[-1][1] == "ran"
