"""Allocate waybill numbers for the confirmed orders, in two steps so a crash never loses or duplicates a number:
1. one ``BEGIN IMMEDIATE`` transaction claims the orders and reserves a block of serials per
   prefix, registering every number as ``reserved`` for its order;
2. chunks of bindings are written (number → ``bound``, order → ``allocated``, audit).
A batch whose process died between the two leaves ``reserved`` numbers; the next run marks them
``void`` (never handed out again) and allocates those orders afresh.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.order_status import OrderStatuses
from xl_addin.adapters.store.waybills import AUTO, Binding, WaybillStore, new_batch_id
from xl_addin.errors import StoreError, UserError
from xl_addin.services.waybills.carrier_sheets import load_carriers
from xl_addin.services.waybills.policy import CHUNK, Books, WaybillPolicy, service_label, shipping_of
from xl_addin.services.waybills.sheet_sync import SyncResult, sync_workbooks

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
        for (order_no, _), sel in zip(recs, select_carriers([shipping_of(o, f, chosen_by.get(o)) for o, f in recs],
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
        still = OrderStatuses(store).with_status(CONFIRMED)
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
                label = labels[(s.service, s.addons)] = service_label(s)
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
            OrderStatuses(store).set((b.order_no for b in bindings), ALLOCATED, now)
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
