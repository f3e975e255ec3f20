"""Tracking in the state store: nodes, the latest-status cache, the check schedule, anomalies, run progress.

Ingestion is idempotent: a node is identified by its ``event_key`` and inserted with
``ON CONFLICT DO NOTHING``, so the same query or push twice adds nothing, and a node a person
entered by hand is never overwritten by the automatic sync. Every query attempt is written
*before* it is sent (``reserve_attempts``), so even a crash cannot make us ask the provider
about one number twice within 30 minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso
from xl_addin.domain.tracking.anomalies import AnomalyHit
from xl_addin.domain.tracking.events import TrackingEvent
from xl_addin.domain.tracking.status import MainStatus, SubStatus, display_zh, is_final

MIN_GAP = timedelta(minutes=30)       # the provider's rule: one query per number per 30 minutes
MAX_PER_DAY = 48                      # … and at most 48 in 24 hours

_EVENT_COLS = ("event_key, waybill_no, carrier_code, time, context, status, sub_status, status_zh, raw_code, "
               "raw_status_name, source, outlet, courier, area, area_code, node_name, evidence, entered_by, ingested_at")
_STATUS_COLS = ("waybill_no, order_no, carrier_code, status, sub_status, status_zh, raw_code, last_time, "
                "last_context, outlet, courier, expected_delivery, bound_at, is_final, final_at, last_checked_at, "
                "next_check_at, recent_checks, last_outcome, last_message, unknown_codes, updated_at, replaced_by, forwarded_from")


@dataclass
class DueWaybill:
    waybill_no: str
    carrier_code: str
    order_no: str | None
    recent: list[str] = field(default_factory=list)  # query times of the last 24 h (frequency rules)


def _event_row(e: TrackingEvent, now: datetime) -> tuple:
    return event_row(e, utc_iso(now))


def event_row(e: TrackingEvent, now_iso: str) -> tuple:
    """A node's ``tracking_events`` row, stored at ``now_iso``."""
    extra = e.extra or {}
    return (e.event_key, e.waybill_no, e.carrier_code, utc_iso(e.time), e.context, e.status.value,
            e.sub_status.value, display_zh(e.status, e.sub_status), e.raw_code, e.raw_status_name, e.source,
            e.outlet, e.courier, e.area_name, e.area_code, extra.get("node_name"), extra.get("evidence"),
            extra.get("entered_by"), now_iso)


def latest_and_newest(events: list) -> tuple[Any, Any]:
    """(the newest node with a known status — else the newest node —, the newest node), from nodes in stored
    order (time, id): on equal times the first one wins."""
    known = [e for e in events if e.status is not MainStatus.UNKNOWN] or list(events)
    return max(known, key=lambda e: e.time), max(events, key=lambda e: e.time)


def status_update(waybill_no: str, latest: Any, newest: Any, now_iso: str) -> tuple:
    """The parameters of ``REFRESH_STATUS_SQL`` for these two nodes (see ``latest_and_newest``)."""
    final = is_final(latest.status, latest.sub_status)
    return (latest.status.value, latest.sub_status.value, display_zh(latest.status, latest.sub_status),
            latest.raw_code, utc_iso(newest.time), newest.context, newest.outlet or latest.outlet,
            newest.courier or latest.courier, int(final), utc_iso(latest.time) if final else None, now_iso,
            latest.carrier_code, waybill_no)


def register_row(r: dict[str, Any], stamp: str) -> tuple:
    return (r["waybill_no"], r.get("order_no"), r.get("carrier_code"),
            r["expected_delivery"].isoformat() if isinstance(r.get("expected_delivery"), date) else r.get("expected_delivery"),
            utc_iso(r["bound_at"]) if isinstance(r.get("bound_at"), datetime) else r.get("bound_at"), stamp)


REGISTER_SQL = ("INSERT INTO waybill_status (waybill_no, order_no, carrier_code, expected_delivery, bound_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (waybill_no) DO UPDATE SET order_no = excluded.order_no, "
                "carrier_code = excluded.carrier_code, expected_delivery = excluded.expected_delivery, "
                "bound_at = excluded.bound_at")
INSERT_EVENT_SQL = (f"INSERT INTO tracking_events ({_EVENT_COLS}) VALUES ({', '.join('?' * 19)}) "
                    "ON CONFLICT (event_key) DO NOTHING")
REFRESH_STATUS_SQL = (
    "UPDATE waybill_status SET status = ?, sub_status = ?, status_zh = ?, raw_code = ?, last_time = ?, "
    "last_context = ?, outlet = ?, courier = ?, is_final = ?, final_at = ?, updated_at = ?, "
    "carrier_code = COALESCE(carrier_code, ?) WHERE waybill_no = ?")


