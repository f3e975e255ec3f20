"""Stage 2 service: choose the carrier, allocate or record the waybill number, bind it, sign off the day.

The state store is the record of truth (numbers unique forever, bindings, history, review);
the Binding Table and the Order Confirmation workbooks are brought in line with it after every
change. When a workbook is open in Excel the store keeps everything and the next run writes the
missing rows (rows already in the sheet, by waybill number, are never appended twice).

Allocation runs in two steps so a crash never loses or duplicates a number:
1. one ``BEGIN IMMEDIATE`` transaction claims the orders and reserves a block of serials per
   prefix, registering every number as ``reserved`` for its order;
2. chunks of bindings are written (number → ``bound``, order → ``allocated``, audit).
A batch whose process died between the two leaves ``reserved`` numbers; the next run marks them
``void`` (never handed out again) and allocates those orders afresh.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.waybills import (
    AUTO, CARRIER_API, MANUAL, PENDING, REVIEWED, SOURCE_LABELS, VOID, Binding, WaybillStore, WaybillTaken,
    binding_fingerprint, changed_after_review, new_batch_id,
)
from xl_addin.errors import StoreError, UserError, WorkbookLocked

log = logging.getLogger(__name__)

CHUNK = 5000
SOURCES = {"manual": MANUAL, "carrier_api": CARRIER_API, "auto": AUTO,
           "人工录入": MANUAL, "物流商接口": CARRIER_API, "自动生成": AUTO}


@dataclass(frozen=True)
class WaybillPolicy:
    """The desk's settings that allocation needs (from [desk] and [waybills])."""

    numbering: str = "carrier"          # "carrier" or "company"
    company_short_code: str = "XL"
    shipper_province: str = "浙江省"
    timezone: str = "Asia/Shanghai"
    bound_by: str = "系统"

    @classmethod
    def from_settings(cls, settings) -> "WaybillPolicy":
        return cls(settings.waybills.numbering, settings.desk.company_short_code.strip().upper(),
                   settings.desk.shipper_province, settings.desk.timezone, settings.waybills.bound_by)


@dataclass
class Books:
    """Where the workbooks are (None: store only, e.g. a test or another desk's scripted run)."""

    bindings: Path | None = None
    orders: Path | None = None
    backup_dir: Path | None = None

    @classmethod
    def for_desk(cls, desk) -> "Books":
        b, o = desk.workbook("bindings"), desk.workbook("orders")
        return cls(b if b.exists() else None, o if o.exists() else None, desk.backup_dir)


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


@dataclass
class AllocationReport:
    bindings: list[Binding] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)   # orders that could not be allocated
    warnings: list[dict[str, Any]] = field(default_factory=list)   # allocated, but tell someone
    voided: list[str] = field(default_factory=list)                # numbers of abandoned batches made void
    skipped: int = 0
    sync: SyncResult | None = None

    @property
    def has_errors(self) -> bool:
        return bool(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": {"allocated": len(self.bindings), "problems": len(self.problems),
                           "warnings": len(self.warnings), "voided": len(self.voided), "skipped": self.skipped},
                "bindings": [b.as_dict() for b in self.bindings], "problems": self.problems,
                "warnings": self.warnings, "voided": self.voided,
                "workbooks": self.sync.as_dict() if self.sync else None}


# ---------------------------------------------------------------- carriers

class CarrierTableError(UserError):
    """The carriers or rate sheet has bad rows; ``problems`` name the sheet, row and column."""

    def __init__(self, message: str, problems: list, hint: str | None = None, *, path: str | None = None):
        super().__init__(message, hint, path=path)
        self.problems = problems


def load_carriers(books: Books | None = None):
    """The qualified-carrier list with its prices and transit days.

    Carriers: the "合格物流商名录" sheet when it has rows, else the default (then written into the
    empty sheet so the desk can edit it). Prices and days: the "运价与时效" sheet's rows for a carrier
    replace its built-in table; an empty rate sheet is filled with what is in use. Bad rows raise
    CarrierTableError (exit 2) listing every bad cell.
    """
    from xl_addin.domain.waybills.carriers import CarrierRowsError, carriers_from_rows, load_default_carriers

    defaults = load_default_carriers()
    if books is None or books.bindings is None:
        return defaults
    from xl_addin.adapters.workbook.books import CARRIERS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet

    table = read_sheet(books.bindings, CARRIERS_SHEET)
    if not table.rows:
        try:
            _fill_carriers_sheet(books, table, defaults)
        except WorkbookLocked:
            log.info("carriers sheet not filled: workbook open in Excel")
        return _with_rate_sheet(books, defaults)
    from xl_addin.domain.waybills.carriers import _default_rows

    base = {r["code"]: dict(r) for r in _default_rows()}
    rows = []
    for rec in table.rows:
        v = rec.values
        code = str(v.get("carrier_code") or "").strip().upper()
        row = dict(base.get(code) or {"code": code, "prices": {}, "transit_days": {}, "services": ["standard"]})
        for key, target in (("name", "name"), ("kuaidi100_code", "kuaidi100_code"), ("short_code", "short_code"),
                            ("qualified", "qualified"), ("services", "services")):
            if v.get(key) not in (None, ""):
                row[target] = v[key]
        days = v.get("transit_days")
        if isinstance(days, str) and days.strip().startswith("{"):
            row["transit_days"] = days
        elif isinstance(days, int) and not isinstance(days, bool):
            table_days = {s: dict(g) for s, g in (row.get("transit_days") or {}).items()}
            table_days.setdefault("standard", {})["national"] = days
            row["transit_days"] = table_days
        rows.append(row)
    try:
        carriers = carriers_from_rows(rows)
    except CarrierRowsError as exc:
        raise CarrierTableError(f"「{CARRIERS_SHEET.name}」有错误: {exc}", [p.as_dict() for p in exc.problems],
                                "请改正物流商名录后重试", path=str(books.bindings)) from None
    return _with_rate_sheet(books, carriers)


