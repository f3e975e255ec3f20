"""The scheduled refresh: ask the provider only about waybills that are due (not final, not checked within
the interval, allowed by the provider's frequency rules), at most ``requests_per_second`` and
``concurrency`` at a time. Results go to the state store first; the Tracking Log is written
from the store afterwards, so an open workbook or a crash loses nothing.
"""

from __future__ import annotations

import threading
import time as _time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from xl_addin.errors import ConfigError, UserError, WorkbookError
from xl_addin.services.tracking.anomalies import run_anomalies
from xl_addin.config.timezone import desk_timezone
from xl_addin.services.tracking.config import setting, anomaly_config, provider_code, provider_codes
from xl_addin.services.tracking.locks import job_lock
from xl_addin.services.tracking.log_rounds import LogRounds
from xl_addin.services.tracking.notices import notify_quietly
from xl_addin.services.tracking.rate_limit import RateLimiter
from xl_addin.services.tracking.registration import register_bindings
from xl_addin.services.tracking.report import RefreshResult
from xl_addin.services.tracking.results import store_results

STORE_BATCH = 50      # answers stored per transaction at most …


STORE_EVERY = 0.25    # … and at least this often (seconds)


def refresh(desk, now: datetime, *, client_factory: Callable[[], Any] | None = None,
            write_workbook: bool = True, progress: Callable[[int, int], None] | None = None,
            stop_after: int | None = None, include_pushed: bool = False) -> RefreshResult:
    """One refresh run (see module doc). ``client_factory`` builds one Kuaidi100Client per worker thread
    (default: from the desk's provider settings). ``stop_after`` ends the run early (tests of resume).
    Waybills push is keeping current are skipped unless ``include_pushed`` (staff's "refresh now")."""
    from xl_addin.bootstrap import store_for, tracking_clients

    spec = None
    if client_factory is None:
        spec, client_factory = tracking_clients(desk.settings)
    with job_lock(desk.lock_dir, "refresh"):
        with store_for(desk) as store:
            return _refresh(desk, store, now, client_factory, spec.name if spec else "custom",
                            write_workbook=write_workbook, progress=progress, stop_after=stop_after,
                            include_pushed=include_pushed)


