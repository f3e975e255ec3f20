"""Ingest one push: verify the signature, store the nodes and what the push says about the subscription
and the carrier, all in one transaction — or raise, so that the receiver answers a non-success and
Kuaidi100 sends the push again.

Kuaidi100 re-sends an unacknowledged push (three times, half an hour apart; its SDK says 35 minutes), so
the same body can arrive more than once: a copy taken in within ``RESEND_WINDOW`` changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from xl_addin.services.closing.order_completion import complete_on_signing

log = logging.getLogger(__name__)

#: an identical push body within this window is a re-sent copy, not news
RESEND_WINDOW = timedelta(hours=2)
#: after an abort, subscribe again only once every copy of it has come (and at least the half hour the FAQ asks)
RESUBSCRIBE_AFTER = RESEND_WINDOW
NO_RECORD = "3天查询无记录"
REPEAT_DETAIL = "重复推送（已处理过同一推送）"
UNKNOWN_DETAIL = "本台账没有这个运单"


@dataclass
class PushVerdict:
    """What the receiver answers and logs. ``ack``: answer the success body (the provider stops)."""

    outcome: str  # ingested | repeat | unknown_waybill | bad_sign | malformed | error
    ack: bool
    waybill_no: str | None = None
    status: str | None = None
    new_events: int = 0
    carrier_corrected: str | None = None
    detail: str = ""

    def as_tuple(self) -> tuple:
        """Field values in order (what the writer process sends back: cheaper to pickle than the object)."""
        return (self.outcome, self.ack, self.waybill_no, self.status, self.new_events, self.carrier_corrected,
                self.detail)

    def log_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", 0) or k in ("outcome", "ack")}


@dataclass(frozen=True)
class VerifiedPush:
    """A push whose signature held and whose body parsed: what the store step needs (pure to make)."""

    param: str
    digest: str  # the body's fingerprint: a re-sent copy has the same one
    push: Any  # kuaidi100.Push


def check_sign(form: Mapping[str, Any], salt: str) -> "str | PushVerdict":
    """The signature alone (MD5 of param + salt, constant-time compare): the exact ``param`` text when it
    holds, else a (non-ack) refusal. Nothing of ``param`` is read here."""
    from xl_addin.adapters.providers.kuaidi100 import verify_push_sign

    param, sign = _field(form, "param"), _field(form, "sign")
    if not param:
        return PushVerdict("malformed", False, detail="缺少 param")
    if not verify_push_sign(param, salt, sign):
        return PushVerdict("bad_sign", False, detail="签名校验失败")
    return param


def parse_signed(param: str, *, tz=None) -> "VerifiedPush | PushVerdict":
    """A ``param`` whose signature already held → the push (pure; the writer process does it)."""
    import hashlib

    from xl_addin.adapters.providers.kuaidi100 import parse_push

    push = parse_push({"param": param}, None, tz)
    if not push.valid:
        return PushVerdict("malformed", False, detail=push.error or "")
    if not push.waybill_no:
        return PushVerdict("malformed", False, status=push.status, detail="lastResult 缺少单号 nu")
    return VerifiedPush(param, hashlib.sha256(param.encode("utf-8")).hexdigest(), push)


def verify_push(form: Mapping[str, Any], salt: str, *, tz=None) -> "VerifiedPush | PushVerdict":
    """Signature first, then parse — no store involved, so request threads do it in parallel.
    A refusal comes back as a (non-ack) ``PushVerdict``."""
    param = check_sign(form, salt)
    if isinstance(param, PushVerdict):
        return param
    return parse_signed(param, tz=tz)


def ingest_push(store, form: Mapping[str, Any], salt: str, now: datetime, *, tz=None,
                resubscribe_on_abort: bool = True, refresh_interval: timedelta = timedelta(hours=2)) -> PushVerdict:
    """Verify, then ingest one push form (``param``, ``sign``) in one transaction.

    Nothing is read from ``param`` before the signature holds. A signed push for a waybill this
    desk does not track is acknowledged (so the provider stops retrying) and changes nothing — but
    only when the store could say so: any store error propagates, and the caller answers a
    non-success so that Kuaidi100 sends the push again. A copy of a push already taken in (the
    provider re-sends when our answer was lost) is acknowledged and changes nothing."""
    verified = verify_push(form, salt, tz=tz)
    if isinstance(verified, PushVerdict):
        return verified
    return store_push(store, verified, now, resubscribe_on_abort=resubscribe_on_abort,
                      refresh_interval=refresh_interval)


def store_push(store, verified: VerifiedPush, now: datetime, *, resubscribe_on_abort: bool = True,
               refresh_interval: timedelta = timedelta(hours=2), locked: bool = False) -> PushVerdict:
    """Store one verified push (its own transaction — a savepoint when the caller batches pushes).
    Any store error propagates: the push must not be acknowledged. ``locked``: the caller already holds
    the store's write transaction (the push writer), so what is read first cannot change before the write."""
    from xl_addin.adapters.store.carrier_corrections import KUAIDI100, CarrierCorrections
    from xl_addin.adapters.store.subscriptions import NoticeQueue, PushReceipts, SubscriptionStore
    from xl_addin.adapters.store.tracking import TrackingStore

    push, digest = verified.push, verified.digest
    waybill = push.waybill_no
    receipts = PushReceipts(store)
    if receipts.seen(digest, now - RESEND_WINDOW):
        return PushVerdict("repeat", True, waybill, push.status, detail=REPEAT_DETAIL)
    ts = TrackingStore(store)
    if ts.tracked_final(waybill) is None and not _register_bound(store, ts, waybill, now):
        return PushVerdict("unknown_waybill", True, waybill, push.status, detail=UNKNOWN_DETAIL)
    subs = SubscriptionStore(store)
    verdict = PushVerdict("ingested", True, waybill, push.status)
    with store.transaction():
        if not receipts.add(digest, waybill, push.status, now, now - RESEND_WINDOW, checked=locked):  # meanwhile
            verdict.outcome, verdict.detail = "repeat", REPEAT_DETAIL
            return verdict
        new = ts.add_events(push.events, now)
        NoticeQueue(store).add(new, now)
        verdict.new_events = len(new)
        from xl_addin.services.tracking import follow_forwarding

        follow_forwarding(store, new, now)  # 转投: the new number is tracked from here on
        if new:
            ts.refresh_status(waybill, ts.events_for(waybill), now)
            complete_on_signing(store, waybill, now)
        final = bool(ts.tracked_final(waybill))
        ts.record_check(waybill, now, "push", push.message or push.status or "push",
                        None if final else now + refresh_interval, unknown_codes=push.unknown_codes)
        company = push.corrected_carrier
        row = subs.get(waybill)
        live = row is None or row.state in ("submitted", "accepted", "duplicate")
        if row is None:
            subs.push_for_unsubscribed(waybill, push.carrier_code or "", push.status or "polling", now)
        elif push.status == "abort" and not live:
            # a second copy of an abort already handled (or one for a subscription that already ended):
            # it is not a second abort
            verdict.outcome, verdict.detail = "repeat", "该订阅已中止，重复的中止推送不再处理"
        else:
            subs.pushed(waybill, push.status or "polling", push.message, now, company=company)
        if company:
            reason = "快递100 智能纠正（autoCheck=1）" if push.auto_check else f"快递100 中止推送并给出正确承运商（{push.message}）"
            if CarrierCorrections(store).apply(waybill, push.com_old or _subscribed_company(row), company, now,
                                               by=KUAIDI100, reason=reason):
                verdict.carrier_corrected = f"{push.com_old or _subscribed_company(row) or '?'}→{company}"
        if push.status == "abort" and verdict.outcome == "ingested":
            if company:  # Kuaidi100 re-subscribed it under comNew itself: do not subscribe again
                subs.taken_over(waybill, company, now)
                store.audit(now, KUAIDI100, "subscription.taken_over", "waybill", waybill,
                            {"company": company, "reason": push.message})
            else:
                _handle_abort(store, subs, waybill, push.message, now, resubscribe_on_abort, final)
    return verdict