def _with_rate_sheet(books: Books, carriers):
    """Apply the "运价与时效" rows; fill the sheet when it is empty; an old workbook without it keeps the built-in table."""
    from xl_addin.adapters.workbook.books import RATES_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.waybills.carriers import CarrierRowsError
    from xl_addin.domain.waybills.rates import apply_rates, rate_rows_for, rates_from_rows
    from xl_addin.errors import WorkbookError

    try:
        table = read_sheet(books.bindings, RATES_SHEET, sheet_name=RATES_SHEET.name)
    except WorkbookError as exc:
        log.info("no rate sheet in %s (%s): built-in prices used", books.bindings, exc)
        return carriers
    if not table.rows:
        try:
            _fill_rates_sheet(books, table, rate_rows_for(carriers))
        except WorkbookLocked:
            log.info("rate sheet not filled: workbook open in Excel")
        return carriers
    try:
        rates = rates_from_rows(((r.row, r.values) for r in table.rows), [c.code for c in carriers],
                                RATES_SHEET.name)
    except CarrierRowsError as exc:
        shown = "；".join(p.message for p in exc.problems[:20])
        more = f"；另有 {len(exc.problems) - 20} 处" if len(exc.problems) > 20 else ""
        raise CarrierTableError(f"「{RATES_SHEET.name}」有 {len(exc.problems)} 处错误: {shown}{more}",
                                [p.as_dict() for p in exc.problems], "请改正运价与时效表后重试",
                                path=str(books.bindings)) from None
    return apply_rates(carriers, rates)


def _fill_rates_sheet(books: Books, table, rates) -> None:
    from xl_addin.adapters.workbook.books import RATES_SHEET
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.waybills.rates import RATE_GROUP_LABELS, RATE_SERVICE_LABELS

    keys = ("carrier_code", "service", "dest_group", "first_weight_price", "additional_price", "transit_days")
    columns, headers = _ensure_columns(table, RATES_SHEET, keys)
    cells: dict[tuple[int, int], Any] = {}
    for i, r in enumerate(rates):
        row = table.header_row + 1 + i
        values = (r.carrier_code, RATE_SERVICE_LABELS[r.service], RATE_GROUP_LABELS[r.dest_group],
                  float(r.first_weight_price), float(r.additional_price), r.transit_days)
        for key, value in zip(keys, values):
            cells[(row, columns[key])] = value
    if cells:
        write_cells(books.bindings, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir,
                    append_table_rows=True)


def _fill_carriers_sheet(books: Books, table, carriers) -> None:
    from xl_addin.adapters.workbook.books import CARRIERS_SHEET
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.waybills.carriers import SERVICE_LABELS, STANDARD

    columns, headers = _ensure_columns(table, CARRIERS_SHEET,
                                       ("carrier_code", "name", "kuaidi100_code", "short_code", "qualified",
                                        "services", "transit_days"))
    cells: dict[tuple[int, int], Any] = {}
    for i, c in enumerate(carriers):
        r = table.header_row + 1 + i
        order = ("standard", "express", "cold_chain", "bulky", "insured")
        values = {"carrier_code": c.code, "name": c.name, "kuaidi100_code": c.kuaidi100_code,
                  "short_code": c.short_code, "qualified": "是" if c.qualified else "否",
                  "services": ",".join(SERVICE_LABELS[s].replace("标准快递", "标准") for s in order if s in c.services),
                  "transit_days": c.transit_days.get(STANDARD, {}).get("national")}
        for key, value in values.items():
            cells[(r, columns[key])] = value
    write_cells(books.bindings, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir,
                append_table_rows=True)


def _ensure_columns(table, schema, keys) -> tuple[dict[str, int], dict[int, str]]:
    """Columns of ``keys`` in the sheet; missing ones get a header after the last column."""
    columns = dict(table.columns)
    headers: dict[int, str] = {}
    next_col = max([table.last_column, *columns.values(), 0]) + 1
    for key in keys:
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = schema.column(key).label
            next_col += 1
    return columns, headers


# ---------------------------------------------------------------- allocation

