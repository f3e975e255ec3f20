"""Customer notices of key tracking nodes: offered from the queue the refresh and push fill, then sent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from xl_addin.errors import UserError
from xl_addin.services.tracking.config import setting

log = logging.getLogger(__name__)


#: an event older than this when it reaches us is history, not news: no customer notice
STALE_NOTICE = timedelta(days=3)


def notify_queued(desk, store, now: datetime, *, notifier=None, send: bool = True) -> dict[str, Any]:
    """Offer the key-node notices of events stored since the last call, then send what is due.

    The queue is filled in the transaction that stored the events (refresh or push), and emptied
    only after the offers are recorded; offers are unique per (waybill, node, channel, recipient),
    so a crash anywhere in between repeats nothing and forgets nothing."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.adapters.store.subscriptions import NoticeQueue
    from xl_addin.services.notify.notifications import build_notifier

    queue = NoticeQueue(store)
    waiting = queue.waiting()
    if notifier is None:
        notifier = build_notifier(desk, store)
    offered: list[str] = []
    if waiting:
        wanted = list(setting(desk.settings.notifications, "channels", ["email", "sms", "webhook"]))
        events = _events_by_key(store, [k for k, _w in waiting])
        orders = OrderRecords(store)
        context: dict[str, tuple] = {}
        for key, w in waiting:
            ev = events.get(key)
            if ev is None or now - ev.time > STALE_NOTICE:
                continue
            if w not in context:
                context[w] = _notice_context(store, orders, w, wanted)
            recipients, carrier, order_no, customer = context[w]
            if recipients:
                offered += notifier.offer_event(ev, recipients, now, carrier=carrier, order_no=order_no,
                                                customer=customer)
        queue.done(k for k, _w in waiting)
    out: dict[str, Any] = {"offered": len(offered)}
    if send:
        report = notifier.send_pending(now)
        out.update(report.as_dict())
        out["summary"] = report.summary()
        out["problems"] = report.problems()
    return out


def _events_by_key(store, keys: list[str]) -> dict[str, Any]:
    """The queued nodes themselves (not every node of their waybills): {event_key: TrackingEvent}."""
    from xl_addin.adapters.store.tracking import TrackingStore

    return TrackingStore(store).events_by_key(keys)


def _notice_context(store, orders, waybill_no: str, channels) -> tuple:
    """(recipients, carrier name, order no, customer) for one waybill's notices."""
    from xl_addin.domain.notifications import recipients_for_order

    from xl_addin.adapters.store.tracking import TrackingStore

    order_no = TrackingStore(store).order_of(waybill_no) or ""
    carrier = None
    try:
        from xl_addin.adapters.store.waybills import WaybillStore

        b = WaybillStore(store).current_by_waybill(waybill_no)
        if b is not None:
            carrier, order_no = b.carrier, order_no or b.order_no
    except Exception as exc:  # bindings belong to another stage; notices still go out without the name
        log.warning("binding lookup failed for %s: %s", waybill_no, exc)
    rec = orders.get(order_no) if order_no else None
    fields = dict(rec.fields or {}) if rec is not None else {}
    try:
        recipients = recipients_for_order(fields, channels)
    except ValueError as exc:  # a malformed address on the order: no notice rather than a failed run
        log.warning("recipients for %s: %s", waybill_no, exc)
        recipients = []
    return recipients, carrier, order_no, str(fields.get("customer") or "")


def notify_quietly(desk, store, now: datetime, problems: list | None = None, **kw) -> dict[str, Any]:
    """``notify_queued`` for jobs whose main work must not fail because a notice could not go out."""
    try:
        return notify_queued(desk, store, now, **kw)
    except UserError as exc:
        log.warning("notifications not sent: %s", exc)
        if problems is not None:
            problems.append({"waybill_no": "", "code": "notify", "message": str(exc), "hint": exc.hint or ""})
        return {"error": str(exc)}
