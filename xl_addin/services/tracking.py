"""Tracking use cases: the scheduled refresh, one waybill's story, manual nodes, the daily export, the demo.

The refresh asks the provider only about waybills that are due (not final, not checked within
the interval, allowed by the provider's frequency rules), at most ``requests_per_second`` and
``concurrency`` at a time. Results go to the state store first; the Tracking Log is written
from the store afterwards, so an open workbook or a crash loses nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time as _time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from contextlib import contextmanager

from xl_addin.errors import ConfigError, JobLocked, UserError, WorkbookError
from xl_addin.processes import pid_alive
from xl_addin.services.order_completion import complete_on_signing

log = logging.getLogger(__name__)

SANDBOX_CUSTOMER, SANDBOX_KEY = "SANDBOX-CUSTOMER", "sandbox-key"


# ---------------------------------------------------------------- provider

@dataclass
class ProviderSpec:
    name: str
    base_url: str
    customer: str
    key: str


def provider_spec(settings, env: dict[str, str] | None = None) -> ProviderSpec:
    """Which tracking service this desk uses, or a ConfigError saying exactly what to set."""
    env = os.environ if env is None else env
    t = settings.tracking
    customer, key = env.get(t.customer_env, ""), env.get(t.key_env, "")
    if t.provider == "sandbox":
        base = env.get("KUAIDI100_BASE_URL") or t.base_url
        if not base:
            raise ConfigError("台账配置为使用沙箱（[tracking] provider = \"sandbox\"），但没有沙箱地址",
                              "先运行 xl-logistics sandbox --port 8765，再在 xl-logistics.toml 的 [tracking] 写 "
                              "base_url = \"http://127.0.0.1:8765\"，或设置环境变量 KUAIDI100_BASE_URL")
        return ProviderSpec("sandbox", base, customer or SANDBOX_CUSTOMER, key or SANDBOX_KEY)
    if not customer or not key:
        missing = " 和 ".join(n for n, v in ((t.customer_env, customer), (t.key_env, key)) if not v)
        raise ConfigError(f"未配置物流查询账号：缺少环境变量 {missing}",
                          f"请设置环境变量 {t.customer_env}（快递100 企业账号 customer）和 {t.key_env}（授权 key）；"
                          "或在 xl-logistics.toml 的 [tracking] 写 provider = \"sandbox\" 使用本地沙箱")
    return ProviderSpec("kuaidi100", settings.tracking_base_url(env), customer, key)


# ---------------------------------------------------------------- job lock

@contextmanager
def job_lock(lock_dir: Path, job: str) -> Iterator[Path]:
    """One copy of a job per desk: an exclusive lock file naming host and pid. A lock left by a
    process that is gone (killed, crashed) on this host is taken over."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{job}.lock"
    me = f"{socket.gethostname()}:{os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() if path.exists() else ""
            host, _, pid = holder.partition(":")
            if host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                path.unlink(missing_ok=True)  # stale: the holder is gone
                continue
            raise JobLocked(f"另一个 {job} 正在运行（{holder or '未知进程'}），本次不运行",
                            f"等它结束后再试；若确认没有在运行，可删除 {path}")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)
        break
    try:
        yield path
    finally:
        try:
            if path.read_text(encoding="utf-8").strip() == me:
                path.unlink()
        except OSError:
            pass


# ---------------------------------------------------------------- rate limit

class RateLimiter:
    """Request slots at exact multiples of 1/rate from the first request (t = 0), shared by all workers.

    A worker that wakes late does not push the later slots back, so the run keeps to N / rate
    instead of drifting; after a stall longer than ``max_lag`` the schedule restarts from now
    rather than letting a burst through."""

    def __init__(self, rate: float, max_lag: float = 1.0, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.max_lag = max_lag
        self._clock = clock or _time.monotonic
        self._sleep = sleep or _time.sleep
        self._start: float | None = None
        self._slots = 0
        self.lost = 0.0  # seconds of schedule given up after stalls (shows a run that could not keep up)
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
            slot = self._start + self._slots * self.interval
            if now - slot > self.max_lag:
                self.lost += now - slot - self.max_lag
                self._start += now - slot - self.max_lag
                slot = now - self.max_lag
            self._slots += 1
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)