def _order_for_shipping(rec):
    return _shipping(rec.order_no, rec.fields)


def _shipping(order_no: str, fields: dict | None, override=None):
    from xl_addin.domain.waybills.selection import OrderForShipping

    f = fields or {}
    n = f.get("normalized") or {}
    return OrderForShipping(order_no=order_no, destination_province=n.get("province"),
                            tags=tuple(n.get("tags") or ()),
                            weight_kg=f.get("weight_kg") if n.get("weight_kg") is None else n["weight_kg"],
                            volume_m3=f.get("volume_m3") if n.get("volume_m3") is None else n["volume_m3"],
                            preferred_carrier=f.get("preferred_carrier"), override=override,
                            declared_value=n.get("declared_value"))


def _checked_overrides(overrides, snapshot, carriers) -> dict:
    """Overrides keyed by order; a typo (unknown order, unknown carrier, no author) stops the run before any number
    is taken, so a person's choice is never silently dropped."""
    from xl_addin.domain.waybills.carriers import find_carrier

    if not overrides:
        return {}
    waiting = {o for o, _ in snapshot}
    wrong = []
    out = {}
    for order_no, ov in overrides.items():
        order_no = str(order_no).strip()
        if not (ov.author or "").strip():
            wrong.append(f"订单 {order_no}: 没有写明指定人 (--by)")
        elif order_no not in waiting:
            wrong.append(f"订单 {order_no} 不是待分配运单的已确认订单")
        elif find_carrier(ov.carrier, carriers) is None:
            wrong.append(f"订单 {order_no}: 物流商 {ov.carrier!r} 不在物流商名录中")
        else:
            out[order_no] = ov
    if wrong:
        raise UserError("人工指定物流商有误, 未分配任何运单: " + "；".join(wrong),
                        "请改正 --override 订单号=物流商 (物流商写代码或名称, 如 SF、顺丰) 后重试")
    return out


def _service_label(sel) -> str:
    from xl_addin.domain.waybills.carriers import SERVICE_LABELS

    return "+".join(SERVICE_LABELS.get(s, s) for s in (sel.service, *sel.addons))


