"""Bring the Binding Table and the orders' waybill cells in line with the store (after every change)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.order_status import OrderStatuses
from xl_addin.adapters.store.waybills import REVIEWED, SOURCE_LABELS, Binding, WaybillStore
from xl_addin.errors import WorkbookLocked
from xl_addin.services.waybills.carrier_sheets import ensure_columns, load_carriers
from xl_addin.services.waybills.policy import Books, WaybillPolicy

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    appended: int = 0
    updated: int = 0
    history_appended: int = 0
    orders_updated: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.messages

    def as_dict(self) -> dict[str, Any]:
        return {"appended": self.appended, "updated": self.updated, "history_appended": self.history_appended,
                "orders_updated": self.orders_updated, "messages": self.messages}

    def lines(self) -> list[str]:
        """What the waybill commands print about the workbooks after a change."""
        return ([f"绑定表: 新增 {self.appended} 行, 更新 {self.updated} 行, 换绑历史 {self.history_appended} 行; "
                 f"订单确认单更新 {self.orders_updated} 行"]
                + [f"未写入工作簿: {m}" for m in self.messages])


def sync_workbooks(store, books: Books, policy: WaybillPolicy = WaybillPolicy()) -> SyncResult:
    """Bring the Binding Table (and the orders' waybill/status cells) in line with the store.

    Idempotent: rows are matched by waybill number; a re-bound row is rewritten in place; history
    rows are appended once. Orders already moved to a monthly archive are left out (their rows were
    removed from the live book on purpose). A workbook open in Excel is left alone and named in ``messages``.
    """
    from xl_addin.adapters.store.followups import ClosingStore

    result = SyncResult()
    tz = ZoneInfo(policy.timezone)
    ws = WaybillStore(store)
    current, history = ws.all_current(), ws.history()
    archived = ClosingStore(store).archived_orders()
    if archived:  # their rows moved to the month's archive book: never bring them back into the live sheets
        current = [b for b in current if b.order_no not in archived]
        history = [h for h in history if h.order_no not in archived]
    if books.bindings is not None:
        try:
            from xl_addin.services.waybills.carrier_checks import carrier_check_cells

            checks = carrier_check_cells(store, current, _carriers_quietly(books), tz)
            _sync_bindings_sheet(books, current, history, tz, result, checks)
        except WorkbookLocked as exc:
            result.messages.append(f"{exc}；绑定已存入状态库，下次运行时写入工作簿")
    if books.orders is not None:
        try:
            _sync_orders_sheet(store, books, current, result)
        except WorkbookLocked as exc:
            result.messages.append(f"{exc}；下次运行时写入订单确认单")
    return result


def _carriers_quietly(books: Books):
    """The qualified carriers for the Binding Table's carrier check (defaults when the sheet is unreadable)."""
    from xl_addin.domain.waybills.carriers import load_default_carriers

    try:
        return load_carriers(books)
    except Exception as exc:  # the check is advice; an unreadable carriers sheet must not stop the sync
        log.warning("carriers sheet not readable, using defaults: %s", exc)
        return load_default_carriers()


def _naive(moment: datetime | None, tz) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def _binding_cells(b: Binding, tz) -> dict[str, Any]:
    return {"order_no": b.order_no, "waybill_no": b.waybill_no, "carrier": b.carrier, "carrier_code": b.carrier_code,
            "source": SOURCE_LABELS.get(b.source, b.source), "bound_at": _naive(b.bound_at, tz),
            "bound_by": b.bound_by, "expected_delivery": b.expected_delivery,
            "expected_estimated": "是" if b.expected_estimated else "否", "service": b.service,
            "est_freight": float(b.est_freight) if b.est_freight else None,
            "selection_reason": b.selection_reason} | _review_cells(b, tz)


def _review_cells(b: Binding, tz) -> dict[str, Any]:
    return {"review_status": "已审核" if b.review_status == REVIEWED else "待审核",
            "reviewed_by": b.reviewed_by, "reviewed_at": _naive(b.reviewed_at, tz)}


def _sync_bindings_sheet(books: Books, current: list[Binding], history: list[Binding], tz, result,
                         checks: dict[str, dict[str, Any]] | None = None) -> None:
    from xl_addin.adapters.workbook.books import BINDING_HISTORY_SHEET, BINDINGS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.waybills.formats import normalize_waybill

    from xl_addin.services.waybills.carrier_checks import CHECK_KEYS

    checks = checks or {}
    table = read_sheet(books.bindings, BINDINGS_SHEET)
    keys = (tuple(_binding_cells(current[0], tz)) + CHECK_KEYS) if current else ()
    columns, headers = ensure_columns(table, BINDINGS_SHEET, keys)
    rows_by_waybill = {normalize_waybill(r.values.get("waybill_no")): r for r in table.rows
                       if r.values.get("waybill_no") not in (None, "")}
    replaced = {h.waybill_no for h in history}
    next_row = max([table.header_row, *(r.row for r in table.rows)]) + 1
    cells: dict[tuple[int, int], Any] = {}
    appended = False
    counts = SyncResult()
    for b in current:
        row = rows_by_waybill.get(b.waybill_no)
        if row is not None:
            follow = {"carrier": b.carrier, "carrier_code": b.carrier_code} \
                if (checks.get(b.waybill_no) or {}).get("carrier_corrected") else {}
            for key, value in (_review_cells(b, tz) | _check_cells(checks, b.waybill_no) | follow).items():
                if _differs(row.values.get(key), value):
                    cells[(row.row, columns[key])] = value
            if any(cells.get((row.row, columns[k])) is not None for k in ("review_status",) + CHECK_KEYS):
                counts.updated += 1
            continue
        old = next((r for r in table.rows if str(r.values.get("order_no") or "").strip() == b.order_no
                    and normalize_waybill(r.values.get("waybill_no")) in replaced), None)
        if old is not None:
            target = old.row
            counts.updated += 1
        else:
            target = next_row
            next_row += 1
            appended = True
            counts.appended += 1
        for key, value in (_binding_cells(b, tz) | _check_cells(checks, b.waybill_no)).items():
            cells[(target, columns[key])] = value
    if cells or headers:
        write_cells(books.bindings, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir,
                    append_table_rows=appended)
    result.appended += counts.appended
    result.updated += counts.updated

    done = [h for h in history if h.replaced_with]
    if not done:
        return
    htable = read_sheet(books.bindings, BINDING_HISTORY_SHEET)
    hkeys = ("order_no", "old_waybill", "new_waybill", "changed_at", "changed_by", "reason")
    hcols, hheaders = ensure_columns(htable, BINDING_HISTORY_SHEET, hkeys)
    seen = {(str(r.values.get("order_no") or "").strip(), normalize_waybill(r.values.get("old_waybill")),
             normalize_waybill(r.values.get("new_waybill"))) for r in htable.rows}
    hrow = max([htable.header_row, *(r.row for r in htable.rows)]) + 1
    hcells: dict[tuple[int, int], Any] = {}
    for h in done:
        if (h.order_no, h.waybill_no, h.replaced_with) in seen:
            continue
        values = (h.order_no, h.waybill_no, h.replaced_with, _naive(h.replaced_at, tz), h.replaced_by, h.replace_reason)
        for key, value in zip(hkeys, values):
            hcells[(hrow, hcols[key])] = value
        hrow += 1
        counts.history_appended += 1
    if hcells:
        write_cells(books.bindings, htable.sheet, htable.header_row, hheaders, hcells, backup_dir=books.backup_dir,
                    append_table_rows=True)
    result.history_appended += counts.history_appended


def _check_cells(checks: dict[str, dict[str, Any]], waybill_no: str) -> dict[str, Any]:
    from xl_addin.services.waybills.carrier_checks import CHECK_KEYS

    found = checks.get(waybill_no) or {}
    return {k: found.get(k) for k in CHECK_KEYS}


def _differs(cell, value) -> bool:
    if isinstance(value, datetime) and isinstance(cell, datetime):
        return abs((cell - value).total_seconds()) >= 60
    return (cell if cell not in ("",) else None) != value


def _sync_orders_sheet(store, books: Books, current: list[Binding], result: SyncResult) -> None:
    from xl_addin.adapters.store.orders import ALLOCATED
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.confirmation import STATUS_LABELS

    schema = ORDERS.sheets[0]
    table = read_sheet(books.orders, schema)
    columns, headers = ensure_columns(table, schema, ("order_status", "waybill_no"))
    waybill_of = {b.order_no: b.waybill_no for b in current}
    statuses = OrderStatuses(store).all()
    cells: dict[tuple[int, int], Any] = {}
    touched_rows = 0
    for rec in table.rows:
        order = str(rec.values.get("order_no") or "").strip()
        number = waybill_of.get(order)
        if number is None:
            continue
        touched = False
        if rec.values.get("waybill_no") != number:
            cells[(rec.row, columns["waybill_no"])] = number
            touched = True
        if statuses.get(order) == ALLOCATED and rec.values.get("order_status") != STATUS_LABELS[ALLOCATED]:
            cells[(rec.row, columns["order_status"])] = STATUS_LABELS[ALLOCATED]
            touched = True
        touched_rows += touched
    if cells or headers:
        write_cells(books.orders, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir)
    result.orders_updated += touched_rows
