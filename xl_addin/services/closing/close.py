"""The use case ``close``: the catch-up and audit run of closing (the scheduler starts it every two hours).

Every signed order is completed with its signing time unless an exception case on it is open (then it
waits, and a later run completes it once the case is closed); a satisfaction follow-up falls due
``[schedule] followup_hours`` (24) after signing. The 满意度回访 sheet is then brought in line with the
store: answers typed into it are recorded, every follow-up is shown with its state.
"""

from __future__ import annotations

from dataclasses import dataclass

from xl_addin.errors import EXIT_OK
from xl_addin.services.closing.close_orders import sync_followups_book
from xl_addin.services.closing.order_completion import complete_signed_orders
from xl_addin.services.report import Report
from xl_addin.services.uow import UnitOfWork

TITLE = "完结订单"
SHOW_HELD = 20


@dataclass(frozen=True)
class CloseRequest:
    """``close`` takes no arguments of its own: the desk and the moment (--desk, --now) make the unit of work."""


def run(uow: UnitOfWork, request: CloseRequest) -> Report:
    settings = uow.desk.settings
    done = complete_signed_orders(uow.store, uow.now, followup_hours=settings.schedule.followup_hours)
    sheet = sync_followups_book(uow.books.orders, uow.store, uow.now, uow.tz, backup_dir=uow.books.backup_dir)
    data = {**done.as_dict(), "sheet": sheet}
    lines = [f"已完结 {len(done.completed)} 单；因异常未结案暂缓 {len(done.held)} 单；新增待回访 "
             f"{done.followups_created} 单"]
    lines += [f"  暂缓 {h['order_no']}: 未结案异常 {', '.join(h['open_cases'])}" for h in done.held[:SHOW_HELD]]
    lines.append(sheet["message"])
    return Report(TITLE, tuple(lines), data, EXIT_OK, tz=uow.tz)


def job_summary(report: Report) -> str:
    """The one line the job log and 最近运行.xlsx keep of a run."""
    return f"完结 {len(report.data['completed'])} 单，因未结案异常暂缓 {len(report.data['held'])} 单"