def allocate(store, now: datetime, *, policy: WaybillPolicy = WaybillPolicy(), books: Books | None = None,
             carriers=None, limit: int | None = None, chunk: int = CHUNK,
             on_chunk: Callable[[int, int], None] | None = None, write: bool = True,
             overrides: dict | None = None) -> AllocationReport:
    """Allocate waybill numbers for every confirmed order without a binding (at most ``limit``).

    ``overrides``: {order_no: selection.Override} — a person's carrier choice, which wins over the rule;
    the binding's reason names the person, and the audit log has a ``carrier:override`` entry by them.
    """
    from xl_addin.adapters.store.orders import ALLOCATED, CONFIRMED
    from xl_addin.domain.waybills.calendar import expected_delivery
    from xl_addin.domain.waybills.numbering import format_waybill
    from xl_addin.domain.waybills.selection import Selection, select_carriers

    tz = ZoneInfo(policy.timezone)
    local = now.astimezone(tz)
    day = local.date()
    ws = WaybillStore(store)
    report = AllocationReport()
    actor = policy.bound_by
    ws.roomy_cache()
    report.voided = ws.void_abandoned(now, actor)
    carriers = list(carriers) if carriers is not None else load_carriers(books)

    def choose(recs) -> list[tuple[str, Selection]]:
        picked = []
        for (order_no, _), sel in zip(recs, select_carriers([_shipping(o, f, chosen_by.get(o)) for o, f in recs],
                                                            carriers, policy.shipper_province)):
            if isinstance(sel, Selection):
                picked.append((order_no, sel))
                if sel.warnings:
                    report.warnings.extend({"order_no": order_no, **w.as_dict()} for w in sel.warnings)
            else:
                report.problems.append({"order_no": order_no, **sel.as_dict()})
        return picked

    # a snapshot to choose carriers on (outside the write lock); claims are re-checked inside it.
    # With a limit only the orders actually claimed are looked at, inside the lock.
    snapshot = ws.unclaimed_orders(CONFIRMED)  # [(order_no, fields)]
    chosen_by = _checked_overrides(overrides, snapshot, carriers)
    chosen = choose(snapshot) if limit is None else None

    batch_id = new_batch_id(now)
    planned: list[tuple[str, str, Selection]] = []  # (waybill, order, selection)
    with store.transaction():
        ws.open_batch(batch_id, actor, now)
        still = {r[0] for r in store.conn.execute("SELECT order_no FROM orders WHERE status = ?", (CONFIRMED,))}
        taken = ws.claimed_orders()
        if chosen is None:
            free = [r for r in snapshot if r[0] in still and r[0] not in taken]
            report.skipped = max(0, len(free) - limit)
            chosen = mine = choose(free[:limit])
        else:
            mine = [(o, s) for o, s in chosen if o in still and o not in taken]
            report.skipped = len(chosen) - len(mine)
        by_prefix: dict[str, list[tuple[str, Selection]]] = defaultdict(list)
        for o, s in mine:
            prefix = policy.company_short_code if policy.numbering == "company" else s.carrier.short_code
            by_prefix[prefix].append((o, s))
        for prefix, group in by_prefix.items():
            first = ws.reserve_serials(prefix, day, len(group))
            for i, (o, s) in enumerate(group):
                planned.append((format_waybill(prefix, day, first + i), o, s))
        ws.register(((w, s.carrier.code, o) for w, o, s in planned), "reserved", AUTO, batch_id, now)
        store.audit(now, actor, "waybill:reserve", "batch", batch_id,
                    {"count": len(planned), "prefixes": {p: len(g) for p, g in by_prefix.items()}})

    eta_cache: dict[tuple, Any] = {}
    said_estimated = False
    labels: dict[tuple, str] = {}
    done = 0
    for start in range(0, len(planned), chunk):
        part = planned[start:start + chunk]
        bindings = []
        for w, o, s in part:
            key = (s.carrier.code, s.service, s.dest_group)
            label = labels.get((s.service, s.addons))
            if label is None:
                label = labels[(s.service, s.addons)] = _service_label(s)
            eta = eta_cache.get(key)
            if eta is None:
                try:
                    eta = expected_delivery(local, s.carrier, s.service, s.dest_group)
                except ValueError as exc:
                    report.warnings.append({"order_no": o, "code": "ETA_UNKNOWN", "severity": "warning",
                                            "column": "expected_delivery", "message": str(exc)})
                    eta = False
                eta_cache[key] = eta
            bindings.append(Binding(
                order_no=o, waybill_no=w, carrier=s.carrier.name, carrier_code=s.carrier.code, source=AUTO,
                bound_at=now, bound_by=actor, expected_delivery=eta.date if eta else None,
                expected_estimated=bool(eta and eta.estimated), service=label,
                est_freight=str(s.freight) if s.freight is not None else None, selection_reason=s.reason,
                decided_by=s.decided_by))
            if eta and eta.estimated and not said_estimated:
                said_estimated = True
                report.warnings.append({"order_no": o, "code": "ETA_ESTIMATED", "severity": "warning",
                                        "column": "expected_delivery", "message": eta.warning})
        with store.transaction():
            ws.insert_bindings(bindings)
            changed = ws.mark_bound(batch_id, [b.waybill_no for b in bindings], now)
            if changed != len(bindings):
                raise StoreError("预留的单号已被作废 (分配中断太久), 本批未完成绑定", "请重新运行 xl-logistics allocate")
            stamp = _iso(now)
            store.conn.executemany("UPDATE orders SET status = ?, updated_at = ? WHERE order_no = ?",
                                   [(ALLOCATED, stamp, b.order_no) for b in bindings])
            ws.audit_many(now, actor, "binding:create", "order",
                          ((b.order_no, {"waybill_no": b.waybill_no, "carrier": b.carrier_code, "source": AUTO,
                                         "batch": batch_id, "decided_by": b.decided_by}) for b in bindings))
            for w, o, s in part:
                if s.decided_by == "override":
                    ov = chosen_by.get(o)
                    store.audit(now, s.override_author or "?", "carrier:override", "order", o,
                                {"waybill_no": w, "carrier": s.carrier.code, "requested": ov.carrier if ov else None,
                                 "note": ov.note if ov else "", "reason": s.reason})
        report.bindings.extend(bindings)
        done += len(part)
        if on_chunk is not None:
            on_chunk(done, len(planned))
    with store.transaction():
        ws.close_batch(batch_id, now)
    if write and books is not None:
        report.sync = sync_workbooks(store, books, policy)
    return report


def _iso(now: datetime) -> str:
    from xl_addin.adapters.store.store import utc_iso

    return utc_iso(now)


# ---------------------------------------------------------------- manual numbers

def _sheet_bindings(books: Books | None) -> dict[str, str]:
    """waybill → order of the rows in the Binding Table sheet (a number typed there by hand counts too)."""
    if books is None or books.bindings is None:
        return {}
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.waybills.formats import normalize_waybill

    table = read_sheet(books.bindings, BINDINGS_SHEET)
    return {normalize_waybill(r.values.get("waybill_no")): str(r.values.get("order_no") or "").strip()
            for r in table.rows if r.values.get("waybill_no") not in (None, "")}


