"""Push tracking: subscribe waybills with Kuaidi100, ingest the pushes it sends back.

Why push: the provider allows one query per number per 30 minutes and 48 a day, so polling
cannot keep thousands of open waybills current; a subscription makes the provider call us
on every change. A push goes through the same idempotent path as the refresh job (event keys,
``ON CONFLICT DO NOTHING``), so a repeated or out-of-order push adds only what is new, and
the new events are queued for customer notices in the same transaction.

The receiver (``xl_addin.receiver``) is HTTP only; ``PushService`` is what it calls: verify the
signature before reading anything, ingest, answer. Notices are offered and sent by a
background thread so the provider always gets its answer well within 20 seconds.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time as _time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from xl_addin.errors import ConfigError, UserError
from xl_addin.services.push.ingest import (  # noqa: F401  (the receiver's side, re-exported)
    NO_RECORD, RESEND_WINDOW, RESUBSCRIBE_AFTER, PushVerdict, ingest_push)

log = logging.getLogger(__name__)

CALLBACK_PATH = "/kuaidi100/callback"
CALLBACK_URL_ENV = "XL_LOGISTICS_CALLBACK_URL"
RETRY_SUBSCRIBE = timedelta(minutes=30)
CRASH_ENV = "XL_LOGISTICS_TEST_CRASH_AFTER_PUSHES"
WRITER_ENV = "XL_LOGISTICS_PUSH_WRITER"  # "process" (default) or "thread"


# ---------------------------------------------------------------- settings

def push_salt(desk, store, env: Mapping[str, str] | None = None) -> str:
    """The push-signature salt: the environment variable named by ``[tracking] salt_env``, else one
    random salt generated once and kept in the desk's state store (never in a workbook or a log)."""
    env = os.environ if env is None else env
    name = getattr(desk.settings.tracking, "salt_env", "KUAIDI100_SALT") or "KUAIDI100_SALT"
    if env.get(name):
        return env[name]
    from xl_addin.adapters.store.push_settings import keep_salt, stored_salt

    return stored_salt(store) or keep_salt(store, secrets.token_hex(16))


