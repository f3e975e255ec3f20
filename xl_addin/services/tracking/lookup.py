"""One waybill's story (the CLI twin of =TRACK()) and reading the 人工录入 sheet on request."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from xl_addin.errors import UserError
from xl_addin.config.timezone import desk_timezone

log = logging.getLogger(__name__)

def track_one(store, waybill_no: str) -> dict[str, Any]:
    """Binding, current status, open anomalies and every node of one waybill (the CLI twin of =TRACK())."""
    from xl_addin.adapters.store.tracking import TrackingStore

    ts = TrackingStore(store)
    w = waybill_no.strip()
    binding = None
    try:
        from xl_addin.adapters.store.waybills import WaybillStore

        b = WaybillStore(store).current_by_waybill(w)
        binding = b.as_dict() if b else None
    except Exception as exc:
        log.warning("binding lookup failed: %s", exc)
    status = ts.status(w)
    if binding is None and status is None:
        raise UserError(f"状态库里没有运单 {w}", "请先在绑定表绑定该单号，或检查单号是否输错")
    events = ts.events_for(w)
    return {
        "waybill_no": w, "binding": binding, "status": status,
        "anomalies": ts.anomalies(open_only=False, waybill_no=w),
        "nodes": [e.as_dict() | {k: v for k, v in (e.extra or {}).items()} for e in sorted(events, key=lambda e: e.time, reverse=True)],
    }


def ingest_manual_nodes(desk, now: datetime) -> dict[str, Any]:
    """Read the 人工录入 sheet now (also done by every refresh)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking.tracking_log import ingest_manual

    with store_for(desk) as store:
        r = ingest_manual(desk.workbook("tracking"), store, now, desk_timezone(desk.settings), backup_dir=desk.backup_dir)
    return r.as_dict()