def _enum(cls, v, default):
    try:
        return cls(v)
    except ValueError:
        return default


def _event(r: tuple) -> TrackingEvent:
    enum = _enum
    return TrackingEvent(
        waybill_no=r[1], carrier_code=r[2] or "", time=from_iso(r[3]), context=r[4],
        status=enum(MainStatus, r[5], MainStatus.UNKNOWN), sub_status=enum(SubStatus, r[6], SubStatus.UNKNOWN),
        raw_code=r[8], raw_status_name=r[9], source=r[10], outlet=r[11], courier=r[12], area_name=r[13],
        area_code=r[14], extra={k: v for k, v in (("node_name", r[15]), ("evidence", r[16]), ("entered_by", r[17]),
                                                 ("ingested_at", r[18])) if v})


class TrackingStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- which waybills are tracked ------------------------------------------------------------
    def register(self, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Upsert tracked waybills from current bindings (order, carrier, expected date); keeps status.
        Call inside a transaction."""
        stamp = utc_iso(now)
        data = [register_row(r, stamp) for r in rows]
        self.conn.executemany(REGISTER_SQL, data)
        return len(data)

    def due(self, now: datetime, interval: timedelta) -> tuple[list[DueWaybill], list[str]]:
        """(waybills to query now, waybills due by interval but refused by the provider's frequency rules).
        Final waybills and those checked within ``interval`` are never returned."""
        cutoff = utc_iso(now - max(interval, MIN_GAP))
        rows = self.conn.execute(
            "SELECT waybill_no, carrier_code, order_no, recent_checks FROM waybill_status WHERE is_final = 0 "
            "AND replaced_by IS NULL AND (last_checked_at IS NULL OR last_checked_at <= ?) ORDER BY COALESCE(last_checked_at, ''), waybill_no",
            (cutoff,)).fetchall()
        due, refused = [], []
        for w, com, order, recent in rows:
            times = json.loads(recent or "[]")
            if self.allowed(times, now):
                due.append(DueWaybill(w, com or "", order, times))
            else:
                refused.append(w)
        return due, refused

    @staticmethod
    def allowed(recent: list[str], now: datetime) -> bool:
        times = [from_iso(t) for t in recent]
        if any(abs(now - t) < MIN_GAP for t in times):
            return False
        return sum(1 for t in times if timedelta(0) <= now - t < timedelta(hours=24)) < MAX_PER_DAY

    def reserve_attempts(self, waybills: list[str], now: datetime, run_id: int | None) -> None:
        """Record a query attempt before it is sent (the frequency rules must hold across crashes)."""
        stamp = utc_iso(now)
        with self.store.transaction():
            for w in waybills:
                row = self.conn.execute("SELECT recent_checks FROM waybill_status WHERE waybill_no = ?", (w,)).fetchone()
                recent = [t for t in json.loads(row[0] if row else "[]") if now - from_iso(t) < timedelta(hours=24)]
                recent.append(stamp)
                self.conn.execute("UPDATE waybill_status SET recent_checks = ? WHERE waybill_no = ?",
                                  (json.dumps(recent), w))
            if run_id is not None:
                self.conn.executemany(
                    "INSERT INTO tracking_run_items (run_id, waybill_no) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(run_id, w) for w in waybills])

    def tracked_final(self, waybill_no: str) -> bool | None:
        """None when the waybill is not tracked, else whether its status is final (one small read)."""
        row = self.conn.execute("SELECT is_final FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return None if row is None else bool(row[0])

    def is_final(self, waybill_no: str) -> bool:
        row = self.conn.execute("SELECT is_final FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return bool(row and row[0])

    def replace(self, old: str, new: str, now: datetime) -> bool:
        """``old`` is no longer tracked: ``new`` took over (a re-bind, a 转投). False when already so.
        Inside a transaction."""
        cur = self.conn.execute("UPDATE waybill_status SET replaced_by = ?, updated_at = ? WHERE waybill_no = ? AND "
                                "(replaced_by IS NULL OR replaced_by <> ?)", (new, utc_iso(now), old, new))
        return bool(cur.rowcount)

    def track_forwarded(self, new: str, old: str, order_no: str | None, carrier_code: str | None,
                        now: datetime) -> bool:
        """Start tracking the number a 转投 handed the parcel to, linked to the old one. Inside a transaction."""
        stamp = utc_iso(now)
        cur = self.conn.execute(
            "INSERT INTO waybill_status (waybill_no, order_no, carrier_code, bound_at, forwarded_from, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (waybill_no) DO NOTHING",
            (new, order_no, carrier_code, stamp, old, stamp))
        return bool(cur.rowcount)

    def add_attempts(self, waybill_no: str, now: datetime, count: int) -> None:
        """Queries re-sent within one attempt (after a timeout, a 5xx, a 501/502): each is another query
        of the number for the provider's frequency rules. Inside a transaction."""
        if count <= 0:
            return
        row = self.conn.execute("SELECT recent_checks FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
        recent = [t for t in json.loads(row[0] if row else "[]") if now - from_iso(t) < timedelta(hours=24)]
        recent += [utc_iso(now)] * count
        self.conn.execute("UPDATE waybill_status SET recent_checks = ? WHERE waybill_no = ?",
                          (json.dumps(recent), waybill_no))

    # -- events ----------------------------------------------------------------------------------
    def add_events(self, events: Iterable[TrackingEvent], now: datetime) -> list[TrackingEvent]:
        """Insert nodes not seen before; returns the new ones. Call inside a transaction."""
        events = list(events)
        if not events:
            return []
        keys = list(dict.fromkeys(e.event_key for e in events))
        seen: set[str] = set()
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            seen.update(r[0] for r in self.conn.execute(
                f"SELECT event_key FROM tracking_events WHERE event_key IN ({', '.join('?' * len(part))})", part))
        new, fresh = [], set()
        for e in events:
            k = e.event_key
            if k not in seen and k not in fresh:
                fresh.add(k)
                new.append(e)
        if new:
            self.conn.executemany(INSERT_EVENT_SQL, [_event_row(e, now) for e in new])
        return new

    def count_events(self, *, source: str) -> int:
        """How many stored events came in by ``source`` (``push``, ``poll``, …)."""
        return self.conn.execute("SELECT COUNT(*) FROM tracking_events WHERE source = ?", (source,)).fetchone()[0]

    def events_for(self, waybill_no: str) -> list[TrackingEvent]:
        rows = self.conn.execute(f"SELECT {_EVENT_COLS} FROM tracking_events WHERE waybill_no = ? ORDER BY time, id",
                                 (waybill_no,)).fetchall()
        return [_event(r) for r in rows]

    def events_by_key(self, keys: list[str]) -> dict[str, TrackingEvent]:
        """These nodes themselves (not every node of their waybills): {event_key: event}."""
        out: dict[str, TrackingEvent] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            for r in self.conn.execute(f"SELECT {_EVENT_COLS} FROM tracking_events WHERE event_key IN "
                                       f"({', '.join('?' * len(part))})", part):
                out[r[0]] = _event(r)
        return out

    def events_by_id(self, ids: list[int]) -> list[TrackingEvent]:
        """These nodes by row id, ordered by time, waybill, id (as the Tracking Log lists them)."""
        found: list[tuple] = []
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            found += self.conn.execute(f"SELECT id, {_EVENT_COLS} FROM tracking_events WHERE id IN "
                                       f"({', '.join('?' * len(part))})", part).fetchall()
        found.sort(key=lambda r: (r[4], r[2], r[0]))
        return [_event(r[1:]) for r in found]

    def events_of(self, waybills: Iterable[str]) -> dict[str, list[TrackingEvent]]:
        wanted = list(dict.fromkeys(waybills))
        out: dict[str, list[TrackingEvent]] = {w: [] for w in wanted}
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            rows = self.conn.execute(
                f"SELECT {_EVENT_COLS} FROM tracking_events WHERE waybill_no IN ({', '.join('?' * len(part))}) "
                "ORDER BY waybill_no, time, id", part).fetchall()
            for r in rows:
                out[r[1]].append(_event(r))
        return out

    def events_between(self, start: datetime, end: datetime) -> list[TrackingEvent]:
        rows = self.conn.execute(f"SELECT {_EVENT_COLS} FROM tracking_events WHERE time >= ? AND time < ? "
                                 "ORDER BY time, waybill_no, id", (utc_iso(start), utc_iso(end))).fetchall()
        return [_event(r) for r in rows]

    # -- latest status -----------------------------------------------------------------------------
    def refresh_status(self, waybill_no: str, events: list[TrackingEvent], now: datetime) -> None:
        """Set the cache from the newest node with a known status (else the newest node). Inside a transaction."""
        if not events:
            return
        latest, newest = latest_and_newest(events)
        self.conn.execute(REFRESH_STATUS_SQL, status_update(waybill_no, latest, newest, utc_iso(now)))

    def record_check(self, waybill_no: str, now: datetime, outcome: str, message: str | None,
                     next_check: datetime | None, *, checked: bool = True, unknown_codes: list[str] | None = None,
                     mark_not_found: bool = False) -> None:
        """After a query: when it was checked (only for answers, so a failed try stays due), the next check,
        and the outcome. Inside a transaction."""
        sets = ["last_outcome = ?", "last_message = ?", "next_check_at = ?", "updated_at = ?"]
        args: list[Any] = [outcome, message, utc_iso(next_check) if next_check else None, utc_iso(now)]
        if checked:
            sets.append("last_checked_at = ?")
            args.append(utc_iso(now))
        if unknown_codes:
            sets.append("unknown_codes = ?")
            args.append(",".join(unknown_codes))
        if mark_not_found:
            sets.append("status = COALESCE(status, ?), sub_status = COALESCE(sub_status, ?), "
                        "status_zh = COALESCE(status_zh, ?)")
            args += [MainStatus.NOT_FOUND.value, SubStatus.NOT_FOUND_OTHER.value, SubStatus.NOT_FOUND_OTHER.zh]
        self.conn.execute(f"UPDATE waybill_status SET {', '.join(sets)} WHERE waybill_no = ?", (*args, waybill_no))

    def status(self, waybill_no: str) -> dict[str, Any] | None:
        r = self.conn.execute(f"SELECT {_STATUS_COLS} FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return self._status_dict(r) if r else None

    def all_status(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {_STATUS_COLS} FROM waybill_status ORDER BY bound_at, waybill_no").fetchall()
        return [self._status_dict(r) for r in rows]

    def active_waybills(self) -> list[str]:
        """Not final, or holding an open anomaly: what the rules look at on every run."""
        rows = self.conn.execute(
            "SELECT waybill_no FROM waybill_status WHERE is_final = 0 AND replaced_by IS NULL UNION "
            "SELECT waybill_no FROM tracking_anomalies WHERE resolved_at IS NULL").fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _status_dict(r: tuple) -> dict[str, Any]:
        keys = [k.strip() for k in _STATUS_COLS.split(",")]
        d = dict(zip(keys, r))
        d["is_final"] = bool(d["is_final"])
        d["recent_checks"] = json.loads(d["recent_checks"] or "[]")
        return d

    # -- anomalies ---------------------------------------------------------------------------------
    def sync_anomalies(self, waybill_no: str, hits: list[AnomalyHit], now: datetime) -> tuple[int, int]:
        """Open new anomaly records, refresh the open ones, resolve those no longer hit.
        Returns (opened, resolved). Inside a transaction."""
        stamp = utc_iso(now)
        open_rows = {r[0]: r[1] for r in self.conn.execute(
            "SELECT rule, id FROM tracking_anomalies WHERE waybill_no = ? AND resolved_at IS NULL", (waybill_no,))}
        opened = resolved = 0
        for h in hits:
            if h.rule in open_rows:
                self.conn.execute("UPDATE tracking_anomalies SET last_seen_at = ?, reason = ?, evidence_key = ?, "
                                  "evidence_text = ?, evidence_time = ? WHERE id = ?",
                                  (stamp, h.reason_zh, h.evidence_key, h.evidence_text,
                                   utc_iso(h.evidence_time) if h.evidence_time else None, open_rows.pop(h.rule)))
            else:
                self.conn.execute(
                    "INSERT INTO tracking_anomalies (waybill_no, rule, reason, since, evidence_key, evidence_text, "
                    "evidence_time, detected_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (waybill_no, h.rule, h.reason_zh, utc_iso(h.since), h.evidence_key, h.evidence_text,
                     utc_iso(h.evidence_time) if h.evidence_time else None, stamp, stamp))
                self.store.audit(now, "系统", "anomaly_opened", "waybill", waybill_no,
                                 {"rule": h.rule, "reason": h.reason_zh, "since": h.since.isoformat()})
                opened += 1
        for rule, anomaly_id in open_rows.items():
            self.conn.execute("UPDATE tracking_anomalies SET resolved_at = ? WHERE id = ?", (stamp, anomaly_id))
            self.store.audit(now, "系统", "anomaly_resolved", "waybill", waybill_no, {"rule": rule})
            resolved += 1
        return opened, resolved

    def anomalies(self, *, open_only: bool = True, waybill_no: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT a.id, a.waybill_no, s.order_no, s.carrier_code, a.rule, a.reason, a.since, a.evidence_key, "
               "a.evidence_text, a.evidence_time, a.detected_at, a.last_seen_at, a.resolved_at "
               "FROM tracking_anomalies a LEFT JOIN waybill_status s ON s.waybill_no = a.waybill_no WHERE 1 = 1")
        args: list[Any] = []
        if open_only:
            sql += " AND a.resolved_at IS NULL"
        if waybill_no:
            sql += " AND a.waybill_no = ?"
            args.append(waybill_no)
        keys = ("id", "waybill_no", "order_no", "carrier_code", "rule", "reason", "since", "evidence_key",
                "evidence_text", "evidence_time", "detected_at", "last_seen_at", "resolved_at")
        return [dict(zip(keys, r)) for r in self.conn.execute(sql + " ORDER BY a.detected_at, a.id", args)]

    # -- runs (resume after a stop) ----------------------------------------------------------------
    def interrupted_runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT r.id, r.started_at, r.planned, (SELECT COUNT(*) FROM tracking_run_items i "
            "WHERE i.run_id = r.id AND i.done_at IS NOT NULL) FROM tracking_runs r WHERE r.state = 'running'").fetchall()
        return [dict(id=r[0], started_at=r[1], planned=r[2], done=r[3]) for r in rows]

    def start_run(self, now: datetime, as_of: datetime, planned: int) -> int:
        with self.store.transaction():
            self.conn.execute("UPDATE tracking_runs SET state = 'interrupted' WHERE state = 'running'")
            cur = self.conn.execute("INSERT INTO tracking_runs (started_at, as_of, state, planned) VALUES (?, ?, 'running', ?)",
                                    (utc_iso(now), utc_iso(as_of), planned))
            return int(cur.lastrowid)

    def item_done(self, run_id: int, waybill_no: str, outcome: str, now: datetime) -> None:
        """Inside a transaction."""
        self.conn.execute("UPDATE tracking_run_items SET outcome = ?, done_at = ? WHERE run_id = ? AND waybill_no = ?",
                          (outcome, utc_iso(now), run_id, waybill_no))

    def finish_run(self, run_id: int, now: datetime, state: str, summary: dict) -> None:
        with self.store.transaction():
            self.conn.execute("UPDATE tracking_runs SET finished_at = ?, state = ?, summary = ? WHERE id = ?",
                              (utc_iso(now), state, json.dumps(summary, ensure_ascii=False, default=str), run_id))

    # ------------------------------------------------------------ reads of the refresh and the notices

    def order_of(self, waybill_no: str) -> str | None:
        row = self.conn.execute("SELECT order_no FROM waybill_status WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return row[0] if row else None

    def open_count(self) -> int:
        """How many tracked waybills are not final yet."""
        return int(self.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE is_final = 0").fetchone()[0])

    def status_rows(self, waybills: list[str]) -> dict[str, tuple]:
        """{waybill: (bound_at, expected_delivery, is_final, replaced_by)} read set-wise."""
        out: dict[str, tuple] = {}
        for i in range(0, len(waybills), 500):
            part = waybills[i:i + 500]
            for w, bound, expected, final, replaced in self.conn.execute(
                    "SELECT waybill_no, bound_at, expected_delivery, is_final, replaced_by FROM waybill_status "
                    f"WHERE waybill_no IN ({', '.join('?' * len(part))})", part):
                out[w] = (bound, expected, final, replaced)
        return out

    def open_and_checked_since(self, rule: str, since: datetime) -> set[str]:
        """Numbers with an open anomaly of ``rule`` that were asked about after ``since``."""
        rows = self.conn.execute(
            "SELECT a.waybill_no FROM tracking_anomalies a JOIN waybill_status s ON s.waybill_no = a.waybill_no "
            "WHERE a.rule = ? AND a.resolved_at IS NULL AND s.last_checked_at IS NOT NULL AND s.last_checked_at > ?",
            (rule, utc_iso(since))).fetchall()
        return {r[0] for r in rows}

    def carrier_checks_to_show(self, rule: str) -> bool:
        """Whether the Binding Table's carrier-check columns have anything to show: a carrier correction, or
        an open anomaly of ``rule`` (请核对物流商或单号)."""
        return bool(self.conn.execute("SELECT 1 FROM carrier_corrections LIMIT 1").fetchone() or self.conn.execute(
            "SELECT 1 FROM tracking_anomalies WHERE rule = ? AND resolved_at IS NULL LIMIT 1", (rule,)).fetchone())


def open_anomalies(store: Store) -> list[dict[str, Any]]:
    """Open anomaly records (waybill, order, carrier, rule, reason, since, evidence) for the exception ledger."""
    return TrackingStore(store).anomalies(open_only=True)
