"""The use case ``review``: the supervisor's sign-off of a day's bindings, and the changes made after it
(in the store and in the Binding Table). ``run(uow, request)`` is the use case; ``review_day`` does the
sign-off on a store (the tests and scripts call it directly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.waybills import (
    REVIEWED, SOURCE_LABELS, Binding, WaybillStore, binding_fingerprint, changed_after_review,
)
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS, UserError
from xl_addin.services.report import Report
from xl_addin.services.uow import UnitOfWork
from xl_addin.services.waybills.policy import Books, WaybillPolicy
from xl_addin.services.waybills.sheet_sync import SyncResult, sync_workbooks

TITLE = "主管审核"
SHOW_ROWS = 40


@dataclass(frozen=True)
class ReviewRequest:
    """The day whose bindings are signed off, and who signs them off (the supervisor)."""

    day: date
    by: str

    @classmethod
    def parse(cls, day: str, by: str) -> ReviewRequest:
        """From what a person typed (the CLI's --date and --by, the ribbon's input box and Excel's user name)."""
        try:
            return cls(date.fromisoformat(day.strip()), by)
        except ValueError:
            raise UserError(f"--date 的日期格式不对: {day!r}", "请写成 2026-11-26") from None


def run(uow: UnitOfWork, request: ReviewRequest) -> Report:
    """Sign off the day; exit code 1 when bindings were changed after an earlier sign-off."""
    books = Books(uow.books.bindings, uow.books.orders, uow.books.backup_dir)
    report = review_day(uow.store, request.day, request.by, uow.now,
                        policy=WaybillPolicy.from_settings(uow.desk.settings), books=books)
    lines = [f"{request.day}: 审核 {len(report.reviewed)} 条绑定, 之前已审核 {report.already} 条; "
             f"审核后被改动 {len(report.changed)} 条"]
    lines += [f"  ⚠ {c['message']}" for c in report.changed[:SHOW_ROWS]]
    lines += report.sync.lines() if report.sync else []
    return Report(TITLE, tuple(lines), report.as_dict(), EXIT_ROW_ERRORS if report.changed else EXIT_OK, tz=uow.tz)

@dataclass
class ReviewReport:
    day: date
    by: str
    reviewed: list[Binding] = field(default_factory=list)
    already: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    sync: SyncResult | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "by": self.by,
                "counts": {"reviewed": len(self.reviewed), "already_reviewed": self.already,
                           "changed_after_review": len(self.changed)},
                "reviewed": [b.waybill_no for b in self.reviewed], "changed": self.changed,
                "workbooks": self.sync.as_dict() if self.sync else None}


def review_day(store, day: date, by: str, now: datetime, *, policy: WaybillPolicy = WaybillPolicy(),
               books: Books | None = None) -> ReviewReport:
    """The supervisor signs off the bindings made on ``day``; changes since any earlier sign-off are reported."""
    if not (by or "").strip():
        raise UserError("请用 --by 写明审核人姓名")
    tz = ZoneInfo(policy.timezone)
    start = datetime.combine(day, time(0), tz)
    ws = WaybillStore(store)
    report = ReviewReport(day, by.strip())
    report.changed = changed_after_review(store) + sheet_changes(store, books)
    changed_keys = {(c["order_no"], c["waybill_no"]) for c in report.changed}
    todo = []
    for b in ws.bound_between(start, start + timedelta(days=1)):
        if b.review_status == REVIEWED and (b.order_no, b.waybill_no) not in changed_keys:
            report.already += 1
        else:
            todo.append(b)
    with store.transaction():
        ws.mark_reviewed(todo, by.strip(), now)
        for b in todo:
            store.audit(now, by.strip(), "binding:review", "order", b.order_no,
                        {"waybill_no": b.waybill_no, "fingerprint": binding_fingerprint(b)})
    report.reviewed = [ws.current_by_waybill(b.waybill_no) for b in todo]
    if books is not None:
        report.sync = sync_workbooks(store, books, policy)
    return report


def sheet_changes(store, books: Books | None, policy: WaybillPolicy = WaybillPolicy()) -> list[dict[str, Any]]:
    """Reviewed bindings whose row in the Binding Table was edited after sign-off."""
    if books is None or books.bindings is None:
        return []
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.waybills.formats import normalize_waybill

    tz = ZoneInfo(policy.timezone)
    reviewed = {b.waybill_no: b for b in WaybillStore(store).reviewed() if b.is_current}
    by_order = {b.order_no: b for b in reviewed.values()}
    labels = {v: k for k, v in SOURCE_LABELS.items()}
    found = []
    for rec in read_sheet(books.bindings, BINDINGS_SHEET).rows:
        v = rec.values
        number = normalize_waybill(v.get("waybill_no"))
        order = str(v.get("order_no") or "").strip()
        b = reviewed.get(number)
        if b is None:
            other = by_order.get(order)
            if other is not None and number:
                found.append({"kind": "sheet", "row": rec.row, "order_no": order, "waybill_no": other.waybill_no,
                              "message": f"绑定表第{rec.row}行: 订单 {order} 已审核的单号 {other.waybill_no} 被改成 {number}: "
                                         "请用 xl-logistics rebind 换绑并重新审核"})
            continue
        bound_at = v.get("bound_at")
        if isinstance(bound_at, datetime) and bound_at.tzinfo is None:
            bound_at = bound_at.replace(tzinfo=tz)
        eta = v.get("expected_delivery")
        freight = v.get("est_freight")
        values = {"order_no": order, "waybill_no": number, "carrier": v.get("carrier"),
                  "carrier_code": v.get("carrier_code"), "source": labels.get(v.get("source"), v.get("source")),
                  "bound_at": bound_at, "bound_by": v.get("bound_by"),
                  "expected_delivery": eta.date() if isinstance(eta, datetime) else eta,
                  "service": v.get("service"),
                  "est_freight": _money_text(freight)}
        stored = {**{k: getattr(b, k) for k in values}, "est_freight": _money_text(b.est_freight)}
        if binding_fingerprint(values) != binding_fingerprint(stored):
            diff = [k for k in values if binding_fingerprint({**stored, k: values[k]}) != binding_fingerprint(stored)]
            found.append({"kind": "sheet", "row": rec.row, "order_no": b.order_no, "waybill_no": b.waybill_no,
                          "fields": diff,
                          "message": f"绑定表第{rec.row}行 (订单 {b.order_no}) 在 {b.reviewed_by} 审核后被改动: "
                                     f"{'、'.join(diff)}: 请核对后重新审核"})
    return found


def _money_text(value) -> str | None:
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return None
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.1")))
    except InvalidOperation:
        return str(value)