def _subscribed_company(row) -> str | None:
    return (row.company or None) if row is not None else None


def _register_bound(store, ts, waybill: str, now: datetime) -> bool:
    """A waybill bound since the last refresh is tracked from its first push on. A store error is not
    "unknown": it propagates, so the push is not acknowledged and comes again."""
    from xl_addin.adapters.store.waybills import WaybillStore

    b = WaybillStore(store).current_by_waybill(waybill)
    if b is None:
        return False
    with store.transaction():
        ts.register([{"waybill_no": b.waybill_no, "order_no": b.order_no, "carrier_code": b.carrier_code,
                      "expected_delivery": b.expected_delivery, "bound_at": b.bound_at}], now)
    return True


def _handle_abort(store, subs, waybill: str, message: str, now: datetime, resubscribe: bool, final: bool) -> None:
    """'3天查询无记录' once → subscribe again later (the number may simply not be scanned yet);
    otherwise, or the second time, escalate: it falls back to polling and is listed for a person."""
    row = subs.get(waybill)
    if not final and resubscribe and NO_RECORD in (message or "") and row is not None and row.resubscribes == 0:
        subs.schedule_resubscribe(waybill, now + RESUBSCRIBE_AFTER, now)
        store.audit(now, "系统", "subscription.resubscribe", "waybill", waybill, {"reason": message})
    else:
        subs.escalate(waybill, now)
        store.audit(now, "系统", "subscription.escalated", "waybill", waybill, {"reason": message})


def _field(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, str) else None