def _checked_number(store, waybill: str, carrier_name: str, carriers, policy: WaybillPolicy, books: Books | None):
    """Normalise and check a hand-entered number; refuse one known anywhere. Returns (number, carrier)."""
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import check_waybill, normalize_waybill

    number = normalize_waybill(waybill)
    problems = check_waybill(number, carrier_name, carriers, own_prefixes=(policy.company_short_code,))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise UserError(errors[0].message, "单号未绑定")
    carrier = find_carrier(carrier_name, carriers)
    entry = WaybillStore(store).registry_entry(number)
    if entry is not None:
        where = {"bound": "已绑定到订单", "reserved": "已预留给订单", "replaced": "曾绑定到订单 (已换绑)",
                 "void": "是作废的单号 (原预留给订单"}[entry["state"]]
        tail = ")" if entry["state"] == VOID else ""
        raise WaybillTaken(f"物流单号 {number} {where} {entry['order_no'] or '?'}{tail}, 不能重复使用",
                           "请核对单号; 确需改绑请用 xl-logistics rebind", order_no=entry["order_no"],
                           state=entry["state"])
    sheet_order = _sheet_bindings(books).get(number)
    if sheet_order is not None:
        raise WaybillTaken(f"物流单号 {number} 已出现在绑定表中 (订单 {sheet_order or '未填'}), 不能重复使用",
                           "请核对绑定表中的这一行", order_no=sheet_order or None, state="sheet")
    return number, carrier, [p.as_dict() for p in problems]