# ---------------------------------------------------------------- refresh

@dataclass
class RefreshResult:
    as_of: datetime
    provider: str = ""
    queried: int = 0
    updated: int = 0
    unchanged: int = 0
    not_found: int = 0
    failed: int = 0
    skipped_by_rule: int = 0
    not_due: int = 0
    anomalies: int = 0
    anomalies_opened: int = 0
    anomalies_resolved: int = 0
    cases_opened: int = 0
    new_events: int = 0
    manual_ingested: int = 0
    resumed_from: int | None = None
    resumed_done: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    workbook_written: bool = False
    workbook_message: str = ""
    kept_by_push: int = 0
    waiting_for_check: int = 0  # "请核对物流商或单号" open and asked today: left for a person
    notices: dict = field(default_factory=dict)
    seconds: float = 0.0
    query_seconds: float = 0.0
    requests: int = 0

    def counts(self) -> dict[str, int]:
        return {"queried": self.queried, "updated": self.updated, "unchanged": self.unchanged,
                "not_found": self.not_found, "failed": self.failed, "skipped_by_rule": self.skipped_by_rule,
                "anomalies": self.anomalies, "cases_opened": self.cases_opened}

    @property
    def job_status(self) -> str:
        """How 最近运行.xlsx shows the run: 部分失败 when any waybill could not be queried."""
        return "partial" if self.failed else "ok"

    def summary_zh(self) -> str:
        """One line for 最近运行.xlsx and the job log: the counts, then each failed waybill's reason."""
        text = "查询 {queried}，有更新 {updated}，失败 {failed}，异常 {anomalies}".format(**self.counts())
        failed = [p for p in self.problems if p.get("waybill_no")]
        if failed:
            first = failed[0]
            text += f"。失败原因: {first['waybill_no']} {first['message']}；{first['hint']}".rstrip("；")
            if len(failed) > 1:
                text += f"（另有 {len(failed) - 1} 单，见跟踪记录表“异常原因”列或 xl-logistics track 单号）"
        return text

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["as_of"] = self.as_of.isoformat()
        d["counts"] = self.counts()
        return d


def _setting(section, name: str, default):
    return getattr(section, name, default)


def anomaly_config(settings):
    from xl_addin.domain.tracking.anomalies import AnomalyConfig

    t = settings.tracking
    return AnomalyConfig(
        no_pickup_hours=float(_setting(t, "no_pickup_hours", 24.0)),
        after_pickup_hours=float(_setting(t, "after_pickup_hours", 24.0)),
        in_transit_hours=float(_setting(t, "in_transit_hours", 48.0)),
        pause_on_non_working_days=bool(_setting(t, "pause_on_non_working_days", False)),
        no_record_days=float(_setting(t, "no_record_days", 3)))


def provider_codes(desk) -> dict[str, str]:
    """Our carrier code → the tracking provider's company code (``com``), from the desk's qualified carriers."""
    from xl_addin.domain.waybills.carriers import load_default_carriers

    carriers = load_default_carriers()
    try:
        from xl_addin.services.waybills import Books, load_carriers

        carriers = load_carriers(Books.for_desk(desk))
    except Exception as exc:  # an unreadable carriers sheet must not stop tracking: fall back to the defaults
        log.warning("carriers sheet not readable, using defaults: %s", exc)
    return {c.code: c.kuaidi100_code for c in carriers if c.kuaidi100_code}


