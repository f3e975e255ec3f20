"""The ribbon's handler registry: a button's tag → the same service the command line runs.

A whitelist: an unknown tag does nothing but say so. Each handler works on the
calling workbook's desk (the folder of the active workbook), reports through
an injected ``ExcelUI`` (message box, status bar), shows a ``UserError`` in
Chinese with what to do, and turns anything unexpected into a short message
with the log's path. Stages whose service module is not there yet answer
"此功能将在后续版本提供"; they light up when the module lands.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from xl_addin.errors import UserError

log = logging.getLogger("xl_addin.excel")

UNKNOWN_BUTTON = "未知按钮"
NOT_YET = "此功能将在后续版本提供"
TITLE = "物流助手"


class ExcelUI(Protocol):
    """What a handler may ask of Excel. The xlwings implementation is in ``xl_addin.excel.ui``."""

    def caller_book_path(self) -> Path | None: ...          # the active workbook's file (None: never saved)
    def message(self, text: str, kind: str = "info") -> None: ...   # kind: info / warning / error
    def status(self, text: str | None) -> None: ...          # status bar; None clears it
    def ask(self, prompt: str, default: str = "") -> str | None: ...  # None: cancelled
    def active_row(self) -> int | None: ...                  # 1-based row of the active cell
    def user_name(self) -> str: ...
    def release(self, path: Path): ...  # context manager: save + close the book if open, reopen after


@dataclass
class Context:
    ui: ExcelUI
    now: datetime | None = None

    def desk_root(self) -> Path:
        path = self.ui.caller_book_path()
        if path is None:
            raise UserError("当前工作簿还没有保存，找不到台账文件夹", "请先把工作簿保存到台账文件夹，再点按钮")
        return path.parent

    def moment(self, tz_name: str) -> datetime:
        return self.now or datetime.now(ZoneInfo(tz_name))


@dataclass(frozen=True)
class Handler:
    tag: str
    label: str
    run: Callable[[Context], None]
    service: str  # the module that must exist for the button to work


# ---------------------------------------------------------------- stage 1: orders

def _validate(ctx: Context) -> None:
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake import validate_orders

    book = ctx.ui.caller_book_path()
    root = ctx.desk_root()
    desk = load_desk(root, must_exist=False)
    own = desk.is_initialised() and book.resolve() == desk.workbook("orders").resolve()
    tz = desk.settings.desk.timezone if own else "Asia/Shanghai"
    window = timedelta(minutes=desk.settings.intake.confirm_within_minutes) if own else timedelta(hours=1)
    ctx.ui.status("正在校验订单…")
    store = store_for(desk) if own else None
    try:
        with ctx.ui.release(book):
            report = validate_orders(book, ctx.moment(tz), store=store, tz_name=tz, confirm_within=window,
                                     backup_dir=desk.backup_dir if own else None)
    finally:
        if store is not None:
            store.close()
    s = report.summary
    text = (f"{s['rows']} 行：通过 {s['ok']}，待复核 {s['warnings']}，有问题 {s['errors']}\n"
            f"已确认 {s['confirmed']}，待客户确认 {s['awaiting']}（超时 {s['overdue']}），已取消 {s['cancelled']}\n"
            + ("结果已写入“校验状态”“问题说明”等列。" if report.written else f"未写入工作簿：{report.write_message}"))
    ctx.ui.status(None)
    ctx.ui.message(text, "warning" if report.has_errors else "info")


def _confirm(ctx: Context) -> None:
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake import record_confirmation

    desk = load_desk(ctx.desk_root())
    book = desk.workbook("orders")
    row = ctx.ui.active_row()
    default = ""
    if row:
        table = read_sheet(ctx.ui.caller_book_path(), ORDERS.sheets[0])
        match = next((r for r in table.rows if r.row == row), None)
        default = str(match.values.get("order_no") or "") if match else ""
    order_no = ctx.ui.ask("订单编号：", default)
    if not order_no:
        return
    outcome = ctx.ui.ask("客户答复（已确认 / 已更正 / 已取消）：", "已确认")
    if not outcome:
        return
    tz = desk.settings.desk.timezone
    with store_for(desk) as store, ctx.ui.release(book):
        result = record_confirmation(book, order_no.strip(), outcome, ctx.ui.user_name(), ctx.moment(tz),
                                     channel="电话", store=store, tz_name=tz, backup_dir=desk.backup_dir,
                                     confirm_within=timedelta(minutes=desk.settings.intake.confirm_within_minutes))
    ctx.ui.message(f"订单 {order_no}（第{result.row}行）：{result.decision.status_label}"
                   + (f"；{result.decision.note}" if result.decision.note else ""))


# ---------------------------------------------------------------- settings

def _doctor(ctx: Context) -> None:
    from xl_addin.services.doctor import examine_desk

    report = examine_desk(ctx.desk_root(), ctx.moment("Asia/Shanghai"))
    marks = {"ok": "✓", "warning": "!", "error": "✗"}
    lines = [f"台账：{report.desk}"] + [f"{marks[f.status]} {f.message}" for f in report.findings]
    lines.append("台账正常" if report.healthy else "发现问题，请按上面的提示处理")
    ctx.ui.message("\n".join(lines), "info" if report.healthy else "warning")


# ---------------------------------------------------------------- later stages: the CLI twin

def _cli_twin(*command: str) -> Callable[[Context], None]:
    """Run the stage's own command in-process on the desk and show what it printed."""

    def run(ctx: Context) -> None:
        import contextlib
        import io

        import click

        from xl_addin.entrypoints.cli import cli

        out, err = io.StringIO(), io.StringIO()
        args = [*command, "--desk", str(ctx.desk_root())]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(args=args, prog_name="xl-logistics", standalone_mode=False)
            except click.UsageError:
                ctx.ui.message(NOT_YET)
                return
            except click.ClickException as exc:
                raise UserError(exc.format_message()) from None
        text = "\n".join(t for t in (out.getvalue().strip(), err.getvalue().strip()) if t)
        ctx.ui.message(text or "完成")

    return run


