"""The ribbon's handler registry, run with a recording stand-in for Excel on real desks and files."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from support.recording_ui import RecordingUI
from xl_addin.excel import handlers

NOW = datetime(2026, 11, 26, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

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
    assert "校验订单：12/12" in ui.statuses  # the command's progress reached Excel's status bar


def test_progress_listener_hears_every_bar_only_while_inside():
    from xl_addin.entrypoints.common import progress_bar, progress_to

    heard = []
    with progress_to(lambda label, done, total: heard.append((label, done, total))):
        bar = progress_bar(None, "月度归档", unit="步")
        bar(3, 9)
        bar.close()
    after = progress_bar(None, "月度归档")
    after(4, 9)
    after.close()
    assert heard == [("月度归档", 3, 9)]


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
                        handlers.Handler("desk.doctor", "检查环境", boom, "xl_addin.services.desk.doctor"))
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("desk.doctor", ui, now=NOW) == "failed"
    text = ui.messages[-1][1]
    assert "日志" in text and ".xl-logistics" in text and "disk on fire" not in text


def test_every_button_names_a_service_module_and_a_registered_command():
    import importlib

    from xl_addin.entrypoints.cli import cli

    for tag, h in handlers.HANDLERS.items():
        assert importlib.import_module(h.service), tag
        assert h.command is None or h.command in cli.commands, (tag, h.command)


def test_a_button_naming_a_missing_command_fails_with_the_log_path_not_silently(desk, monkeypatch):
    monkeypatch.setitem(handlers.HANDLERS, "desk.doctor",
                        handlers.Handler("desk.doctor", "检查环境", handlers.cli_twin("no-such-command"),
                                         "xl_addin.services.desk.doctor"))
    ui = RecordingUI(desk.workbook("orders"))
    assert handlers.dispatch("desk.doctor", ui, now=NOW) == "failed"
    assert "日志" in ui.messages[-1][1]


# ---------------------------------------------------------------- every button → its real service

def test_every_ribbon_tag_has_a_handler_and_every_handler_a_button():
    import re

    xml = (Path(__file__).parents[2] / "macros" / "customUI14.xml").read_text(encoding="utf-8")
    tags = set(re.findall(r'tag="([^"]+)"', xml))
    assert tags == set(handlers.HANDLERS)
    for h in handlers.HANDLERS.values():
        assert h.command is None or h.command in {"allocate", "bind", "review", "refresh", "report-exception",
                                                  "sync-ledger", "summary", "archive"}


@pytest.fixture(scope="module")
def working_desk(tmp_path_factory):
    """A small real desk: init, 12 sample orders, validated into the store (so some are confirmed)."""
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.services.intake.validation import validate_orders
    from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

    root = tmp_path_factory.mktemp("working")
    init_desk(root, NOW)
    d = load_desk(root)
    write_orders_xlsx(generate_orders(12, seed=5), d.workbook("orders"))
    with store_for(d) as store:
        report = validate_orders(d.workbook("orders"), NOW, store=store, backup_dir=d.backup_dir)
    confirmed = [r.order_no for r in report.rows if r.decision.status == "confirmed"]
    assert len(confirmed) >= 3
    return d, confirmed


def _bindings(d):
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET

    return {str(r.values.get("order_no")): r.values for r in read_sheet(d.workbook("bindings"), BINDINGS_SHEET).rows}


def test_backfill_asks_for_order_waybill_and_carrier_and_binds(working_desk):
    d, confirmed = working_desk
    ui = RecordingUI(d.workbook("orders"), answers=[confirmed[0], "SF1234567890123", "顺丰"])
    assert handlers.dispatch("waybills.backfill", ui, now=NOW) == "ok", ui.messages
    assert "SF1234567890123" in ui.messages[-1][1]
    row = _bindings(d)[confirmed[0]]
    assert row["waybill_no"] == "SF1234567890123"
    assert set(ui.released) >= {d.workbook("orders"), d.workbook("bindings")}


def test_backfill_cancelled_does_nothing(working_desk):
    d, confirmed = working_desk

    class Cancelling(RecordingUI):
        def ask(self, prompt, default=""):
            return None
    ui = Cancelling(d.workbook("orders"))
    assert handlers.dispatch("waybills.backfill", ui, now=NOW) == "ok"
    assert ui.messages == []


def test_allocate_then_review_run_the_waybill_services(working_desk):
    d, confirmed = working_desk
    ui = RecordingUI(d.workbook("bindings"))
    assert handlers.dispatch("waybills.allocate", ui, now=NOW) == "ok", ui.messages
    assert "已分配" in ui.messages[-1][1]
    rows = _bindings(d)
    assert all(rows.get(o, {}).get("waybill_no") for o in confirmed)
    ui = RecordingUI(d.workbook("bindings"))  # the date box offers today; the reviewer is the Excel user
    assert handlers.dispatch("waybills.review", ui, now=NOW) == "ok", ui.messages
    assert "2026-11-26" in ui.messages[-1][1] and "审核" in ui.messages[-1][1]


def test_refresh_without_a_tracking_account_says_what_to_set(working_desk, monkeypatch):
    d, _ = working_desk
    for name in ("KUAIDI100_CUSTOMER", "KUAIDI100_KEY", "KUAIDI100_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    ui = RecordingUI(d.workbook("tracking"))
    assert handlers.dispatch("tracking.refresh", ui, now=NOW) == "user_error"
    assert "KUAIDI100_CUSTOMER" in ui.messages[-1][1] and "怎么办" in ui.messages[-1][1]


def test_refresh_queries_the_sandbox_and_writes_the_tracking_log(working_desk, monkeypatch):
    from xl_addin.sandbox import serve_sandbox
    from xl_addin.services.tracking import SANDBOX_CUSTOMER, SANDBOX_KEY

    d, _ = working_desk
    sandbox = serve_sandbox(customer=SANDBOX_CUSTOMER, key=SANDBOX_KEY)
    try:
        monkeypatch.setenv("KUAIDI100_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("KUAIDI100_CUSTOMER", SANDBOX_CUSTOMER)
        monkeypatch.setenv("KUAIDI100_KEY", SANDBOX_KEY)
        ui = RecordingUI(d.workbook("tracking"))
        assert handlers.dispatch("tracking.refresh", ui, now=NOW) == "ok", ui.messages
    finally:
        sandbox.stop()
    text = ui.messages[-1][1]
    assert "查询" in text and "跟踪记录表已更新" in text
    assert d.workbook("tracking") in ui.released


def test_manual_node_button_ingests_the_manual_sheet(working_desk):
    d, _ = working_desk
    ui = RecordingUI(d.workbook("tracking"))
    assert handlers.dispatch("tracking.manual_node", ui, now=NOW) == "ok", ui.messages
    assert "已导入人工录入节点 0 条" in ui.messages[-1][1]
    assert ui.released == [d.workbook("tracking")]


def test_confirm_offers_the_order_on_the_active_row_read_through_the_port(working_desk):
    from xl_addin.excel.workbook_port import MemoryWorkbook

    d, _ = working_desk

    class LiveUI(RecordingUI):
        """Excel's view of the book holds an unsaved order number on row 7."""
        def workbook_port(self):
            return MemoryWorkbook({"订单确认单": [["订单编号"]] + [[None]] * 5 + [["SO-UNSAVED"]]})

    seen = []

    class Asking(LiveUI):
        def ask(self, prompt, default=""):
            seen.append(default)
            return None
    ui = Asking(d.workbook("orders"), row=7)
    handlers.dispatch("intake.confirm", ui, now=NOW)
    assert seen == ["SO-UNSAVED"]