def provider_code(codes: dict[str, str], carrier_code: str | None) -> str:
    return codes.get(carrier_code or "", (carrier_code or "").lower())


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

    try:
        from xl_addin.adapters.store.waybills import WaybillStore

        bindings = WaybillStore(store).all_current()
    except Exception as exc:  # the bindings table belongs to the waybill stage; a store without it tracks nothing new
        log.warning("bindings not readable: %s", exc)
        bindings = []
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
            row = store.conn.execute("SELECT order_no FROM waybill_status WHERE waybill_no = ?", (fw.old_waybill,)).fetchone()
            ts.track_forwarded(fw.new_waybill, fw.old_waybill, row[0] if row else None, fw.carrier_code, now)
            if fw.kuaidi100_code:
                CarrierCorrections(store).apply(fw.new_waybill, None, fw.kuaidi100_code, now, by="快递100",
                                                reason=f"转投自 {fw.old_waybill}")
            if not ts.replace(fw.old_waybill, fw.new_waybill, now):
                continue  # seen before
        store.audit(now, "系统", "tracking.forwarded", "waybill", fw.old_waybill, detail)
        out.append(detail)
    return out


def refresh(desk, now: datetime, *, client_factory: Callable[[], Any] | None = None,
            write_workbook: bool = True, progress: Callable[[int, int], None] | None = None,
            stop_after: int | None = None, include_pushed: bool = False) -> RefreshResult:
    """One refresh run (see module doc). ``client_factory`` builds one Kuaidi100Client per worker thread
    (default: from the desk's provider settings). ``stop_after`` ends the run early (tests of resume).
    Waybills push is keeping current are skipped unless ``include_pushed`` (staff's "refresh now")."""
    from xl_addin.bootstrap import store_for

    spec = None
    if client_factory is None:
        spec = provider_spec(desk.settings)
        client_factory = _client_factory(spec, desk.settings)
    with job_lock(desk.lock_dir, "refresh"):
        with store_for(desk) as store:
            return _refresh(desk, store, now, client_factory, spec.name if spec else "custom",
                            write_workbook=write_workbook, progress=progress, stop_after=stop_after,
                            include_pushed=include_pushed)


def _client_factory(spec: ProviderSpec, settings) -> Callable[[], Any]:
    from xl_addin.adapters.tracking.kuaidi100 import Kuaidi100Client

    tz = _tz(settings)

    def make():
        return Kuaidi100Client(spec.base_url, spec.customer, spec.key, tz=tz)

    return make


def _tz(settings):
    from xl_addin.config.timezone import desk_timezone; return desk_timezone(settings)  # noqa: E702


