"""Push subscriptions and the pending-notice queue in the state store.

A subscription row records what the provider said (accepted, 501 duplicate, refused with its
code) and what its pushes said since (shutdown, abort). The refresh job reads it to leave
alone the waybills push is keeping current; ``xl-logistics subscribe`` shows it.
Portable SQL: ``?`` parameters and ``ON CONFLICT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

#: states in which the provider is (or should be) pushing this waybill
LIVE_STATES = ("accepted", "duplicate")
STATES = ("submitted", "accepted", "duplicate", "refused", "retry", "shutdown", "abort", "limit")
STATE_ZH = {"submitted": "已提交", "accepted": "已订阅", "duplicate": "已订阅（重复订阅）", "refused": "被拒绝",
            "retry": "待重试", "shutdown": "已结束（签收）", "abort": "已中止",
            "limit": "本月订阅次数已满（改为定时查询）"}
#: Kuaidi100 takes at most this many subscriptions of one number per month; the next is answered 501
MONTHLY_LIMIT = 4
#: the first push comes 15 minutes to 4 hours after subscribing: a 501 "重复订阅" that is not followed by a
#: push within this window proves nothing, and polling takes the waybill back
FIRST_PUSH_WINDOW = timedelta(hours=4)
_CHINA = timezone(timedelta(hours=8))


def month_key(now: datetime) -> str:
    """The calendar month (China time) a subscription counts against."""
    return now.astimezone(_CHINA).strftime("%Y-%m")


def next_month_start(now: datetime) -> datetime:
    local = now.astimezone(_CHINA)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=_CHINA)

_COLS = ("waybill_no, carrier_code, company, state, return_code, message, hint, callback_url, attempts, "
         "subscribed_at, accepted_at, next_try_at, last_push_at, last_push_status, pushes, resubscribes, "
         "escalated_at, updated_at, month_key, month_count")


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
    month_key: str | None = None
    month_count: int = 0

    def subscriptions_this_month(self, now: datetime) -> int:
        return int(self.month_count or 0) if self.month_key == month_key(now) else 0

    @property
    def ended(self) -> bool:
        """Kuaidi100 said it stopped (shutdown, abort) and no subscription was accepted since."""
        return self.state in ("shutdown", "abort", "limit") or self.last_push_status in ("shutdown", "abort")

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
            "WHERE s.is_final = 0 AND s.replaced_by IS NULL AND (p.waybill_no IS NULL OR p.state = 'submitted' OR "
            "(p.state IN ('retry', 'limit') AND (p.next_try_at IS NULL OR p.next_try_at <= ?))) ORDER BY s.waybill_no",
            (utc_iso(now),)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def kept_by_push(self, now: datetime, trust: timedelta) -> set[str]:
        """Waybills push is keeping current: a live subscription that heard from the provider (or was
        accepted) within ``trust``. The refresh job leaves these alone.

        A subscription that has not been pushed yet is trusted only for the first-push window (4 h):
        501 "重复订阅" is also the answer to the fifth subscription of a month, after which nothing comes."""
        cutoff = utc_iso(now - trust)
        first = utc_iso(now - min(trust, FIRST_PUSH_WINDOW))
        rows = self.conn.execute(
            "SELECT waybill_no FROM push_subscriptions WHERE state IN ('accepted', 'duplicate') AND "
            "((last_push_at IS NOT NULL AND last_push_at >= COALESCE(accepted_at, '') AND last_push_at >= ?) OR "
            "COALESCE(accepted_at, '') >= ?)", (cutoff, first)).fetchall()
        return {r[0] for r in rows}

    # -- writing (inside a transaction) ----------------------------------------------
    def submitted(self, waybill_no: str, carrier_code: str | None, company: str, callback_url: str,
                  now: datetime) -> None:
        """Written before the request is sent: a crash leaves 'submitted', retried next run. Counts the
        subscription against this month's four (Kuaidi100 counts per carrier code and number)."""
        stamp, month = utc_iso(now), month_key(now)
        self.conn.execute(
            "INSERT INTO push_subscriptions (waybill_no, carrier_code, company, state, callback_url, attempts, "
            "subscribed_at, updated_at, month_key, month_count) VALUES (?, ?, ?, 'submitted', ?, 1, ?, ?, ?, 1) "
            "ON CONFLICT (waybill_no) DO UPDATE "
            "SET state = 'submitted', company = excluded.company, carrier_code = excluded.carrier_code, "
            "callback_url = excluded.callback_url, attempts = push_subscriptions.attempts + 1, "
            "subscribed_at = excluded.subscribed_at, updated_at = excluded.updated_at, "
            "month_count = CASE WHEN push_subscriptions.month_key = excluded.month_key "
            "AND push_subscriptions.company = excluded.company "
            "THEN push_subscriptions.month_count + 1 ELSE 1 END, month_key = excluded.month_key",
            (waybill_no, carrier_code, company, callback_url, stamp, stamp, month))

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
        self.conn.execute(PUSHED_SQL, pushed_row(waybill_no, status, message, utc_iso(now), company))

    def push_for_unsubscribed(self, waybill_no: str, company: str, status: str, now: datetime) -> None:
        """A signed push for a tracked waybill we have no row for (subscribed by an older install)."""
        stamp = utc_iso(now)
        self.conn.execute(UNSUBSCRIBED_SQL, (waybill_no, company, stamp, stamp))
        self.pushed(waybill_no, status, "", now)

    def taken_over(self, waybill_no: str, company: str, now: datetime) -> None:
        """An abort naming ``comNew``: Kuaidi100 subscribed the number again under the right carrier itself,
        so the subscription stays live (under ``company``) and we must not subscribe again."""
        stamp = utc_iso(now)
        self.conn.execute(
            "UPDATE push_subscriptions SET state = 'accepted', company = ?, accepted_at = ?, next_try_at = NULL, "
            "last_push_status = 'polling', updated_at = ? WHERE waybill_no = ?", (company, stamp, stamp, waybill_no))

    def limit_reached(self, waybill_no: str, return_code: str | None, message: str, now: datetime) -> None:
        """The month's subscriptions are spent: not live, polled instead, subscribed again next month."""
        self.answered(waybill_no, "limit", return_code, message,
                      "本月该单号已订阅4次（快递100 每单每月最多4次），改为定时查询，下月自动重新订阅。",
                      now, next_month_start(now))

    def schedule_resubscribe(self, waybill_no: str, when: datetime, now: datetime) -> None:
        self.conn.execute(
            "UPDATE push_subscriptions SET state = 'retry', next_try_at = ?, resubscribes = resubscribes + 1, "
            "updated_at = ? WHERE waybill_no = ?", (utc_iso(when), utc_iso(now), waybill_no))

    def escalate(self, waybill_no: str, now: datetime) -> None:
        self.conn.execute("UPDATE push_subscriptions SET escalated_at = COALESCE(escalated_at, ?), updated_at = ? "
                          "WHERE waybill_no = ?", (utc_iso(now), utc_iso(now), waybill_no))