def _manual_binding(store, order_no, number, carrier, source, by, now, policy, reason, carriers) -> Binding:
    """The binding row for a hand-entered number: service and expected date from the rule's choice."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.domain.waybills.calendar import expected_delivery
    from xl_addin.domain.waybills.selection import OrderForShipping, Override, Selection, select_carrier

    rec = OrderRecords(store).get(order_no)
    eta, service, freight = None, None, None
    if rec is not None:
        base = _order_for_shipping(rec)
        sel = select_carrier(OrderForShipping(**{**base.__dict__, "override": Override(carrier.code, by)}),
                             carriers, policy.shipper_province)
        if isinstance(sel, Selection):
            service, freight = _service_label(sel), (str(sel.freight) if sel.freight is not None else None)
            try:
                eta = expected_delivery(now.astimezone(ZoneInfo(policy.timezone)), carrier, sel.service, sel.dest_group)
            except ValueError:
                eta = None
    return Binding(order_no=order_no, waybill_no=number, carrier=carrier.name, carrier_code=carrier.code,
                   source=source, bound_at=now, bound_by=by, expected_delivery=eta.date if eta else None,
                   expected_estimated=bool(eta and eta.estimated), service=service, est_freight=freight,
                   selection_reason=reason, decided_by="override")


def _bump_if_own(ws: WaybillStore, number: str) -> None:
    from xl_addin.domain.waybills.numbering import parse_own_waybill

    own = parse_own_waybill(number)
    if own is not None:
        ws.bump_counter(own.prefix, own.day, own.serial)


def bind_manual(store, order_no: str, waybill: str, carrier_name: str | None, by: str, now: datetime, *,
                source: str = "manual", policy: WaybillPolicy = WaybillPolicy(), books: Books | None = None,
                carriers=None, autonumber: Callable[[str], Any] | None = None,
                command_suffix: str = "") -> tuple[Binding, SyncResult | None, list[dict]]:
    """Bind a number from the carrier (API, website, desk) to an order that has no binding yet.

    Without ``carrier_name`` nothing is bound: CarrierNeeded lists the carriers the number looks like
    (its format, and ``autonumber``'s answer when a tracking provider is configured) and the exact
    command to run — a suggestion, never a verdict.
    """
    from xl_addin.adapters.store.orders import ALLOCATED, CONFIRMED, OrderRecords

    if not (by or "").strip():
        raise UserError("请用 --by 写明绑定人姓名")
    src = SOURCES.get(source)
    if src is None or src == AUTO:
        raise UserError(f"单号来源 {source!r} 无法识别", "请用 manual (人工录入) 或 carrier_api (物流商接口)")
    order_no = order_no.strip()
    rec = OrderRecords(store).get(order_no)
    if rec is None:
        raise UserError(f"状态库中没有订单 {order_no}", "请先运行 xl-logistics validate 校验并确认订单")
    if rec.status != CONFIRMED:
        from xl_addin.display.vocabulary import label

        raise UserError(f"订单 {order_no} 的状态是“{label('order_status', rec.status)}”，只有已确认的订单才能绑定运单",
                        "已绑定的订单请用 xl-logistics rebind 换绑")
    ws = WaybillStore(store)
    if ws.current(order_no) is not None:
        raise UserError(f"订单 {order_no} 已绑定 {ws.current(order_no).waybill_no}", "换绑请用 xl-logistics rebind")
    carriers = list(carriers) if carriers is not None else load_carriers(books)
    if not (carrier_name or "").strip():
        _refuse_without_carrier(store, order_no, waybill, by.strip(), src, carriers, books, autonumber,
                                command_suffix)
    number, carrier, notes = _checked_number(store, waybill, carrier_name, carriers, policy, books)
    binding = _manual_binding(store, order_no, number, carrier, src, by.strip(), now, policy,
                              f"人工录入 ({by.strip()})", carriers)
    with store.transaction():
        if ws.registry_entry(number) is not None:  # a concurrent bind since the check
            raise WaybillTaken(f"物流单号 {number} 刚被绑定", "请重试以查看绑定到哪个订单")
        ws.register([(number, carrier.code, order_no)], "bound", src, None, now)
        _bump_if_own(ws, number)
        ws.insert_bindings([binding])
        store.conn.execute("UPDATE orders SET status = ?, updated_at = ? WHERE order_no = ?",
                           (ALLOCATED, _iso(now), order_no))
        store.audit(now, by.strip(), "binding:create", "order", order_no,
                    {"waybill_no": number, "carrier": carrier.code, "source": src})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return WaybillStore(store).current(order_no), sync, notes


# ---------------------------------------------------------------- carrier suggestions

@dataclass
class CarrierSuggestions:
    """Which carriers a number may belong to, from its format and from the tracking provider."""

    number: str
    by_format: list[str] = field(default_factory=list)       # our carrier codes
    by_provider: list[str] | None = None                    # our codes; None: the provider was not asked
    provider_unlisted: list[str] = field(default_factory=list)  # provider company codes not in our list
    provider_note: str | None = None

    @property
    def candidates(self) -> list[str]:
        """Codes to offer, best first: both sources agree, then the format's, then the provider's."""
        both = [c for c in self.by_format if self.by_provider and c in self.by_provider]
        rest = [c for c in [*self.by_format, *(self.by_provider or [])] if c not in both]
        return list(dict.fromkeys([*both, *rest]))

    @property
    def conflict(self) -> bool:
        return bool(self.by_format and self.by_provider and not set(self.by_format) & set(self.by_provider))

    @property
    def unambiguous(self) -> str | None:
        """The one carrier both sources point to (or the format alone, the provider silent), else None."""
        if len(self.by_format) != 1 or self.conflict:
            return None
        if self.by_provider and self.by_format[0] not in self.by_provider:
            return None
        return self.by_format[0]

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "by_format": self.by_format, "by_provider": self.by_provider,
                "provider_unlisted": self.provider_unlisted, "provider_note": self.provider_note,
                "candidates": self.candidates, "unambiguous": self.unambiguous, "conflict": self.conflict}


class CarrierNeeded(UserError):
    """``bind`` without ``--carrier``: nothing bound; here is what the number looks like and what to run."""

    def __init__(self, message: str, hint: str, suggestions: CarrierSuggestions, commands: list[str]):
        super().__init__(message, hint)
        self.suggestions = suggestions
        self.commands = commands

    def as_dict(self) -> dict[str, Any]:
        return {"bound": False, "message": self.message, "hint": self.hint, "commands": self.commands,
                **self.suggestions.as_dict()}


def suggest_carriers_for(number: str, carriers, autonumber: Callable[[str], Any] | None = None) -> CarrierSuggestions:
    """The carriers a waybill number may belong to. ``autonumber(num)`` is the provider's auto-detection
    (an AutonumberOutcome); its failure is a note, never an error."""
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import normalize_waybill, suggest_carriers

    carriers = list(carriers)
    number = normalize_waybill(number)
    result = CarrierSuggestions(number, suggest_carriers(number, carriers))
    if autonumber is None:
        return result
    try:
        outcome = autonumber(number)
    except OSError as exc:  # requests' connection errors are OSErrors
        result.provider_note = f"物流查询服务无法连接 ({type(exc).__name__})"
        return result
    if getattr(outcome, "kind", None) != "ok":
        result.provider_note = "物流查询服务未能识别: " + (getattr(outcome, "hint", None) or getattr(outcome, "message", "")
                                                   or str(getattr(outcome, "kind", "")))
        return result
    codes: list[str] = []
    for guess in outcome.candidates:
        match = next((c for c in carriers if c.kuaidi100_code and c.kuaidi100_code == guess.com_code), None) \
            or find_carrier(guess.com_code, carriers)
        if match is None:
            result.provider_unlisted.append(guess.com_code)
        elif match.code not in codes:
            codes.append(match.code)
    result.by_provider = codes
    return result


def provider_autonumber(settings) -> Callable[[str], Any] | None:
    """The configured tracking provider's auto-detection as a function, or None when no provider is configured."""
    from xl_addin.errors import ConfigError
    from xl_addin.services.tracking import _client_factory, provider_spec

    try:
        spec = provider_spec(settings)
    except ConfigError:
        return None
    make = _client_factory(spec, settings)

    def ask(number: str):
        client = make()
        try:
            return client.autonumber(number)
        finally:
            client.close()

    return ask


def shell_arg(text: str) -> str:
    """A command-line word as people copy it: plain (Chinese names too) unless it needs quoting."""
    import re
    import shlex

    return text if re.fullmatch(r"[\w.\-/:@+=,]+", text) else shlex.quote(text)


def _refuse_without_carrier(store, order_no, waybill, by, source, carriers, books, autonumber, suffix) -> None:
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import normalize_waybill

    number = normalize_waybill(waybill)
    if not number:
        raise UserError("物流单号为空", "请填写物流商下发的单号")
    entry = WaybillStore(store).registry_entry(number)
    if entry is not None:
        raise WaybillTaken(f"物流单号 {number} 已登记 (订单 {entry['order_no'] or '?'}, 状态 {entry['state']}), 不能重复使用",
                           "请核对单号", order_no=entry["order_no"], state=entry["state"])
    found = suggest_carriers_for(number, carriers, autonumber)
    names = {c.code: f"{c.name}({c.code})" for c in carriers}
    src = "" if source == MANUAL else " --source carrier_api"

    def command(code: str) -> str:
        return (f"xl-logistics bind {shell_arg(order_no)} {shell_arg(number)} --carrier {shell_arg(code)} "
                f"--by {shell_arg(by)}{src}{suffix}")

    listed = "、".join(names.get(c, c) for c in found.candidates)
    provider = ""
    if found.by_provider is not None:
        said = "、".join(names[c] for c in found.by_provider) or "无名录中的物流商"
        provider = f"; 快递100 智能判断: {said}"
        if found.provider_unlisted:
            provider += f" (另有名录外的 {'、'.join(found.provider_unlisted)})"
    elif found.provider_note:
        provider = f"; {found.provider_note}"
    fmt = "、".join(names[c] for c in found.by_format) or "无"
    one = found.unambiguous
    if one is not None:
        message = (f"物流单号 {number} 看起来是{names[one]}的单号 (按单号格式{', 与快递100一致' if found.by_provider else ''})"
                   f"{provider}。这只是建议, 订单 {order_no} 尚未绑定")
        hint = f"确认是{find_carrier(one, carriers).name}的单号后运行: {command(one)}"
        commands = [command(one)]
    elif found.candidates:
        why = "单号格式与快递100的判断不一致" if found.conflict else "不止一家物流商的单号是这种格式"
        message = (f"物流单号 {number} 可能属于: {listed} ({why}; 按格式: {fmt}{provider})。订单 {order_no} 尚未绑定")
        commands = [command(c) for c in found.candidates]
        hint = "请向物流商核实后运行其中一条: " + " | ".join(commands)
    else:
        message = f"无法从物流单号 {number} 判断物流商 (按格式: 无{provider})。订单 {order_no} 尚未绑定"
        commands = [command("物流商代码")]
        hint = f"请用 --carrier 写明物流商后运行: {commands[0]}"
    raise CarrierNeeded(message, hint, found, commands)


def rebind(store, order_no: str, new_waybill: str, by: str, reason: str, now: datetime, *,
           carrier_name: str | None = None, source: str = "manual", policy: WaybillPolicy = WaybillPolicy(),
           books: Books | None = None, carriers=None, autonumber: Callable[[str], Any] | None = None,
           command_suffix: str = "") -> tuple[Binding, Binding, SyncResult | None]:
    """Replace an order's waybill; the old binding stays as history with who, when and why. Without
    ``carrier_name`` the new number keeps the order's carrier — unless it does not fit that carrier's
    format: then nothing changes and CarrierNeeded lists the carriers it looks like (its format and
    ``autonumber``, the provider's detection) with the command to confirm each."""
    if not (by or "").strip():
        raise UserError("请用 --by 写明换绑人姓名")
    if not (reason or "").strip():
        raise UserError("请用 --reason 写明换绑原因", "例如: 物流商重新出单、单号贴错")
    src = SOURCES.get(source)
    if src is None or src == AUTO:
        raise UserError(f"单号来源 {source!r} 无法识别", "请用 manual (人工录入) 或 carrier_api (物流商接口)")
    ws = WaybillStore(store)
    old = ws.current(order_no.strip())
    if old is None:
        raise UserError(f"订单 {order_no} 还没有绑定运单", "首次绑定请用 xl-logistics bind 或 allocate")
    carriers = list(carriers) if carriers is not None else load_carriers(books)
    from xl_addin.domain.waybills.formats import normalize_waybill

    if normalize_waybill(new_waybill) == old.waybill_no:  # the same number, another carrier: a carrier correction
        return _correct_carrier(store, old, carrier_name, by.strip(), reason.strip(), now, policy, books, carriers)
    if not (carrier_name or "").strip():
        _suggest_for_rebind(old, new_waybill, by.strip(), reason.strip(), carriers, policy, autonumber, command_suffix)
    number, carrier, _ = _checked_number(store, new_waybill, carrier_name or old.carrier_code, carriers, policy, books)
    new = _manual_binding(store, old.order_no, number, carrier, src, by.strip(), now, policy,
                          f"换绑 ({by.strip()}): {reason.strip()}", carriers)
    with store.transaction():
        ws.retire(old, now, by.strip(), reason.strip(), number)
        ws.register([(number, carrier.code, old.order_no)], "bound", src, None, now)
        _bump_if_own(ws, number)
        ws.insert_bindings([new])
        store.audit(now, by.strip(), "binding:rebind", "order", old.order_no,
                    {"old_waybill": old.waybill_no, "new_waybill": number, "carrier": carrier.code,
                     "reason": reason.strip()})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return ws.history(old.order_no)[-1], ws.current(old.order_no), sync


def _suggest_for_rebind(old: Binding, new_waybill: str, by: str, reason: str, carriers, policy: WaybillPolicy,
                        autonumber, suffix: str) -> None:
    """The new number does not fit the order's carrier: say which carriers it looks like, bind nothing."""
    from xl_addin.domain.waybills.formats import check_waybill, normalize_waybill

    number = normalize_waybill(new_waybill)
    problems = check_waybill(number, old.carrier_code, carriers, own_prefixes=(policy.company_short_code,))
    if not any(p.severity == "error" and p.code == "WAYBILL_FORMAT" for p in problems):
        return
    found = suggest_carriers_for(number, carriers, autonumber)
    names = {c.code: f"{c.name}({c.code})" for c in carriers}

    def command(code: str) -> str:
        return (f"xl-logistics rebind {shell_arg(old.order_no)} {shell_arg(number)} --carrier {shell_arg(code)} "
                f"--by {shell_arg(by)} --reason {shell_arg(reason)}{suffix}")

    reasons = []
    if found.by_format:
        reasons.append("按单号格式: " + "、".join(names[c] for c in found.by_format))
    if found.by_provider is not None:
        reasons.append("快递100 智能判断: " + ("、".join(names[c] for c in found.by_provider) or "无名录中的物流商"))
    elif found.provider_note:
        reasons.append(found.provider_note)
    commands = [command(c) for c in found.candidates] or [command("物流商代码")]
    message = (f"新单号 {number} 不符合{old.carrier}的单号格式" + (f"，可能属于: {'、'.join(names[c] for c in found.candidates)}"
                                                         if found.candidates else "")
               + (f"（{'；'.join(reasons)}）" if reasons else "") + f"。订单 {old.order_no} 未换绑")
    raise CarrierNeeded(message, "请核实后运行: " + " | ".join(commands), found, commands)


def _correct_carrier(store, old: Binding, carrier_name: str | None, by: str, reason: str, now: datetime,
                     policy: WaybillPolicy, books: Books | None, carriers):
    """A person confirms the number belongs to another carrier (often after a suggestion in the Binding
    Table): the binding moves to that carrier — the old one stays as history — and every later query
    and subscription uses its code. Audited with who, when and why."""
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import check_waybill

    if not (carrier_name or "").strip():
        raise UserError(f"单号 {old.waybill_no} 与原单号相同：更正物流商时请用 --carrier 写明正确的物流商",
                        "单号未变, 只改物流商; 例如 --carrier YTO")
    carrier = find_carrier(carrier_name, carriers)
    if carrier is None:
        raise UserError(f"物流商 {carrier_name} 不在合格物流商名录中", "请用名录中的代码或名称, 例如 SF、中通")
    if carrier.code == old.carrier_code:
        raise UserError(f"单号 {old.waybill_no} 已绑定在 {carrier.name} 下, 无需更正")
    errors = [p for p in check_waybill(old.waybill_no, carrier.code, carriers, own_prefixes=(policy.company_short_code,))
              if p.severity == "error"]
    if errors:
        raise UserError(errors[0].message, "物流商未更正")
    new = _manual_binding(store, old.order_no, old.waybill_no, carrier, old.source, by, now, policy,
                          f"更正物流商 ({by}): {reason}", carriers)
    before = find_carrier(old.carrier_code, carriers)
    ws = WaybillStore(store)
    with store.transaction():
        ws.retire(old, now, by, f"更正物流商 {old.carrier} → {carrier.name}: {reason}", old.waybill_no)
        ws.set_state(old.waybill_no, "bound", now)
        store.conn.execute("UPDATE waybill_registry SET carrier_code = ? WHERE waybill_no = ?",
                           (carrier.code, old.waybill_no))
        ws.insert_bindings([new])
        CarrierCorrections(store).apply(old.waybill_no, (before.kuaidi100_code if before else None) or old.carrier_code,
                                        carrier.kuaidi100_code or carrier.code, now, by=by, reason=reason)
        store.audit(now, by, "binding:carrier_corrected", "order", old.order_no,
                    {"waybill": old.waybill_no, "old_carrier": old.carrier_code, "new_carrier": carrier.code,
                     "reason": reason})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return ws.history(old.order_no)[-1], ws.current(old.order_no), sync


# ---------------------------------------------------------------- review

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


# ---------------------------------------------------------------- workbooks

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
            from xl_addin.services.carrier_checks import carrier_check_cells

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

    from xl_addin.services.carrier_checks import CHECK_KEYS

    checks = checks or {}
    table = read_sheet(books.bindings, BINDINGS_SHEET)
    keys = (tuple(_binding_cells(current[0], tz)) + CHECK_KEYS) if current else ()
    columns, headers = _ensure_columns(table, BINDINGS_SHEET, keys)
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
    hcols, hheaders = _ensure_columns(htable, BINDING_HISTORY_SHEET, hkeys)
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
    from xl_addin.services.carrier_checks import CHECK_KEYS

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
    columns, headers = _ensure_columns(table, schema, ("order_status", "waybill_no"))
    waybill_of = {b.order_no: b.waybill_no for b in current}
    statuses = dict(store.conn.execute("SELECT order_no, status FROM orders"))
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
