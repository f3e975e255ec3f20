"""The ribbon's handler registry: a button's tag → the same service the command line runs.

A whitelist: an unknown tag does nothing but say so. Each handler works on the
calling workbook's desk (the folder of the active workbook), reports through
an injected ``ExcelUI`` (message box, status bar), shows a ``UserError`` in
Chinese with what to do, and turns anything unexpected into a short message
with the log's path. Every button's service module and command-line twin
exist (tests/addin/test_handlers.py checks the registry against the package).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator, Protocol
from zoneinfo import ZoneInfo

from xl_addin.errors import UserError

log = logging.getLogger("xl_addin.excel")

UNKNOWN_BUTTON = "未知按钮"
TITLE = "物流助手"


class ExcelUI(Protocol):
    """What a handler may ask of Excel. The xlwings implementation is in ``xl_addin.excel.ui``."""

    def caller_book_path(self) -> Path | None: ...          # the active workbook's file (None: never saved)
    def message(self, text: str, kind: str = "info", title: str | None = None) -> None: ...  # kind: info / warning / error
    def status(self, text: str | None) -> None: ...          # status bar; None clears it
    def ask(self, prompt: str, default: str = "") -> str | None: ...  # None: cancelled
    def active_row(self) -> int | None: ...                  # 1-based row of the active cell
    def user_name(self) -> str: ...
    def release(self, path: Path): ...  # context manager: save + close the book if open, reopen after
    # optional: open_book(path) → the live-workbook port of that book when it is open in Excel, else None


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

    def caller_workbook(self):
        """The calling book through the workbook port: live in Excel when the UI offers it, else the saved file."""
        live = getattr(self.ui, "workbook_port", None)
        port = live() if callable(live) else None
        if port is not None:
            return port
        from xl_addin.excel.workbook_port import FileWorkbook

        return FileWorkbook(self.ui.caller_book_path())

    def active_order_no(self) -> str | None:
        """The order number on the active row of the calling book (what the user sees, unsaved edits included)."""
        from xl_addin.adapters.workbook.books import ORDERS
        from xl_addin.adapters.workbook.schema import Column, SheetSchema

        row = self.ui.active_row()
        if not row or self.ui.caller_book_path() is None:
            return None
        orders = ORDERS.sheets[0]
        col = orders.column("order_no")
        schema = SheetSchema(orders.name, orders.table, (Column(col.key, col.label, col.aliases, required=True),))
        try:
            table = self.caller_workbook().read_table(schema)
        except Exception:  # no such column in this book: nothing to offer
            return None
        match = next((r for r in table.rows if r.row == row), None)
        value = match.values.get("order_no") if match else None
        return str(value).strip() if value not in (None, "") else None

    @contextmanager
    def release_desk_books(self, root: Path) -> Iterator[None]:
        """Let go of every desk workbook open in Excel while a file service rewrites them (see ``ExcelUI.release``)."""
        from xl_addin.bootstrap import load_desk

        desk = load_desk(root, must_exist=False)
        with ExitStack() as stack:
            for key in DESK_BOOKS:
                try:
                    path = desk.workbook(key)
                except AttributeError:
                    continue
                if path.exists():
                    stack.enter_context(self.ui.release(path))
            yield


@dataclass(frozen=True)
class Handler:
    tag: str
    label: str
    run: Callable[[Context], None]
    service: str  # the service module the button runs (checked to exist by the tests)
    command: str | None = None  # its command-line twin (checked to be registered by the tests)


# ---------------------------------------------------------------- stage 1: orders

def _validate(ctx: Context) -> None:
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake.validation import validate_orders

    book = ctx.ui.caller_book_path()
    root = ctx.desk_root()
    desk = load_desk(root, must_exist=False)
    own = desk.is_initialised() and book.resolve() == desk.workbook("orders").resolve()
    if not own:
        _require_order_sheet(ctx)  # before anything is saved or closed: an unrelated book is left as it is
    tz = desk.settings.desk.timezone if own else "Asia/Shanghai"
    window = timedelta(minutes=desk.settings.intake.confirm_within_minutes) if own else timedelta(hours=1)
    ctx.ui.status("正在校验订单…")
    from xl_addin.services.intake.desk_rules import policy_for_desk, rules_for_desk

    store = store_for(desk) if own else None
    try:
        with ctx.ui.release(book):  # the desk's own keyword file and gate settings, as the command uses
            report = validate_orders(book, ctx.moment(tz), store=store, tz_name=tz, confirm_within=window,
                                     backup_dir=desk.backup_dir if own else None,
                                     sheet_name=(desk.settings.intake.order_sheet or None) if own else None,
                                     rules=rules_for_desk(desk if own else None),
                                     policy=policy_for_desk(desk if own else None),
                                     progress=lambda done, total: ctx.ui.status(f"校验订单：{done}/{total}"))
    finally:
        if store is not None:
            store.close()
    s = report.summary
    text = (f"{s['rows']} 行：通过 {s['ok']}，待复核 {s['warnings']}，有问题 {s['errors']}\n"
            f"已确认 {s['confirmed']}，待客户确认 {s['awaiting']}（超时 {s['overdue']}），已取消 {s['cancelled']}\n"
            + ("结果已写入“校验状态”“问题说明”等列。" if report.written else f"未写入工作簿：{report.write_message}"))
    ctx.ui.status(None)
    ctx.ui.message(text, "warning" if report.has_errors else "info")


def _require_order_sheet(ctx: Context) -> None:
    """Raise (a WorkbookError naming the missing columns) unless the calling book has an order sheet."""
    from xl_addin.adapters.workbook.books import ORDERS

    ctx.caller_workbook().read_table(ORDERS.sheets[0])


def _confirm(ctx: Context) -> None:
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake.confirmation import record_confirmation

    desk = load_desk(ctx.desk_root())
    book = desk.workbook("orders")
    default = ctx.active_order_no() or ""
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
    from xl_addin.services.desk.doctor import examine_desk

    report = examine_desk(ctx.desk_root(), ctx.moment("Asia/Shanghai"))
    marks = {"ok": "✓", "warning": "!", "error": "✗"}
    lines = [f"台账：{report.desk}"] + [f"{marks[f.status]} {f.message}" for f in report.findings]
    lines.append("台账正常" if report.healthy else "发现问题，请按上面的提示处理")
    ctx.ui.message("\n".join(lines), "info" if report.healthy else "warning")


# ---------------------------------------------------------------- the other buttons: the CLI twin

# What to ask for each of a command's required parameters (name → prompt); others use the option's help.
PROMPTS = {
    "order_no": "订单编号：",
    "waybill": "物流商下发的运单号：",
    "new_waybill": "新的运单号：",
    "carrier": "物流商（代码或名称，如 SF、顺丰、中通）：",
    "day": "日期（YYYY-MM-DD）：",
    "reason": "原因：",
    "kind": "异常类型（延误 / 丢件 / 破损 / 信息错误）：",
    "type": "异常类型（延误 / 丢件 / 破损 / 信息错误）：",
    "description": "异常描述：",
    "month": "月份（YYYY-MM）：",
}
WHO = ("by",)  # filled with the Excel user's name, never asked
DESK_BOOKS = ("orders", "bindings", "tracking", "exceptions")


def _cli_command(name: str):
    """The click command ``name`` as registered (None for a name the CLI does not have)."""
    from xl_addin.entrypoints.cli import cli

    return cli.commands.get(name)


def _default_for(ctx: "Context", param: str) -> str:
    if param == "day":
        return ctx.moment("Asia/Shanghai").date().isoformat()
    if param == "month":  # the month a person archives is the finished one, as the scheduler's run on the 1st
        from xl_addin.domain.closing import previous_month

        return previous_month(ctx.moment("Asia/Shanghai").date())
    if param == "order_no":
        return ctx.active_order_no() or ""
    return ""


def _ask_arguments(ctx: "Context", command, also: tuple[str, ...] = ()) -> list[str] | None:
    """Ask the user for each required parameter of ``command`` and the optional ones named in ``also``;
    None when they cancel."""
    import click

    positional: list[str] = []
    options: list[str] = []
    for param in command.params:
        name = param.name or ""
        if name in ("desk", "as_json", "now_text") or not (param.required or name in also):
            continue
        if name in WHO:
            value = ctx.ui.user_name()
        else:
            prompt = PROMPTS.get(name) or f"{(getattr(param, 'help', None) or name).rstrip('.')}："
            if isinstance(param.type, click.Choice):
                prompt = f"{prompt.rstrip('：')}（{' / '.join(param.type.choices)}）："
            value = ctx.ui.ask(prompt, _default_for(ctx, name))
            if value is None or not str(value).strip():
                return None
            value = str(value).strip()
        if isinstance(param, click.Argument):
            positional.append(value)
        else:
            options += [param.opts[0], value]
    return positional + options


@contextmanager
def archive_through_excel(ctx: Context, root: Path) -> Iterator[None]:
    """For 月度归档: desk books open in Excel are saved (so the archive reads what the staff see) and stay
    open; the archive then deletes their rows through Excel and saves them. Without ``open_book`` on the
    UI the books are let go as for any other command."""
    from xl_addin.services.closing.archive_in_excel import removal_through

    open_book = getattr(ctx.ui, "open_book", None)
    if not callable(open_book):
        with ctx.release_desk_books(root):
            yield
        return
    from xl_addin.bootstrap import load_desk

    desk = load_desk(root, must_exist=False)
    for key in DESK_BOOKS:
        port = open_book(desk.workbook(key))
        if port is not None:
            port.save()
    with removal_through(open_book):
        yield


def cli_twin(command: str, *extra: str, ask: bool = True, also_ask: tuple[str, ...] = (),
             books: Callable[["Context", Path], object] | None = None) -> Callable[["Context"], None]:
    """Run the button's own command in-process on the desk (exactly what the scheduler runs) and show its text.

    Required parameters (and the optional ones in ``also_ask``) are asked for in an input box (the
    person's name comes from Excel); the desk's workbooks open in Excel are saved and let go while the
    command rewrites them.
    """

    def run(ctx: Context) -> None:
        import contextlib
        import io

        import click

        from xl_addin.entrypoints.cli import cli

        cmd = _cli_command(command)
        if cmd is None:  # a registry bug, caught by the tests: reported as a failure with the log's path
            raise LookupError(f"the ribbon names a command the CLI does not have: {command!r}")
        root = ctx.desk_root()
        asked = _ask_arguments(ctx, cmd, also_ask) if ask else []
        if asked is None:
            ctx.ui.status(None)
            return
        names = {p.name for p in cmd.params}
        args = [command, *asked, *(e for e in extra if e.lstrip("-").replace("-", "_") in names), "--desk", str(root)]
        if ctx.now is not None:
            args += ["--now", ctx.now.isoformat()]
        out, err = io.StringIO(), io.StringIO()
        ctx.ui.status(f"正在运行：{' '.join(args[:1 + len(asked)])}…")
        code = 0
        from xl_addin.entrypoints.common import progress_to

        def on_progress(label: str, done: int, total: int | None) -> None:  # long work shows in Excel's status bar
            ctx.ui.status(f"{label}：{done}/{total}" if total else f"{label}：{done}")

        held = books(ctx, root) if books else ctx.release_desk_books(root)
        with held, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                progress_to(on_progress):
            try:
                code = cli.main(args=args, prog_name="xl-logistics", standalone_mode=False) or 0
            except click.exceptions.Exit as exc:
                code = exc.exit_code
            except click.ClickException as exc:
                from xl_addin.entrypoints.click_zh import tidy

                raise UserError(tidy(exc.format_message()), "请检查输入的内容后重试") from None
        from xl_addin.excel.report_box import show_report
        from xl_addin.services.report import Report

        text = "\n".join(t for t in (out.getvalue().strip(), err.getvalue().strip()) if t)
        show_report(ctx.ui, Report("", (text,) if text else (), exit_code=code))

    return run


def _review(ctx: Context) -> None:
    """主管审核: the day (today offered) and the Excel user as the reviewer, then the use case review."""
    from xl_addin.bootstrap import build_uow, load_desk
    from xl_addin.excel.report_box import show_report
    from xl_addin.services.waybills import review

    root = ctx.desk_root()
    day = ctx.ui.ask(PROMPTS["day"], _default_for(ctx, "day"))
    if day is None or not str(day).strip():
        ctx.ui.status(None)
        return
    request = review.ReviewRequest.parse(str(day).strip(), ctx.ui.user_name())
    desk = load_desk(root)
    ctx.ui.status(f"正在审核 {request.day} 的绑定…")
    with ctx.release_desk_books(root), build_uow(desk, ctx.moment(desk.settings.desk.timezone)) as uow:
        report = review.run(uow, request)
    show_report(ctx.ui, report)


def _manual_nodes(ctx: Context) -> None:
    """Read the 人工录入 sheet into the store now, without waiting for the next refresh."""
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.tracking import ingest_manual_nodes

    desk = load_desk(ctx.desk_root())
    ctx.ui.status("正在导入人工录入的节点…")
    with ctx.ui.release(desk.workbook("tracking")):
        r = ingest_manual_nodes(desk, ctx.moment(desk.settings.desk.timezone))
    ctx.ui.status(None)
    lines = [f"已导入人工录入节点 {r.get('manual_ingested', 0)} 条"]
    lines += [f"  ! {p}" for p in r.get("manual_problems", [])[:20]]
    if not r.get("written", True) and r.get("message"):
        lines.append(f"跟踪记录表未写入：{r['message']}")
    ctx.ui.message("\n".join(lines), "warning" if r.get("manual_problems") else "info")


def _registry() -> dict[str, Handler]:
    cases, closing = "xl_addin.services.cases.case_handling", "xl_addin.services.closing.close_orders"
    entries = (
        Handler("intake.validate", "校验订单", _validate, "xl_addin.services.intake.validation"),
        Handler("intake.confirm", "客户确认", _confirm, "xl_addin.services.intake.validation"),
        Handler("waybills.allocate", "分配运单", cli_twin("allocate"), "xl_addin.services.waybills", "allocate"),
        Handler("waybills.backfill", "补录运单", cli_twin("bind"), "xl_addin.services.waybills", "bind"),
        Handler("waybills.review", "主管审核", _review, "xl_addin.services.waybills.review", "review"),
        Handler("tracking.refresh", "刷新跟踪", cli_twin("refresh"), "xl_addin.services.tracking", "refresh"),
        Handler("tracking.manual_node", "人工录入节点", _manual_nodes, "xl_addin.services.tracking"),
        Handler("exceptions.report", "上报异常", cli_twin("report-exception"), cases, "report-exception"),
        Handler("exceptions.sync", "同步台账", cli_twin("sync-ledger"), cases, "sync-ledger"),
        Handler("reports.weekly", "周报", cli_twin("summary", ask=False), cases, "summary"),
        Handler("reports.email", "发送邮件", cli_twin("summary", "--email", ask=False), cases, "summary"),
        Handler("reports.archive", "月度归档", cli_twin("archive", also_ask=("month",), books=archive_through_excel),
                closing, "archive"),
        Handler("desk.doctor", "检查环境", _doctor, "xl_addin.services.desk.doctor"),
    )
    return {h.tag: h for h in entries}


HANDLERS: dict[str, Handler] = _registry()


def dispatch(tag: str, ui: ExcelUI, now: datetime | None = None) -> str:
    """Run the button ``tag``; returns "ok", "unknown", "user_error" or "failed" (for tests and logs)."""
    handler = HANDLERS.get(tag)
    if handler is None:
        ui.message(f"{UNKNOWN_BUTTON}：{tag!r}。请更新物流助手加载项。", "warning")
        return "unknown"
    from xl_addin.adapters.workbook.lock import job_scope

    try:
        _log_into_desk(ui)
        with job_scope():  # the button's workbooks stay locked until it is done, as for a command
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
    from xl_addin.excel.ui import NoUsableWorkbook, XlwingsUI

    try:
        ui = XlwingsUI.from_caller()
    except NoUsableWorkbook as none:
        none.tell()
        return
    dispatch(tag, ui)