def pushed_row(waybill_no: str, status: str, message: str | None, stamp: str, company: str | None) -> tuple:
    """The parameters of ``PUSHED_SQL`` (``SubscriptionStore.pushed``)."""
    new_state = status if status in ("shutdown", "abort") else None
    return (stamp, status, new_state, new_state, message or "", company, stamp, waybill_no)


PUSHED_SQL = ("UPDATE push_subscriptions SET last_push_at = ?, last_push_status = ?, pushes = pushes + 1, "
              "state = COALESCE(?, state), message = CASE WHEN ? IS NULL THEN message ELSE ? END, "
              "company = COALESCE(?, company), updated_at = ? WHERE waybill_no = ?")
UNSUBSCRIBED_SQL = ("INSERT INTO push_subscriptions (waybill_no, company, state, accepted_at, updated_at) "
                    "VALUES (?, ?, 'accepted', ?, ?) ON CONFLICT (waybill_no) DO NOTHING")
RECEIPT_SQL = ("INSERT INTO push_receipts (digest, waybill_no, status, received_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (digest) DO UPDATE SET received_at = excluded.received_at, status = excluded.status")
NOTICE_SQL = ("INSERT INTO pending_notices (event_key, waybill_no, queued_at) VALUES (?, ?, ?) "
              "ON CONFLICT (event_key) DO NOTHING")


# -- pushes already taken in ------------------------------------------------------------
class PushReceipts:
    """The SHA-256 of every push body taken in: a copy Kuaidi100 re-sends (our answer was lost or late) is
    recognised and changes nothing again. Written in the transaction that stored the push."""

    def __init__(self, store: Store):
        self.conn = store.conn

    def seen(self, digest: str, since: datetime) -> bool:
        """This body was taken in at or after ``since`` (the provider's re-send window)."""
        return self.conn.execute("SELECT 1 FROM push_receipts WHERE digest = ? AND received_at >= ?",
                                 (digest, utc_iso(since))).fetchone() is not None

    def add(self, digest: str, waybill_no: str, status: str | None, now: datetime, since: datetime, *,
            checked: bool = False) -> bool:
        """Record the body; False when it was already taken in at or after ``since`` (inside a transaction).
        The same body outside the window (e.g. the abort of a later subscription) counts as new.
        ``checked``: the caller asked ``seen`` inside this same write transaction (the push writer)."""
        if not checked and self.seen(digest, since):
            return False
        self.conn.execute(RECEIPT_SQL, (digest, waybill_no, status, utc_iso(now)))
        return True


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
            self.conn.executemany(NOTICE_SQL, rows)
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
