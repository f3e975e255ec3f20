"""Buttons that run a use case show its Report: the same text the command prints, in the same words,
with the job's title on the box; a warning box when the command's exit code is not 0."""

from __future__ import annotations

from datetime import datetime

import pytest

from support.report_scenarios import REVIEW_LATER, review_desk
from support.cli_run import run_cli
from support.recording_ui import RecordingUI
from support.xlwings_standins import App, Book
from xl_addin.excel import handlers
from xl_addin.excel.ui import XlwingsUI

NOW = datetime.fromisoformat(REVIEW_LATER)


@pytest.mark.parametrize("first, edit, kind", [(False, False, "info"), (True, True, "warning")],
                         ids=["signs_off_the_day", "changed_after_review"])
def test_review_button_shows_what_the_command_prints(tmp_path, first, edit, kind):
    by_cli = review_desk(tmp_path / "cli", first=first, edit=edit)
    by_button = review_desk(tmp_path / "button", first=first, edit=edit)  # the same desk, for the button
    printed = run_cli("review", "--date", "2026-11-26", "--by", "钱主管", "--desk", str(by_cli.root),
                      "--now", REVIEW_LATER)
    assert printed.code == (1 if edit else 0) and printed.err == ""
    ui = RecordingUI(by_button.workbook("bindings"), answers=["2026-11-26"], user="钱主管")
    assert handlers.dispatch("waybills.review", ui, now=NOW) == "ok"
    assert ui.messages == [(kind, printed.out.strip())] and ui.titles == ["物流助手 · 主管审核"]
    assert ui.statuses[-1] is None
    assert by_button.workbook("bindings") in ui.released and by_button.workbook("orders") in ui.released


def test_review_button_on_xlwings_shows_the_report_in_the_calling_instances_alert(tmp_path):
    desk, twin = review_desk(tmp_path / "desk"), review_desk(tmp_path / "twin")
    printed = run_cli("review", "--date", "2026-11-26", "--by", "钱主管", "--desk", str(twin.root), "--now", REVIEW_LATER)
    app = App(12)
    app.api.UserName, app.api.answers = "钱主管", ["2026-11-26"]
    book = Book(app, desk.workbook("bindings"))
    app.books.items.append(book)
    assert handlers.dispatch("waybills.review", XlwingsUI(book), now=NOW) == "ok"
    assert app.api.prompts == [("日期（YYYY-MM-DD）：", "物流助手", "2026-11-26")]
    assert app.alerts == [(printed.out.strip(), "物流助手 · 主管审核", "info")]
    assert book.saved == 1 and ("open", str(desk.workbook("bindings").resolve())) in app.events
    assert app.status_bar is False


def test_review_button_cancelled_does_nothing(tmp_path):
    desk = review_desk(tmp_path / "desk")

    class Cancelling(RecordingUI):
        def ask(self, prompt, default=""):
            return None
    ui = Cancelling(desk.workbook("bindings"))
    assert handlers.dispatch("waybills.review", ui, now=NOW) == "ok"
    assert ui.messages == [] and ui.released == []
    printed = run_cli("review", "--date", "2026-11-26", "--by", "钱主管", "--desk", str(desk.root), "--now", REVIEW_LATER)
    assert "审核 6 条绑定" in printed.out  # nothing was signed off by the cancelled button


def test_review_button_with_a_bad_date_says_what_the_command_says(tmp_path):
    desk = review_desk(tmp_path / "desk")
    printed = run_cli("review", "--date", "2026/11/26", "--by", "钱主管", "--desk", str(desk.root))
    ui = RecordingUI(desk.workbook("bindings"), answers=["2026/11/26"])
    assert handlers.dispatch("waybills.review", ui, now=NOW) == "user_error"
    kind, text = ui.messages[-1]
    assert kind == "error" and text == "主管审核没有完成：--date 的日期格式不对: '2026/11/26'\n怎么办：请写成 2026-11-26"
    assert printed.err == "错误: --date 的日期格式不对: '2026/11/26' — 请写成 2026-11-26\n"