def _refresh(desk, store, now: datetime, client_factory, provider: str, *, write_workbook: bool,
             progress, stop_after: int | None, include_pushed: bool = False) -> RefreshResult:
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.tracking.kuaidi100 import CONFIG_ERROR

    started = _time.monotonic()
    settings = desk.settings
    tz = _tz(settings)
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
    res.not_due = len(store.conn.execute("SELECT 1 FROM waybill_status WHERE is_final = 0").fetchall()) - len(due) - len(refused)
    if not include_pushed:
        from xl_addin.adapters.store.subscriptions import SubscriptionStore

        trust = timedelta(hours=max(0, int(_setting(settings.tracking, "trust_push_hours", 24))))
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
    log_rounds = _LogRounds(desk, now, tz, names) if write_workbook and stop_after is None else None
    cfg = anomaly_config(settings)

    def store_arrived() -> None:
        nonlocal config_error
        batch, arrived[:] = list(arrived), []
        config_error = _store_results(store, ts, now, interval, run_id, batch, res, touched, evaluated, unknown,
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
        _run_anomalies(desk, store, now, tz, res, set(), skip=evaluated)
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
    from xl_addin.adapters.store.store import utc_iso
    from xl_addin.domain.tracking.anomalies import NO_RECORD

    rows = store.conn.execute(
        "SELECT a.waybill_no FROM tracking_anomalies a JOIN waybill_status s ON s.waybill_no = a.waybill_no "
        "WHERE a.rule = ? AND a.resolved_at IS NULL AND s.last_checked_at IS NOT NULL AND s.last_checked_at > ?",
        (NO_RECORD, utc_iso(now - NO_RECORD_RECHECK))).fetchall()
    return {r[0] for r in rows}


def _show_carrier_checks(desk, store, res: RefreshResult) -> None:
    """Carrier corrections and "请核对物流商或单号" reach the Binding Table (its carrier-check columns) after a
    refresh, when there is any; an open or unreadable workbook is a message, the store keeps everything."""
    from xl_addin.domain.tracking.anomalies import NO_RECORD

    has = store.conn.execute("SELECT 1 FROM carrier_corrections LIMIT 1").fetchone() or store.conn.execute(
        "SELECT 1 FROM tracking_anomalies WHERE rule = ? AND resolved_at IS NULL LIMIT 1", (NO_RECORD,)).fetchone()
    if not has:
        return
    from xl_addin.services.waybills import Books, WaybillPolicy, sync_workbooks

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


MIN_RETRY = timedelta(minutes=30)
STORE_BATCH = 50      # answers stored per transaction at most …
STORE_EVERY = 0.25    # … and at least this often (seconds)
LOG_ROUND_GAP = 3.0   # seconds between Tracking Log rounds while the queries run


def _store_results(store, ts, now: datetime, interval: timedelta, run_id: int, batch: list, res: RefreshResult,
                   touched: set[str], evaluated: set[str], unknown: set[str], cfg, tz, config_error):
    """Store one batch of answers in one transaction and run the anomaly rules on the waybills they
    touched (their nodes are at hand now; the run's ``now`` is fixed, so the verdict is the one the
    end of the run would reach). Returns the first configuration error seen."""
    from xl_addin.adapters.store.subscriptions import NoticeQueue
    from xl_addin.adapters.tracking.kuaidi100 import CONFIG_ERROR, NOT_FOUND, OK, WAYBILL_PROBLEM, RETRYABLE

    with store.transaction():
        answered = [(item, out) for item, out in batch if out.kind != CONFIG_ERROR]
        oks = [(item, out) for item, out in answered if out.kind == OK]
        new = ts.add_events([e for _item, out in oks for e in out.events], now)
        NoticeQueue(store).add(new, now)
        res.new_events += len(new)
        follow_forwarding(store, new, now)
        fresh: dict[str, int] = {}
        for e in new:
            fresh[e.waybill_no] = fresh.get(e.waybill_no, 0) + 1
        waybills = list(dict.fromkeys(item.waybill_no for item, _out in answered))
        events = ts.events_of(waybills) if waybills else {}
        for item, _out in oks:
            ts.refresh_status(item.waybill_no, events.get(item.waybill_no, []), now)
            complete_on_signing(store, item.waybill_no, now)
        rows = _status_rows(store, waybills)
        for item, out in batch:
            kind = out.kind
            if kind == CONFIG_ERROR:
                if config_error is None:
                    config_error = out
                ts.record_check(item.waybill_no, now, kind, out.message, None, checked=False)
                continue
            res.queried += 1
            touched.add(item.waybill_no)
            ts.add_attempts(item.waybill_no, now, int(getattr(out, "attempts", 1) or 1) - 1)
            if kind == OK:
                final = bool((rows.get(item.waybill_no) or (None, None, 0))[2])
                ts.record_check(item.waybill_no, now, kind, out.message, None if final else now + interval,
                                unknown_codes=out.unknown_codes)
                unknown.update(out.unknown_codes)
                if fresh.get(item.waybill_no):
                    res.updated += 1
                else:
                    res.unchanged += 1
            elif kind == NOT_FOUND:
                res.not_found += 1
                ts.record_check(item.waybill_no, now, kind, out.message, now + interval, mark_not_found=True)
            elif kind == WAYBILL_PROBLEM:
                res.failed += 1
                res.problems.append({"waybill_no": item.waybill_no, "code": out.return_code or "",
                                     "message": out.message, "hint": out.hint or ""})
                ts.record_check(item.waybill_no, now, kind, f"{out.message} {out.hint or ''}".strip(),
                                now + interval)
            else:  # RETRYABLE: stays due; the attempt counts against the frequency rules
                res.failed += 1
                res.problems.append({"waybill_no": item.waybill_no, "code": out.return_code or "",
                                     "message": out.message, "hint": out.hint or ""})
                ts.record_check(item.waybill_no, now, RETRYABLE, f"{out.message} {out.hint or ''}".strip(),
                                now + MIN_RETRY, checked=False)
            ts.item_done(run_id, item.waybill_no, kind, now)
        _evaluate(ts, now, cfg, tz, waybills, rows, events, res)
        evaluated.update(waybills)
    return config_error


def _status_rows(store, waybills: list[str]) -> dict[str, tuple]:
    """{waybill: (bound_at, expected_delivery, is_final, replaced_by)} read set-wise."""
    out: dict[str, tuple] = {}
    for i in range(0, len(waybills), 500):
        part = waybills[i:i + 500]
        for w, bound, expected, final, replaced in store.conn.execute(
                "SELECT waybill_no, bound_at, expected_delivery, is_final, replaced_by FROM waybill_status "
                f"WHERE waybill_no IN ({', '.join('?' * len(part))})", part):
            out[w] = (bound, expected, final, replaced)
    return out


def _evaluate(ts, now: datetime, cfg, tz, waybills, rows: dict[str, tuple], events: dict, res: RefreshResult) -> None:
    """The anomaly rules for these waybills, synced into the store. Inside a transaction."""
    from xl_addin.adapters.store.store import from_iso
    from xl_addin.domain.tracking.anomalies import Journey, evaluate

    for w in waybills:
        row = rows.get(w)
        if row is None:
            continue
        bound, expected, _final, replaced = row
        j = Journey(w, from_iso(bound), date.fromisoformat(expected) if expected else None, events.get(w, []))
        hits = [] if replaced else evaluate(j, now, cfg, tz=tz)  # a replaced number is no one's concern any more
        opened, resolved = ts.sync_anomalies(w, hits, now)
        res.anomalies_opened += opened
        res.anomalies_resolved += resolved


def _run_anomalies(desk, store, now: datetime, tz, res: RefreshResult, touched: set[str],
                   skip: set[str] = frozenset()) -> None:
    """The rules over every active waybill (and ``touched``), except those already judged this run (``skip``)."""
    from xl_addin.adapters.store.tracking import TrackingStore

    ts = TrackingStore(store)
    cfg = anomaly_config(desk.settings)
    targets = [w for w in dict.fromkeys(ts.active_waybills() + sorted(touched)) if w not in skip]
    with store.transaction():
        for i in range(0, len(targets), 2000):
            part = targets[i:i + 2000]
            _evaluate(ts, now, cfg, tz, part, _status_rows(store, part), ts.events_of(part), res)
    res.anomalies = len(ts.anomalies(open_only=True))
    res.cases_opened = open_exception_cases(store, now, tz)


class _LogRounds:
    """Brings the Tracking Log up to date in rounds on its own thread and store connection while the
    queries run, so the round after the last answer has little left to write. A workbook open in
    Excel or unreadable ends the rounds; the store keeps everything and the next run catches up."""

    def __init__(self, desk, now: datetime, tz, names: dict[str, str]) -> None:
        from xl_addin.services.tracking_log import LogWriter

        t = desk.settings.tracking
        self.desk = desk
        self.writer = LogWriter(desk.workbook("tracking"), now, tz, backup_dir=desk.backup_dir,
                                keep_delivered_days=int(_setting(t, "keep_delivered_days", 3)),
                                node_days=int(_setting(t, "node_days", 7)), config=anomaly_config(desk.settings),
                                carrier_names=names)
        self._final = threading.Event()
        self._abandon = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracking-log", daemon=True)
        self.written = False
        self.message = ""
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Everything is stored: write the last round (the thread carries on with it)."""
        self._final.set()
        self._wake.set()

    def abandon(self) -> None:
        self._abandon.set()
        self._wake.set()
        self._thread.join()

    def join(self, res: RefreshResult) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error
        res.workbook_written = self.written
        if self.message:
            res.workbook_message = self.message

    def _run(self) -> None:
        from xl_addin.bootstrap import store_for

        try:
            with store_for(self.desk) as store:
                while not self._abandon.is_set():
                    final = self._final.is_set()
                    self._round(store, final)
                    if final or self.message:
                        return
                    self._wake.wait(LOG_ROUND_GAP)
                    self._wake.clear()
        except BaseException as exc:  # handed to the run's thread in join()
            self.error = exc

    def _round(self, store, final: bool) -> None:
        try:
            self.written = self.writer.write(store, overview=final).written
        except WorkbookError as exc:  # WorkbookLocked included: open in Excel
            self.written = False
            self.message = str(exc)
            self._abandon.set()


def open_exception_cases(store, now: datetime, tz) -> int:
    """Stage 4 starts here: every new anomaly becomes (or joins) an exception case at once, so `cases` shows it."""
    from xl_addin.services.cases import open_cases_from_anomalies

    return len(open_cases_from_anomalies(store, now, tz=tz))


def detect_for_waybills(desk, store, now: datetime, waybills: set[str]) -> tuple[int, int]:
    """Anomaly rules and case opening for waybills that just received pushed nodes; (anomalies open, cases opened)."""
    res = RefreshResult(as_of=now)
    _run_anomalies(desk, store, now, _tz(desk.settings), res, set(waybills))
    return res.anomalies, res.cases_opened


def _ingest_manual_quietly(desk, store, now, tz, names, res: RefreshResult) -> None:
    from xl_addin.services.tracking_log import ingest_manual

    try:
        r = ingest_manual(desk.workbook("tracking"), store, now, tz, backup_dir=desk.backup_dir)
    except WorkbookError as exc:
        res.workbook_message = str(exc)
        return
    res.manual_ingested = r.manual_ingested
    res.problems += [{"waybill_no": "", "code": "manual", "message": p, "hint": ""} for p in r.manual_problems]


# ---------------------------------------------------------------- customer notices

#: an event older than this when it reaches us is history, not news: no customer notice
STALE_NOTICE = timedelta(days=3)


def notify_queued(desk, store, now: datetime, *, notifier=None, send: bool = True) -> dict[str, Any]:
    """Offer the key-node notices of events stored since the last call, then send what is due.

    The queue is filled in the transaction that stored the events (refresh or push), and emptied
    only after the offers are recorded; offers are unique per (waybill, node, channel, recipient),
    so a crash anywhere in between repeats nothing and forgets nothing."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.adapters.store.subscriptions import NoticeQueue
    from xl_addin.services.notifications import build_notifier

    queue = NoticeQueue(store)
    waiting = queue.waiting()
    if notifier is None:
        notifier = build_notifier(desk, store)
    offered: list[str] = []
    if waiting:
        wanted = list(_setting(desk.settings.notifications, "channels", ["email", "sms", "webhook"]))
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

    row = store.conn.execute("SELECT order_no FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
    order_no = (row[0] if row else None) or ""
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


# ---------------------------------------------------------------- one waybill

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
    from xl_addin.services.tracking_log import ingest_manual

    with store_for(desk) as store:
        r = ingest_manual(desk.workbook("tracking"), store, now, _tz(desk.settings), backup_dir=desk.backup_dir)
    return r.as_dict()


def export_tracking(desk, day: date) -> dict[str, Any]:
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking_log import export_day

    with store_for(desk) as store:
        path, rows = export_day(store, day, _tz(desk.settings), desk.archive_dir / "tracking")
    return {"date": day.isoformat(), "path": str(path), "rows": rows}


# ---------------------------------------------------------------- demo

# Most parcels arrive as promised; every problem scenario still appears several times in a demo of 200+.
DEMO_SCENARIOS = ("normal",) * 9 + ("locker",) * 3 + ("delayed",) * 2 + (
    "stalled_after_pickup", "stalled_in_transit", "lost", "damaged", "rejected_returned", "no_record")


def demo_tracking(desk, now: datetime, say: Callable[[str], None] = lambda text: None, *,
                  days: int = 5, cycles_per_day: int = 3) -> dict[str, Any]:
    """Start the sandbox in-process, pin one journey of every scenario onto the desk's bound waybills,
    and run refresh cycles over simulated days (sandbox clock and ``now`` advance together)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.sandbox import serve_sandbox

    with store_for(desk) as store:
        register_bindings(store, now)
        from xl_addin.adapters.store.tracking import TrackingStore

        tracked = TrackingStore(store).all_status()
    with store_for(desk) as store:
        phones, _ = register_bindings(store, now)
    codes = provider_codes(desk)
    sandbox = serve_sandbox(start=now, speed=0.0, seed=7)
    summary: dict[str, Any] = {"cycles": [], "sandbox": sandbox.base_url}
    try:
        for i, s in enumerate(tracked):
            scenario = DEMO_SCENARIOS[i % len(DEMO_SCENARIOS)]
            bound = datetime.fromisoformat(s["bound_at"]) if s["bound_at"] else now
            spec = {"scenario": scenario, "shipped_at": (bound + timedelta(hours=2)).isoformat()}
            if phones.get(s["waybill_no"]):  # the carrier knows the receiver's phone (SF/ZTO check it)
                spec["phone"] = "1380000" + phones[s["waybill_no"]]
            sandbox.app.pin(s["waybill_no"], provider_code(codes, s["carrier_code"]) or "zhongtong", **spec)
        say(f"③ 物流跟踪: 本地快递100沙箱 {sandbox.base_url}，{len(tracked)} 个运单，模拟 {days} 天")
        from xl_addin.adapters.tracking.kuaidi100 import Kuaidi100Client

        def factory():
            return Kuaidi100Client(sandbox.base_url, sandbox.customer, sandbox.key, tz=_tz(desk.settings),
                                   timeout=(2, 5))

        step = timedelta(hours=24 / cycles_per_day)
        t = now
        for _ in range(days * cycles_per_day):
            t = t + step
            sandbox.app.clock.set(t, 0.0)
            r = refresh(desk, t, client_factory=factory)
            c = r.counts()
            summary["cycles"].append({"now": t.isoformat(), **c})
            say(f"     {t:%m-%d %H:%M} 查询 {c['queried']}，有更新 {c['updated']}，无变化 {c['unchanged']}，"
                f"无轨迹 {c['not_found']}，失败 {c['failed']}，频率规则跳过 {c['skipped_by_rule']}，异常 {c['anomalies']}")
        summary["sandbox_stats"] = {k: v for k, v in sandbox.app.stats.items() if k != "queried_numbers"}
        with store_for(desk) as store:
            from xl_addin.adapters.store.tracking import open_anomalies

            by_rule: dict[str, int] = {}
            for a in open_anomalies(store):
                by_rule[a["reason"].split("：")[0].split("（")[0]] = by_rule.get(a["reason"].split("：")[0].split("（")[0], 0) + 1
        summary["open_anomalies"] = by_rule
        for k, v in sorted(by_rule.items()):
            say(f"     异常 {k}: {v}")
        say(f"     频率规则违规（沙箱统计）: {sandbox.app.stats['violations']}")
    finally:
        sandbox.stop()
    return summary
