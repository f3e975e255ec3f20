"""What every command shares: --desk/--json/--now, output, progress, and the one error boundary."""

from __future__ import annotations

import contextlib

import functools
import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import click

from xl_addin.config.timezone import zone_named
from xl_addin.errors import EXIT_FAILED, UserError
from xl_addin.services.report import Report

log = logging.getLogger("xl_addin.cli")


@dataclass
class Options:
    desk: Path
    json: bool
    now_text: str | None

    def now(self, tz_name: str | None = None) -> datetime:
        """The moment time rules are evaluated at: --now, else the wall clock (entry points only).

        --now without a time of day (2026-12-07) is refused rather than silently read as midnight."""
        tz = zone_named(tz_name or self.zone())
        if not self.now_text:
            return datetime.now(tz)
        text = self.now_text.strip()
        example = "请写成 2026-11-26T09:30、2026-11-26 09:30 或 2026-11-26T09:30+08:00"
        if len(text) == 10 and text[4:5] == "-" and text[7:8] == "-":
            raise UserError(f"--now 只写了日期 {text!r}，没有时刻",
                            f"请写明时刻，例如 {text}T09:00（当天零点请写 {text}T00:00）")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UserError(f"--now 的时间格式不对: {self.now_text!r}", example) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)

    def zone(self) -> str:
        """The desk's time zone (its config), for what people read; the default zone outside a desk."""
        from xl_addin.config.settings import load_settings
        from xl_addin.display.moments import DEFAULT_ZONE

        try:
            return load_settings(self.desk).desk.timezone or DEFAULT_ZONE
        except Exception:  # no desk, unreadable config: the command itself reports that
            return DEFAULT_ZONE


_current: Options | None = None
# commands that create the folder they are given
_MAY_CREATE_DESK = {"init", "demo"}


def current_options() -> Options | None:
    return _current


# Commands that keep running (scheduler loop, push receiver, sandbox server) hold no workbook for
# their whole life; the one-shot commands they start (the scheduler's subprocesses) do.
_SERVING_COMMANDS = frozenset({"schedule", "serve", "sandbox"})


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --desk, --json and --now after the command name, as every example writes them."""

    @click.option("--now", "now_text", metavar="ISO", default=None,
                  help="Evaluate deadlines and time rules as of this moment (for backfills, audits, tests).")
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on standard output.")
    @click.option("--desk", "desk", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                  show_default=True, help="The desk folder (workbooks, config, state).")
    @functools.wraps(func)
    def wrapper(*args: Any, desk: Path, as_json: bool, now_text: str | None, **kwargs: Any) -> Any:
        global _current
        from xl_addin.adapters.workbook.lock import job_scope

        _current = Options(desk=desk, json=as_json, now_text=now_text)
        if func.__name__ not in _MAY_CREATE_DESK and not Path(desk).exists():
            raise UserError(f"台账文件夹 {desk} 不存在",
                            "请检查 --desk 的路径，或先用 xl-logistics init 该文件夹 创建台账")
        if func.__name__ in _SERVING_COMMANDS:  # runs for days: its jobs lock what they write, one by one
            return func(*args, opts=_current, **kwargs)
        with job_scope():  # every workbook the command reads stays locked until it ends
            return func(*args, opts=_current, **kwargs)

    return wrapper


def render(opts: Options, report: Report) -> int:
    """The CLI's renderer of a use case's Report: JSON with --json (when the command has a JSON form),
    otherwise its text with every moment in the desk's time zone; warnings on standard error; its exit code."""
    if opts.json and report.data is not None:
        click.echo(report.json_text())
    else:
        click.echo(report.text())
    for warning in report.warnings:
        click.echo(warning, err=True)
    return report.exit_code


def emit(opts: Options, payload: Any, text: str | Callable[[], str]) -> None:
    """Print the result of a command not yet written as a use case: JSON (ISO 8601 with offset) when asked,
    otherwise the human text, through the same renderer as a Report.

    The text goes through the formatting layer last, so a moment taken from a stored value shows in the
    desk's time zone as YYYY-MM-DD HH:MM even where a message builder passed it on as ISO text."""
    lines = () if opts.json else (text() if callable(text) else text,)
    render(opts, Report("", lines, payload, tz=opts.zone()))


_progress_listeners: list[Callable[[str, int, int | None], None]] = []


@contextlib.contextmanager
def progress_to(listener: Callable[[str, int, int | None], None]):
    """While inside, every progress bar also tells ``listener(label, done, total)`` (the ribbon's status bar)."""
    _progress_listeners.append(listener)
    try:
        yield
    finally:
        _progress_listeners.remove(listener)


def progress_bar(total: int | None, label: str, unit: str = "行"):
    """A progress callback on stderr when it is a terminal (silent otherwise), also heard by ``progress_to``."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, disable=None, leave=False, mininterval=0.5)

    def update(done: int, total_now: int | None = None) -> None:
        if total_now is not None and bar.total != total_now:
            bar.total = total_now
        bar.n = done
        bar.refresh() if not bar.disable else None
        for listener in list(_progress_listeners):
            listener(label, done, bar.total)

    update.close = bar.close  # type: ignore[attr-defined]
    return update


def report_user_error(exc: UserError) -> int:
    opts = current_options()
    if opts and opts.json:
        click.echo(json.dumps({"error": {"message": exc.message, "hint": exc.hint, "path": exc.path,
                                          "type": type(exc).__name__}}, ensure_ascii=False, indent=2))
    from xl_addin.display.moments import desk_text

    click.echo(desk_text(f"错误: {exc}", opts.zone() if opts else None), err=True)
    return exc.exit_code


def report_unexpected(exc: BaseException, log_path: Path | None) -> int:
    log.exception("unexpected error")
    where = f"详情见日志 {log_path}" if log_path else "详情见日志"
    click.echo(f"出错了: {type(exc).__name__}: {exc}。{where}", err=True)
    return EXIT_FAILED
