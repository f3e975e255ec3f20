"""One-shot jobs safe from cron, Task Scheduler or ``schedule``: locked, logged, visible in Excel.

``run_job`` takes the desk's lock for the job (a second copy stops at once with ``JobLocked``),
records the run in the store's ``job_runs``, appends one status line to ``logs/jobs.log`` and
rewrites the small workbook ``最近运行.xlsx`` in the desk, so staff see in Excel when each job last
ran and how it went. A failure is recorded and re-raised (the command exits non-zero).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from xl_addin.errors import JobLocked, UserError

log = logging.getLogger(__name__)

LAST_RUNS_FILE = "最近运行.xlsx"
LAST_RUNS_SHEET = "最近运行"
JOB_LOG = "jobs.log"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def write_job_line(desk, at: datetime, job: str, status: str, seconds: float, summary: str) -> Path:
    """Append one line to the desk's job log: time, job, status, duration, summary."""
    desk.log_dir.mkdir(parents=True, exist_ok=True)
    path = desk.log_dir / JOB_LOG
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{at.isoformat(timespec='seconds')}\t{job}\t{status}\t{seconds:.1f}s\t{_one_line(summary)}\n")
    return path


def write_last_runs(desk, runs: list[dict[str, Any]], tz) -> Path:
    """Rewrite 最近运行.xlsx from the store (product-owned file, replaced atomically)."""
    from xl_addin.adapters.workbook.files import assert_not_open_in_excel
    from xl_addin.adapters.workbook.list_book import write_list_book
    from xl_addin.display.moments import desk_text, local
    from xl_addin.display.vocabulary import label

    path = desk.root / LAST_RUNS_FILE
    if path.exists():
        assert_not_open_in_excel(path)
    rows = [[label("job", r["job"]), local(r["started_at"], tz), local(r["finished_at"], tz),
             label("job_status", r["status"]), desk_text(r["summary"] or "", tz)] for r in runs]
    return write_list_book(path, LAST_RUNS_SHEET, ["任务", "开始时间", "结束时间", "结果", "说明"], rows,
                           text_columns=(5,), time_columns=(2, 3),
                           marked=[i for i, r in enumerate(runs) if r["status"] in ("failed", "partial")],
                           widths=(12, 17, 17, 8, 80), freeze_header=True)


def run_job(desk, job: str, now: datetime, work: Callable[[], Any],
            describe: Callable[[Any], str] = lambda r: "完成", *, lock: bool = True) -> Any:
    """Run ``work`` as the one copy of ``job`` on this desk; record and return its result, re-raise its error.

    ``lock=False`` for a job whose service takes the same job lock itself (refresh)."""
    from contextlib import nullcontext

    from xl_addin.bootstrap import store_for
    from xl_addin.config.timezone import desk_timezone
    from xl_addin.services.tracking import job_lock

    tz = desk_timezone(desk.settings)
    began = time.monotonic()
    try:
        lock = job_lock(desk.lock_dir, job) if lock else nullcontext()
        lock.__enter__()
    except JobLocked as exc:
        write_job_line(desk, now, job, "skipped", 0.0, exc.message)
        raise
    try:
        with store_for(desk) as store:
            run_id = store.start_job(job, now)
        status, summary = "ok", ""
        try:
            result = work()
            status = getattr(result, "job_status", status)  # e.g. a refresh with failed waybills: partial
            summary = describe(result)
            return result
        except JobLocked as exc:  # the service's own lock: another copy is running
            status, summary = "skipped", exc.message
            raise
        except BaseException as exc:
            status = "failed"
            summary = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            raise
        finally:
            seconds = time.monotonic() - began
            finished = now + timedelta(seconds=seconds)  # on the same clock as `now` (which may be --now)
            with store_for(desk) as store:
                store.finish_job(run_id, finished, status, _one_line(summary))
                runs = store.last_runs()
            write_job_line(desk, now, job, status, seconds, summary)
            try:
                write_last_runs(desk, runs, tz)
            except UserError as exc:  # open in Excel: the store and the log have it
                log.info("最近运行.xlsx 未更新: %s", exc)
    finally:
        lock.__exit__(None, None, None)


# ---------------------------------------------------------------- e-mailed reports

def recipients_for(desk, report: str, given: str | None) -> list[str]:
    """--email ADDR[,ADDR] when given, else the configured distribution list ([smtp] <report>_to)."""
    if given:
        return [a.strip() for a in given.replace(";", ",").split(",") if a.strip()]
    return [str(a).strip() for a in getattr(desk.settings.smtp, f"{report}_to", []) if str(a).strip()]


def email_report(desk, subject: str, headline: Any, rows: list, attachments: list[Path],
                 recipients: list[str], env=None):
    """Compose and deliver a report e-mail (SMTP, or an .eml in the outbox when none is configured).

    Raises ReportEmailNotSent when the server refuses or is down; the report files are untouched."""
    from xl_addin.services.notify.notifications import compose_report_email, deliver_email

    sender = desk.settings.smtp.sender or desk.settings.smtp.username or "xl-logistics@localhost"
    msg = compose_report_email(subject, headline, rows, attachments, sender, recipients)
    return deliver_email(msg, desk.settings, desk.outbox_dir, env=env)
