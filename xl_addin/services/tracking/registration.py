"""Which waybills are tracked: every current binding, re-bound and forwarded numbers linked to their successors."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


def _phone4(fields: dict) -> str | None:
    raw = fields.get("receiver_phone") or (fields.get("normalized") or {}).get("phone") or ""
    digits = "".join(ch for ch in str(raw) if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def destination_text(fields: dict) -> str | None:
    """The order's destination as Kuaidi100 takes it in ``to`` (province, city, district)."""
    n = fields.get("normalized") or {}
    parts = [str(n.get(k) or fields.get(k) or "").strip() for k in ("province", "city", "district")]
    parts = [p for i, p in enumerate(parts) if p and p not in parts[:i]]
    return "".join(parts) or None


def register_bindings(store, now: datetime, destinations: dict[str, str] | None = None
                      ) -> tuple[dict[str, str], dict[str, str]]:
    """Every current binding is tracked; returns ({waybill: phone last 4}, {waybill: carrier name}) and
    fills ``destinations`` ({waybill: the order's province/city/district}) when given."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.adapters.store.tracking import TrackingStore

    from xl_addin.adapters.store.waybills import WaybillStore

    bindings = WaybillStore(store).all_current()  # a store that cannot say what is bound is broken: say so
    orders = OrderRecords(store)
    phones, names = {}, {}
    rows = []
    for b in bindings:
        rows.append({"waybill_no": b.waybill_no, "order_no": b.order_no, "carrier_code": b.carrier_code,
                     "expected_delivery": b.expected_delivery, "bound_at": b.bound_at})
        names[b.waybill_no] = b.carrier
        rec = orders.get(b.order_no)
        if rec is not None:
            p = _phone4(rec.fields or {})
            if p:
                phones[b.waybill_no] = p
            if destinations is not None:
                to = destination_text(rec.fields or {})
                if to:
                    destinations[b.waybill_no] = to
    if rows:
        with store.transaction():
            TrackingStore(store).register(rows, now)
    _link_rebound(store, now)
    return phones, names


def _link_rebound(store, now: datetime) -> None:
    """A re-bound order's old number is no longer tracked; it names the number that took over."""
    from xl_addin.adapters.store.tracking import TrackingStore

    try:
        from xl_addin.adapters.store.waybills import WaybillStore

        retired = [(h.waybill_no, h.replaced_with) for h in WaybillStore(store).history()
                   if h.replaced_with and h.replaced_with != h.waybill_no]
    except Exception as exc:  # the bindings belong to the waybill stage (see register_bindings)
        log.warning("binding history not readable: %s", exc)
        return
    if not retired:
        return
    ts = TrackingStore(store)
    with store.transaction():
        for old, new in retired:
            if ts.replace(old, new, now):
                store.audit(now, "系统", "tracking.replaced", "waybill", old, {"replaced_by": new, "why": "换绑"})


def follow_forwarding(store, events, now: datetime, carriers=None) -> list[dict[str, Any]]:
    """A 转投 node (state 7) among ``events``: start tracking the new number under the new carrier, linked
    to the old one, which is no longer queried. Inside the transaction that stored the events."""
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.domain.tracking.forwarding import forwarding_of, is_forwarded

    forwarded = [e for e in events if is_forwarded(e)]
    if not forwarded:
        return []
    if carriers is None:
        from xl_addin.domain.waybills.carriers import load_default_carriers

        carriers = load_default_carriers()
    ts = TrackingStore(store)
    out = []
    for e in forwarded:
        fw = forwarding_of(e, carriers)
        detail = {"new_waybill": fw.new_waybill, "carrier": fw.carrier_code, "com": fw.kuaidi100_code,
                  "context": fw.context}
        if fw.new_waybill:
            ts.track_forwarded(fw.new_waybill, fw.old_waybill, ts.order_of(fw.old_waybill), fw.carrier_code, now)
            if fw.kuaidi100_code:
                CarrierCorrections(store).apply(fw.new_waybill, None, fw.kuaidi100_code, now, by="快递100",
                                                reason=f"转投自 {fw.old_waybill}")
            if not ts.replace(fw.old_waybill, fw.new_waybill, now):
                continue  # seen before
        store.audit(now, "系统", "tracking.forwarded", "waybill", fw.old_waybill, detail)
        out.append(detail)
    return out