def _refresh(desk, store, now: datetime, client_factory, provider: str, *, write_workbook: bool,
             progress, stop_after: int | None, include_pushed: bool = False) -> RefreshResult:
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.providers.kuaidi100 import CONFIG_ERROR

    started = _time.monotonic()
    settings = desk.settings
    tz = desk_timezone(settings)
    ts = TrackingStore(store)
    res = RefreshResult(as_of=now, provider=provider)
    interval = timedelta(minutes=max(30, int(settings.tracking.refresh_interval_minutes)))

    destinations: dict[str, str] = {}
    phones, names = register_bindings(store, now, destinations)
    _ingest_manual_quietly(desk, store, now, tz, names, res)

    interrupted = ts.interrupted_runs()
    if interrupted:
        last = interrupted[-1]
        res.resumed_from, res.resumed_done = last["id"], last["done"]
    due, refused = ts.due(now, interval)
    res.skipped_by_rule = len(refused)
    res.not_due = ts.open_count() - len(due) - len(refused)
    if not include_pushed:
        from xl_addin.adapters.store.subscriptions import SubscriptionStore

        trust = timedelta(hours=max(0, int(setting(settings.tracking, "trust_push_hours", 24))))
        kept = SubscriptionStore(store).kept_by_push(now, trust) if trust else set()
        if kept:
            res.kept_by_push = sum(1 for d in due if d.waybill_no in kept)
            due = [d for d in due if d.waybill_no not in kept]
    waiting = _waiting_for_a_person(store, now)
    if waiting:  # "请核对物流商或单号" is open: asked once a day, not every run, until someone corrects it
        res.waiting_for_check = sum(1 for d in due if d.waybill_no in waiting)
        due = [d for d in due if d.waybill_no not in waiting]
    if stop_after is not None:
        due_run = due[:stop_after]
    else:
        due_run = due
    run_id = ts.start_run(datetime.now(timezone.utc), now, len(due))

    concurrency = max(1, int(settings.tracking.concurrency))
    codes = provider_codes(desk)
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections

    corrected = CarrierCorrections(store).codes([d.waybill_no for d in due_run])  # Kuaidi100's or a person's fix
    query_started = _time.monotonic()
    limiter = RateLimiter(float(settings.tracking.requests_per_second))
    stop = threading.Event()
    local = threading.local()
    clients: list[Any] = []
    clients_lock = threading.Lock()

    def work(item):
        if stop.is_set():
            return item, None
        limiter.wait()
        if stop.is_set():
            return item, None
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = client_factory()
            with clients_lock:
                clients.append(client)
        return item, client.query(corrected.get(item.waybill_no) or provider_code(codes, item.carrier_code),
                                  item.waybill_no, phones.get(item.waybill_no), to=destinations.get(item.waybill_no),
                                  may_resend=_resend_gate(item, now))

    config_error = None
    touched: set[str] = set()
    evaluated: set[str] = set()
    pending = iter(due_run)
    window = max(concurrency * 2, 8)
    inflight: set[Future] = set()
    arrived: list[tuple[Any, Any]] = []
    last_store = _time.monotonic()
    unknown: set[str] = set()
    batch_state = {"done": 0}
    log_rounds = LogRounds(desk, now, tz, names) if write_workbook and stop_after is None else None
    cfg = anomaly_config(settings)

    def store_arrived() -> None:
        nonlocal config_error
        batch, arrived[:] = list(arrived), []
        config_error = store_results(store, ts, now, interval, run_id, batch, res, touched, evaluated, unknown,
                                      cfg, tz, config_error)
        batch_state["done"] += len(batch)
        if progress:
            progress(batch_state["done"], len(due_run))

    try:
        if log_rounds:
            log_rounds.start()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="refresh") as pool:
            while True:
                if not stop.is_set() and len(inflight) < window:
                    batch = []
                    for item in pending:
                        batch.append(item)
                        if len(inflight) + len(batch) >= window + max(window, 32):
                            break
                    if batch:
                        ts.reserve_attempts([b.waybill_no for b in batch], now, run_id)
                        inflight |= {pool.submit(work, b) for b in batch}
                if not inflight and not arrived:
                    break
                if inflight:
                    finished, inflight = wait(inflight, timeout=STORE_EVERY, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        if fut.cancelled():
                            continue
                        item, out = fut.result()
                        if out is None:
                            continue
                        if out.kind == CONFIG_ERROR:
                            stop.set()  # at once: no more requests with a key the provider refuses
                        arrived.append((item, out))
                # answers are stored in batches: one transaction and a few set-wise reads per batch
                if arrived and (not inflight or stop.is_set() or len(arrived) >= STORE_BATCH
                                or _time.monotonic() - last_store >= STORE_EVERY):
                    store_arrived()
                    last_store = _time.monotonic()
                if stop.is_set():
                    for f in inflight:
                        f.cancel()
    except BaseException:
        if log_rounds:
            log_rounds.abandon()
        raise
    finally:
        for c in clients:
            try:
                c.close()
            except Exception:
                pass
    res.requests = sum(getattr(c, "http_requests", 0) for c in clients)
    res.query_seconds = round(_time.monotonic() - query_started, 3)
    res.unknown_codes = sorted(unknown)
    if config_error is not None or (stop_after is not None and len(due_run) < len(due)):
        if log_rounds:
            log_rounds.abandon()
    if config_error is not None:
        ts.finish_run(run_id, datetime.now(timezone.utc), "config_error", res.counts())
        raise ConfigError(f"物流查询服务拒绝了我们的账号（返回码 {config_error.return_code}：{config_error.message}），"
                          f"本次刷新已停止（已查询 {res.queried} 单）",
                          config_error.hint or "请检查 KUAIDI100_CUSTOMER 与 KUAIDI100_KEY")
    if stop_after is not None and len(due_run) < len(due):
        return res  # the run stays 'running': the next run resumes it

    try:
        run_anomalies(desk, store, now, tz, res, set(), skip=evaluated)
    except BaseException:
        if log_rounds:
            log_rounds.abandon()
        raise
    if log_rounds:
        log_rounds.finish()  # the last round writes in its thread while the notices go out here
    try:
        res.notices = notify_quietly(desk, store, now, res.problems)
    finally:
        if log_rounds:
            log_rounds.join(res)
    if write_workbook:
        _show_carrier_checks(desk, store, res)
    res.seconds = round(_time.monotonic() - started, 3)
    ts.finish_run(run_id, datetime.now(timezone.utc), "done", res.counts())
    rid = store.start_job("refresh", datetime.now(timezone.utc))
    store.finish_job(rid, datetime.now(timezone.utc), res.job_status, res.summary_zh())
    return res


NO_RECORD_RECHECK = timedelta(hours=24)


def _waiting_for_a_person(store, now: datetime) -> set[str]:
    """Numbers with an open "请核对物流商或单号" that were asked within the last day."""
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.domain.tracking.anomalies import NO_RECORD

    return TrackingStore(store).open_and_checked_since(NO_RECORD, now - NO_RECORD_RECHECK)


def _show_carrier_checks(desk, store, res: RefreshResult) -> None:
    """Carrier corrections and "请核对物流商或单号" reach the Binding Table (its carrier-check columns) after a
    refresh, when there is any; an open or unreadable workbook is a message, the store keeps everything."""
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.domain.tracking.anomalies import NO_RECORD

    if not TrackingStore(store).carrier_checks_to_show(NO_RECORD):
        return
    from xl_addin.services.waybills.policy import Books, WaybillPolicy
    from xl_addin.services.waybills.sheet_sync import sync_workbooks

    books = Books.for_desk(desk)
    if books.bindings is None:
        return
    try:
        sync = sync_workbooks(store, Books(books.bindings, None, books.backup_dir), WaybillPolicy.from_settings(desk.settings))
    except (WorkbookError, UserError) as exc:
        res.workbook_message = (res.workbook_message + "；" if res.workbook_message else "") + f"绑定表未更新：{exc}"
        return
    if sync.messages:
        res.workbook_message = (res.workbook_message + "；" if res.workbook_message else "") + "；".join(sync.messages)


def _resend_gate(item, now: datetime) -> Callable[[], bool]:
    """Whether the client may send this number's query again within the attempt: only if the
    frequency rules allow one more query now, counting the one already sent (a re-send is another
    query for Kuaidi100). With the one-per-30-minutes rule that is never, so a failed query waits for
    the next run rather than risking the 24-hour lock."""
    from xl_addin.adapters.store.store import utc_iso
    from xl_addin.adapters.store.tracking import TrackingStore

    sent = list(getattr(item, "recent", []) or []) + [utc_iso(now)]

    def gate() -> bool:
        if TrackingStore.allowed(sent, now):
            sent.append(utc_iso(now))
            return True
        return False

    return gate


def _ingest_manual_quietly(desk, store, now, tz, names, res: RefreshResult) -> None:
    from xl_addin.services.tracking.tracking_log import ingest_manual

    try:
        r = ingest_manual(desk.workbook("tracking"), store, now, tz, backup_dir=desk.backup_dir)
    except WorkbookError as exc:
        res.workbook_message = str(exc)
        return
    res.manual_ingested = r.manual_ingested
    res.problems += [{"waybill_no": "", "code": "manual", "message": p, "hint": ""} for p in r.manual_problems]
