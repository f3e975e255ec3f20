"""Push subscriptions and the pending-notice queue in the state store.

A subscription row records what the provider said (accepted, 501 duplicate, refused with its
code) and what its pushes said since (shutdown, abort). The refresh job reads it to leave
alone the waybills push is keeping current; ``xl-logistics subscribe`` shows it.
Portable SQL: ``?`` parameters and ``ON CONFLICT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

#: states in which the provider is (or should be) pushing this waybill
LIVE_STATES = ("accepted", "duplicate")
STATES = ("submitted", "accepted", "duplicate", "refused", "retry", "shutdown", "abort")
STATE_ZH = {"submitted": "已提交", "accepted": "已订阅", "duplicate": "已订阅（重复订阅）", "refused": "被拒绝",
            "retry": "待重试", "shutdown": "已结束（签收）", "abort": "已中止"}

_COLS = ("waybill_no, carrier_code, company, state, return_code, message, hint, callback_url, attempts, "
         "subscribed_at, accepted_at, next_try_at, last_push_at, last_push_status, pushes, resubscribes, "
         "escalated_at, updated_at")


@dataclass(frozen=True)
class SubscriptionRow:
    waybill_no: str
    carrier_code: str | None
    company: str
    state: str
    return_code: str | None
    message: str
    hint: str
    callback_url: str
    attempts: int
    subscribed_at: str | None
    accepted_at: str | None
    next_try_at: str | None
    last_push_at: str | None
    last_push_status: str | None
    pushes: int
    resubscribes: int
    escalated_at: str | None
    updated_at: str

    @property
    def state_zh(self) -> str:
        return STATE_ZH.get(self.state, self.state)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, state_zh=self.state_zh)


class SubscriptionStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- reading -------------------------------------------------------------------
    def get(self, waybill_no: str) -> SubscriptionRow | None:
        r = self.conn.execute(f"SELECT {_COLS} FROM push_subscriptions WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return SubscriptionRow(*r) if r else None

    def all(self, state: str | None = None) -> list[SubscriptionRow]:
        sql, args = f"SELECT {_COLS} FROM push_subscriptions", []
        if state:
            sql += " WHERE state = ?"
            args.append(state)
        return [SubscriptionRow(*r) for r in self.conn.execute(sql + " ORDER BY waybill_no", args).fetchall()]

    def counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in self.conn.execute(
            "SELECT state, COUNT(*) FROM push_subscriptions GROUP BY state").fetchall()}

    def to_subscribe(self, now: datetime) -> list[tuple[str, str | None, str | None]]:
        """(waybill, our carrier code, order) of tracked, unfinished waybills with no live subscription:
        never subscribed, or a retry whose time has come."""
        rows = self.conn.execute(
            "SELECT s.waybill_no, s.carrier_code, s.order_no FROM waybill_status s "
            "LEFT JOIN push_subscriptions p ON p.waybill_no = s.waybill_no "
            "WHERE s.is_final = 0 AND (p.waybill_no IS NULL OR p.state = 'submitted' OR "
            "(p.state = 'retry' AND (p.next_try_at IS NULL OR p.next_try_at <= ?))) ORDER BY s.waybill_no",
            (utc_iso(now),)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def kept_by_push(self, now: datetime, trust: timedelta) -> set[str]:
        """Waybills push is keeping current: a live subscription that heard from the provider (or was
        accepted) within ``trust``. The refresh job leaves these alone."""
        cutoff = utc_iso(now - trust)
        rows = self.conn.execute(
            "SELECT waybill_no FROM push_subscriptions WHERE state IN ('accepted', 'duplicate') AND "
            "(COALESCE(last_push_at, '') >= ? OR COALESCE(accepted_at, '') >= ?)", (cutoff, cutoff)).fetchall()
        return {r[0] for r in rows}

    # -- writing (inside a transaction) ----------------------------------------------
    def submitted(self, waybill_no: str, carrier_code: str | None, company: str, callback_url: str,
                  now: datetime) -> None:
        """Written before the request is sent: a crash leaves 'submitted', retried next run."""
        stamp = utc_iso(now)
        self.conn.execute(
            "INSERT INTO push_subscriptions (waybill_no, carrier_code, company, state, callback_url, attempts, "
            "subscribed_at, updated_at) VALUES (?, ?, ?, 'submitted', ?, 1, ?, ?) ON CONFLICT (waybill_no) DO UPDATE "
            "SET state = 'submitted', company = excluded.company, carrier_code = excluded.carrier_code, "
            "callback_url = excluded.callback_url, attempts = push_subscriptions.attempts + 1, "
            "subscribed_at = excluded.subscribed_at, updated_at = excluded.updated_at",
            (waybill_no, carrier_code, company, callback_url, stamp, stamp))

    def answered(self, waybill_no: str, state: str, return_code: str | None, message: str, hint: str,
                 now: datetime, next_try: datetime | None = None) -> None:
        stamp = utc_iso(now)
        self.conn.execute(
            "UPDATE push_subscriptions SET state = ?, return_code = ?, message = ?, hint = ?, next_try_at = ?, "
            "accepted_at = CASE WHEN ? IN ('accepted', 'duplicate') THEN ? ELSE accepted_at END, "
            "last_push_status = CASE WHEN ? IN ('accepted', 'duplicate') THEN NULL ELSE last_push_status END, "
            "updated_at = ? WHERE waybill_no = ?",
            (state, return_code, message or "", hint or "", utc_iso(next_try) if next_try else None,
             state, stamp, state, stamp, waybill_no))

    def pushed(self, waybill_no: str, status: str, message: str, now: datetime, *,
               company: str | None = None) -> None:
        """A verified push arrived: its time and status; shutdown/abort end the subscription."""
        stamp = utc_iso(now)
        new_state = status if status in ("shutdown", "abort") else None
        self.conn.execute(
            "UPDATE push_subscriptions SET last_push_at = ?, last_push_status = ?, pushes = pushes + 1, "
            "state = COALESCE(?, state), message = CASE WHEN ? IS NULL THEN message ELSE ? END, "
            "company = COALESCE(?, company), updated_at = ? WHERE waybill_no = ?",
            (stamp, status, new_state, new_state, message or "", company, stamp, waybill_no))

    def push_for_unsubscribed(self, waybill_no: str, company: str, status: str, now: datetime) -> None:
        """A signed push for a tracked waybill we have no row for (subscribed by an older install)."""
        stamp = utc_iso(now)
        self.conn.execute(
            "INSERT INTO push_subscriptions (waybill_no, company, state, accepted_at, updated_at) "
            "VALUES (?, ?, 'accepted', ?, ?) ON CONFLICT (waybill_no) DO NOTHING", (waybill_no, company, stamp, stamp))
        self.pushed(waybill_no, status, "", now)

    def schedule_resubscribe(self, waybill_no: str, when: datetime, now: datetime) -> None:
        self.conn.execute(
            "UPDATE push_subscriptions SET state = 'retry', next_try_at = ?, resubscribes = resubscribes + 1, "
            "updated_at = ? WHERE waybill_no = ?", (utc_iso(when), utc_iso(now), waybill_no))

    def escalate(self, waybill_no: str, now: datetime) -> None:
        self.conn.execute("UPDATE push_subscriptions SET escalated_at = COALESCE(escalated_at, ?), updated_at = ? "
                          "WHERE waybill_no = ?", (utc_iso(now), utc_iso(now), waybill_no))


# -- notices waiting to be offered -------------------------------------------------------
class NoticeQueue:
    """New events whose key-node notices are still to be offered (same transaction as the events)."""

    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def add(self, events: Iterable[Any], now: datetime) -> int:
        """Inside the transaction that stored the events."""
        rows = [(e.event_key, e.waybill_no, utc_iso(now)) for e in events]
        if rows:
            self.conn.executemany("INSERT INTO pending_notices (event_key, waybill_no, queued_at) VALUES (?, ?, ?) "
                                  "ON CONFLICT (event_key) DO NOTHING", rows)
        return len(rows)

    def waiting(self, limit: int = 5000) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT event_key, waybill_no FROM pending_notices ORDER BY queued_at, event_key LIMIT ?", (limit,))]

    def done(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self.store.transaction():
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                self.conn.execute(f"DELETE FROM pending_notices WHERE event_key IN ({', '.join('?' * len(part))})", part)

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM pending_notices").fetchone()[0])


def parse_time(text: str | None) -> datetime | None:
    return from_iso(text)