def callback_url(desk, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    url = (env.get(CALLBACK_URL_ENV) or desk.settings.tracking.callback_url or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigError("未配置推送回调地址：订阅需要一个快递100 能访问到的地址",
                          f"在 xl-logistics.toml 的 [tracking] 写 callback_url = \"https://你的域名{CALLBACK_PATH}\"，"
                          f"或设置环境变量 {CALLBACK_URL_ENV}；部署方法见 docs/push-receiver.md")
    return url


# ---------------------------------------------------------------- subscribe

@dataclass
class SubscribeResult:
    as_of: datetime
    submitted: int = 0
    accepted: int = 0
    duplicate: int = 0
    limited: int = 0  # this month's four subscriptions spent: polled instead until next month
    refused: list[dict[str, str]] = field(default_factory=list)
    retry_later: list[dict[str, str]] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    attention: list[dict[str, Any]] = field(default_factory=list)  # refused, aborted, escalated
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["as_of"] = self.as_of.isoformat()
        return d


def subscribe_waybills(desk, now: datetime, *, client=None, url: str | None = None,
                       rate: float | None = -1.0, env: Mapping[str, str] | None = None) -> SubscribeResult:
    """Subscribe every tracked, unfinished waybill that has no live subscription (once each).

    501 duplicate counts as subscribed — unless Kuaidi100 had stopped the number (shutdown, abort)
    since our last subscription: then it is the month's limit (the fifth subscription of a month is
    answered 501 "重复订阅" too) and the waybill is polled; 700/701/702 are the waybill's problem (kept with a hint);
    600/601 stop the run as a ConfigError. ``rate``: requests per second (default: the desk's
    ``requests_per_second``; None: no limit, for the sandbox)."""
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
    from xl_addin.adapters.store.subscriptions import MONTHLY_LIMIT, SubscriptionStore
    from xl_addin.adapters.providers.kuaidi100 import CONFIG_ERROR, WAYBILL_PROBLEM
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking import RateLimiter, provider_code, provider_codes, provider_spec, register_bindings

    started = _time.monotonic()
    url = url or callback_url(desk, env)
    own_client = client is None
    if client is None:
        from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client

        spec = provider_spec(desk.settings, env)
        client = Kuaidi100Client(spec.base_url, spec.customer, spec.key)
    if rate == -1.0:
        rate = float(desk.settings.tracking.requests_per_second)
    limiter = RateLimiter(rate or 0)
    res = SubscribeResult(as_of=now)
    try:
        with store_for(desk) as store:
            destinations: dict[str, str] = {}
            phones, _names = register_bindings(store, now, destinations)
            codes = provider_codes(desk)
            salt = push_salt(desk, store, env)
            subs = SubscriptionStore(store)
            todo = subs.to_subscribe(now)
            corrected = CarrierCorrections(store).codes([w for w, _c, _o in todo])
            for waybill, carrier, _order in todo:
                com = corrected.get(waybill) or provider_code(codes, carrier)
                prev = subs.get(waybill)
                if prev is not None and prev.subscriptions_this_month(now) >= MONTHLY_LIMIT:
                    with store.transaction():  # a fifth would be answered 501 and never pushed: do not spend it
                        subs.limit_reached(waybill, None, "本月已订阅4次，未再提交", now)
                        store.audit(now, "系统", "subscription.limit", "waybill", waybill, {"company": com})
                    res.limited += 1
                    continue
                with store.transaction():
                    subs.submitted(waybill, carrier, com, url, now)
                limiter.wait()
                out = client.subscribe(com, waybill, url, salt, phones.get(waybill), to=destinations.get(waybill))
                res.submitted += 1
                if out.kind == CONFIG_ERROR:
                    with store.transaction():
                        subs.answered(waybill, "retry", out.return_code, out.message, out.hint or "", now, now)
                    raise ConfigError(f"快递100 拒绝了订阅账号（返回码 {out.return_code}：{out.message}），"
                                      f"本次订阅已停止（已提交 {res.submitted} 单）",
                                      out.hint or "请检查 KUAIDI100_KEY")
                if out.kind == "duplicate" and prev is not None and prev.ended:
                    # 501 "重复订阅" after Kuaidi100 itself stopped: not "already polling" but the month's
                    # limit (the fifth subscription gets the same code) — nothing will be pushed
                    with store.transaction():
                        subs.limit_reached(waybill, out.return_code, out.message, now)
                        store.audit(now, "系统", "subscription.limit", "waybill", waybill,
                                    {"company": com, "code": out.return_code, "message": out.message})
                    res.limited += 1
                    continue
                if out.ok:
                    state = out.kind
                    res.accepted += out.kind == "accepted"
                    res.duplicate += out.kind == "duplicate"
                    next_try = None
                elif out.kind == WAYBILL_PROBLEM:
                    state, next_try = "refused", None
                    res.refused.append({"waybill_no": waybill, "code": out.return_code or "",
                                        "message": out.message, "hint": out.hint or ""})
                else:
                    state, next_try = "retry", now + RETRY_SUBSCRIBE
                    res.retry_later.append({"waybill_no": waybill, "code": out.return_code or "",
                                            "message": out.message, "hint": out.hint or ""})
                with store.transaction():
                    subs.answered(waybill, state, out.return_code, out.message, out.hint or "", now, next_try)
                    store.audit(now, "系统", f"subscription.{state}", "waybill", waybill,
                                {"company": com, "code": out.return_code, "message": out.message})
            res.states = subs.counts()
            res.attention = [r.as_dict() for r in subs.all() if r.state in ("refused", "abort", "limit") or r.escalated_at]
    finally:
        if own_client:
            client.close()
    res.seconds = round(_time.monotonic() - started, 3)
    return res


def subscription_overview(desk) -> list[dict[str, Any]]:
    from xl_addin.adapters.store.subscriptions import SubscriptionStore
    from xl_addin.bootstrap import store_for

    with store_for(desk) as store:
        return [r.as_dict() for r in SubscriptionStore(store).all()]


# ---------------------------------------------------------------- the service behind the receiver

class PushService:
    """What ``xl-logistics serve`` runs: verification in the request threads, one writer (its own process by default, see ``push_writer_process``) that
    stores pushes in batches (``push_writer``, group commit), and a background sender that offers queued notices and sends them (also once at start, to finish
    whatever a killed predecessor left). ``clock`` gives "now" (the sandbox's clock in the demo)."""

    def __init__(self, desk, *, clock: Callable[[], datetime] | None = None, env: Mapping[str, str] | None = None,
                 send_interval: float = 30.0, notify: bool = True):
        from xl_addin.bootstrap import store_for
        from xl_addin.config.timezone import desk_timezone

        self.desk = desk
        self.env = dict(os.environ if env is None else env)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.tz = desk_timezone(desk.settings)
        t = desk.settings.tracking
        self.resubscribe_on_abort = bool(getattr(t, "resubscribe_on_abort", True))
        self.refresh_interval = timedelta(minutes=max(30, int(t.refresh_interval_minutes)))
        self._stores: list[Any] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        with store_for(desk) as store:
            self.salt = push_salt(desk, store, self.env)
            # the file the writer process opens: exactly the store this service resolved, never re-resolved there
            self.store_file = Path(store.location) if store.dialect == "sqlite" else None
        self.notify = notify
        self._touched: set[str] = set()
        self.send_interval = send_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self.last_notice: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        # test-only fault injection: the process dies right after storing the Nth push, before answering
        # (the crash window the pending-notice queue exists for)
        crash = self.env.get(CRASH_ENV, "")
        self._crash_after = int(crash) if crash.isdigit() else 0
        self._stored = 0
        self._push_writer: Any = None
        self._parse_in_writer = False  # the writer process gets the signed param text and parses it itself
        #: "process" (default): the writer runs in a child process; "thread": in this process
        self.writer_mode = self.env.get(WRITER_ENV, "process")

    def _store(self):
        store = getattr(self._local, "store", None)
        if store is None:
            from xl_addin.bootstrap import store_for

            store = self._local.store = store_for(self.desk)
            with self._lock:
                self._stores.append(store)
        return store

    # -- the receiver calls these ------------------------------------------------------
    def handle(self, form: Mapping[str, Any]) -> PushVerdict:
        """Check the signature here (request thread); the writer process parses and stores (the thread
        writer gets the push parsed here), in batches (group commit); answer only once the commit holding
        this push has returned."""
        from xl_addin.services.push.ingest import check_sign, parse_signed

        try:
            verified = check_sign(form, self.salt)
            if not isinstance(verified, PushVerdict):
                writer = self._writer()
                if not self._parse_in_writer:
                    verified = parse_signed(verified, tz=self.tz)
            if isinstance(verified, PushVerdict):
                verdict = verified
            else:
                verdict = writer.submit(verified, self.clock())
        except Exception as exc:  # store busy or broken: not acknowledged, the provider retries later
            log.exception("push ingestion failed")
            verdict = PushVerdict("error", False, detail=f"{type(exc).__name__}: {exc}")
        with self._lock:
            self.counts[verdict.outcome] = self.counts.get(verdict.outcome, 0) + 1
        if verdict.new_events:
            with self._lock:
                self._touched.add(verdict.waybill_no)
            self._wake.set()
        return verdict

    def _writer(self):
        writer = self._push_writer
        if writer is None:
            from xl_addin.bootstrap import store_for
            from xl_addin.services.push.writer import PushWriter

            with self._lock:
                if self._push_writer is None:
                    kw = dict(resubscribe_on_abort=self.resubscribe_on_abort, refresh_interval=self.refresh_interval,
                              after_commit=self._after_commit)
                    if self.writer_mode == "process" and self.store_file is not None:
                        # SQLite: storing on the second core, off the HTTP threads' GIL. A PostgreSQL store does
                        # its storing in the server's own processes, so the thread writer serves it.
                        from xl_addin.services.push.writer_process import PushWriterProcess

                        self._push_writer = PushWriterProcess(self.store_file, tz=self.tz, **kw).start()
                        self._parse_in_writer = True
                    else:
                        self._push_writer = PushWriter(lambda: store_for(self.desk), **kw).start()
                writer = self._push_writer
        return writer

    def _after_commit(self, verdicts: list[PushVerdict]) -> None:
        """Runs on the writer after each commit, before anyone is answered."""
        if not self._crash_after:
            return
        with self._lock:
            self._stored += sum(v.outcome == "ingested" for v in verdicts)
            crash = self._stored >= self._crash_after
        if crash:
            with self._flush_lock:  # die mid-ingest, not mid-send (that window is the send log's 'unknown')
                os._exit(137)

    def health(self) -> dict[str, Any]:
        from xl_addin.adapters.store.subscriptions import NoticeQueue

        from xl_addin.adapters.store.push_settings import ping

        store = self._store()
        ping(store)
        return {"store": "ok", "pending_notices": NoticeQueue(store).count(), "pushes": dict(self.counts),
                "sender": bool(self._sender and self._sender.is_alive())}

    # -- notices -------------------------------------------------------------------------
    def flush(self, now: datetime | None = None) -> dict[str, Any]:
        """Offer queued notices and send what is due, now (the sender thread calls this too)."""
        from xl_addin.services.tracking import notify_queued

        from xl_addin.services.notify.notifications import build_notifier

        store = self._store()
        with self._flush_lock:  # one sender at a time in this process (the send log guards across processes)
            with self._lock:
                touched, self._touched = self._touched, set()
            if touched:  # anomaly rules and exception cases for what the pushes changed
                from xl_addin.services.tracking import detect_for_waybills

                detect_for_waybills(self.desk, store, now or self.clock(), touched)
            notifier = build_notifier(self.desk, store, env=self.env)
            out = notify_queued(self.desk, store, now or self.clock(), notifier=notifier)
        self.last_notice = out
        return out

    def start(self) -> "PushService":
        self._writer()  # ready before the first push (a writer process takes a moment to start)
        if self.notify and self._sender is None:
            self._sender = threading.Thread(target=self._send_loop, name="push-notifier", daemon=True)
            self._sender.start()
        return self

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.flush()
            except Exception:
                log.exception("notification run failed")
            self._wake.wait(self.send_interval)
            self._wake.clear()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._sender is not None:
            self._sender.join(timeout)
            try:
                self.flush()  # send what is due before leaving
            except Exception:
                log.exception("final notification run failed")
        if self._push_writer is not None:
            self._push_writer.close(timeout)
        with self._lock:
            stores, self._stores = self._stores, []
        for s in stores:
            try:
                s.close()
            except Exception:
                pass
