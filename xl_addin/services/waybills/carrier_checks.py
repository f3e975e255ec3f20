"""What the Binding Table says about each binding's carrier: a suggestion with its reason (the number's
format, a number without any record) and the corrections made (by Kuaidi100 or a person) — old → new,
when, by whom. Advice for a person to confirm; only a correction changes what is queried."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

CHECK_KEYS = ("carrier_check", "carrier_corrected", "corrected_at", "corrected_by")


def _label(com: str | None, carriers) -> str:
    """A provider company code as staff read it: "圆通(yuantong)"."""
    if not com:
        return "?"
    for c in carriers:
        if c.kuaidi100_code and c.kuaidi100_code == com:
            return f"{c.name}({com})"
    return com


def carrier_check_cells(store, bindings: Iterable[Any], carriers, tz) -> dict[str, dict[str, Any]]:
    """{waybill: the four carrier-check cells} for the current bindings that have something to say."""
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
    from xl_addin.adapters.store.store import from_iso
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.domain.tracking.anomalies import NO_RECORD
    from xl_addin.domain.waybills.formats import suggest_carriers

    carriers = list(carriers)
    bindings = list(bindings)
    names = {c.code: c.name for c in carriers}
    corrections = CarrierCorrections(store).of([b.waybill_no for b in bindings])
    no_record = {a["waybill_no"]: a["reason"] for a in TrackingStore(store).anomalies(open_only=True)
                 if a["rule"] == NO_RECORD}
    out: dict[str, dict[str, Any]] = {}
    for b in bindings:
        notes: list[str] = []
        fix = corrections.get(b.waybill_no)
        if fix is not None:
            who = fix.corrected_by
            notes.append(f"{who} 已更正为 {_label(fix.com_new, carriers)}，之后的查询与订阅都用它")
        if b.waybill_no in no_record:
            notes.append(no_record[b.waybill_no])
        fits = suggest_carriers(b.waybill_no, carriers)
        if fits and b.carrier_code not in fits:
            notes.append("单号格式更像 " + "、".join(f"{names.get(c, c)}({c})" for c in fits) + "，与所填物流商不符")
        elif b.waybill_no in no_record and len(fits) > 1:
            notes.append("按单号格式也可能是 " + "、".join(f"{names.get(c, c)}({c})" for c in fits if c != b.carrier_code))
        if not notes:
            continue
        if fix is None:
            notes.append("请核对后用 xl-logistics rebind 更正")
        cells: dict[str, Any] = {"carrier_check": "；".join(notes)}
        if fix is not None:
            when = from_iso(fix.corrected_at)
            cells.update(carrier_corrected=f"{_label(fix.com_old, carriers)} → {_label(fix.com_new, carriers)}",
                         corrected_at=when.astimezone(tz).replace(tzinfo=None) if isinstance(when, datetime) else None,
                         corrected_by=fix.corrected_by)
        out[b.waybill_no] = cells
    return out