def _registry() -> dict[str, Handler]:
    entries = (
        Handler("intake.validate", "校验订单", _validate, "xl_addin.services.intake"),
        Handler("intake.confirm", "客户确认", _confirm, "xl_addin.services.intake"),
        Handler("waybills.allocate", "分配运单", _cli_twin("allocate"), "xl_addin.services.waybills"),
        Handler("waybills.backfill", "补录运单", _cli_twin("backfill"), "xl_addin.services.waybills"),
        Handler("waybills.review", "主管审核", _cli_twin("review"), "xl_addin.services.waybills"),
        Handler("tracking.refresh", "刷新跟踪", _cli_twin("track"), "xl_addin.services.tracking"),
        Handler("tracking.manual_node", "人工录入节点", _cli_twin("node"), "xl_addin.services.tracking"),
        Handler("exceptions.report", "上报异常", _cli_twin("exception"), "xl_addin.services.exceptions"),
        Handler("exceptions.sync", "同步台账", _cli_twin("exceptions"), "xl_addin.services.exceptions"),
        Handler("reports.weekly", "周报", _cli_twin("weekly"), "xl_addin.services.reports"),
        Handler("reports.email", "发送邮件", _cli_twin("email"), "xl_addin.services.reports"),
        Handler("reports.archive", "月度归档", _cli_twin("archive"), "xl_addin.services.reports"),
        Handler("desk.doctor", "检查环境", _doctor, "xl_addin.services.doctor"),
    )
    return {h.tag: h for h in entries}


HANDLERS: dict[str, Handler] = _registry()


def _service_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def dispatch(tag: str, ui: ExcelUI, now: datetime | None = None) -> str:
    """Run the button ``tag``; returns "ok", "unknown", "not_yet", "user_error" or "failed" (for tests and logs)."""
    handler = HANDLERS.get(tag)
    if handler is None:
        ui.message(f"{UNKNOWN_BUTTON}：{tag!r}。请更新物流助手加载项。", "warning")
        return "unknown"
    if not _service_exists(handler.service):
        ui.message(f"{handler.label}：{NOT_YET}")
        return "not_yet"
    _log_into_desk(ui)
    try:
        handler.run(Context(ui, now))
        return "ok"
    except UserError as exc:
        ui.status(None)
        ui.message(f"{handler.label}没有完成：{exc.message}" + (f"\n怎么办：{exc.hint}" if exc.hint else ""), "error")
        return "user_error"
    except Exception:
        ui.status(None)
        log_path = _log_unexpected(handler.tag)
        ui.message(f"{handler.label}出错了（程序内部错误）。\n详情见日志：{log_path}\n请把这个文件发给维护人员。", "error")
        return "failed"


def _log_into_desk(ui: ExcelUI) -> None:
    from xl_addin.desk import STATE_DIRNAME
    from xl_addin.logs import setup_logging

    book = ui.caller_book_path()
    state = book.parent / STATE_DIRNAME if book else None
    if state is not None and state.is_dir():
        setup_logging(state / "logs")


def _log_unexpected(tag: str) -> Path | None:
    from xl_addin import logs

    if not getattr(logs, "_configured", None):
        try:
            logs.setup_logging(logs.default_log_dir())
        except Exception:
            pass
    log.exception("button %s failed", tag)
    return getattr(logs, "_configured", None)


def run(tag: str) -> None:
    """What the VBA callback calls: ``RunPython("import xl_addin.excel.handlers as h; h.run('<tag>')")``."""
    from xl_addin.excel.ui import XlwingsUI

    dispatch(tag, XlwingsUI.from_caller())
