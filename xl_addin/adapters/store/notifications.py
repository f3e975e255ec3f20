"""The notification send log: intent rows written before sending, state moves after.

States: ``pending`` (waiting, possibly until ``not_before``) → ``sending`` (claimed by one
sender, committed before the network call) → ``sent`` | ``pending`` again (definitely not
sent, retry later) | ``failed`` (gave up) | ``unknown`` (may have arrived; never resent
automatically). A ``sending`` row older than the stale limit belongs to a sender that
crashed mid-send: it becomes ``unknown``, not ``pending`` — at most once, never twice.
Portable SQL: ``?`` parameters and ``ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

STATES = ("pending", "sending", "sent", "failed", "unknown")

_COLUMNS = ("id, notice_key, waybill_no, node, channel, recipient, via, state, urgent, subject, body, "
            "message_id, event_time, created_at, not_before, attempts, sending_since, finished_at, "
            "last_error, receipt")


@dataclass(frozen=True)
class NotificationRow:
    id: int
    key: str
    waybill_no: str
    node: str
    channel: str
    recipient: str
    via: str  # the channel that carries it, or "outbox"
    state: str
    urgent: bool
    subject: str
    body: str
    message_id: str
    event_time: str | None
    created_at: str
    not_before: str
    attempts: int
    sending_since: str | None
    finished_at: str | None
    last_error: str | None
    receipt: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _row(r: tuple) -> NotificationRow:
    return NotificationRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10], r[11],
                           r[12], r[13], r[14], int(r[15]), r[16], r[17], r[18], r[19])


class NotificationLog:
    def __init__(self, store: Store, actor: str = "系统"):
        self.store = store
        self.conn = store.conn
        self.actor = actor

    # -- intents -------------------------------------------------------------
    def add_intent(self, *, key: str, waybill_no: str, node: str, channel: str, recipient: str, via: str,
                   subject: str, body: str, message_id: str, event_time: datetime | None, urgent: bool,
                   now: datetime, not_before: datetime) -> bool:
        """Record one intended message; False when it is already known (duplicate event or rerun)."""
        with self.store.transaction():
            cur = self.conn.execute(
                "INSERT INTO notifications (notice_key, waybill_no, node, channel, recipient, via, state, urgent, "
                "subject, body, message_id, event_time, created_at, not_before) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key, waybill_no, node, channel, recipient, via, int(urgent), subject, body, message_id,
                 utc_iso(event_time) if event_time else None, utc_iso(now), utc_iso(not_before)))
            created = cur.rowcount == 1
            if created:
                self.store.audit(now, self.actor, "notification.intent", "notification", key,
                                 {"waybill_no": waybill_no, "node": node, "channel": channel, "via": via})
        return created

    # -- reading ---------------------------------------------------------------
    def get(self, key: str) -> NotificationRow | None:
        r = self.conn.execute(f"SELECT {_COLUMNS} FROM notifications WHERE notice_key = ?", (key,)).fetchone()
        return _row(r) if r else None

    def all(self, state: str | None = None, waybill_no: str | None = None) -> list[NotificationRow]:
        sql, args = f"SELECT {_COLUMNS} FROM notifications WHERE 1 = 1", []
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if waybill_no is not None:
            sql += " AND waybill_no = ?"
            args.append(waybill_no)
        return [_row(r) for r in self.conn.execute(sql + " ORDER BY id", args).fetchall()]

    def due(self, now: datetime, limit: int | None = None) -> list[NotificationRow]:
        sql = (f"SELECT {_COLUMNS} FROM notifications WHERE state = 'pending' AND not_before <= ? "
               "ORDER BY not_before, id")
        args: list[Any] = [utc_iso(now)]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_row(r) for r in self.conn.execute(sql, args).fetchall()]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, COUNT(*) FROM notifications GROUP BY state").fetchall()
        return {state: int(n) for state, n in rows}

    def next_release(self) -> datetime | None:
        """When the earliest waiting message becomes due (quiet hours, backoff)."""
        r = self.conn.execute("SELECT MIN(not_before) FROM notifications WHERE state = 'pending'").fetchone()
        return from_iso(r[0]) if r and r[0] else None

    # -- state moves -----------------------------------------------------------
    def claim(self, row_id: int, now: datetime) -> bool:
        """Take a due row for sending; committed before the network call. False: another sender has it."""
        with self.store.transaction():
            cur = self.conn.execute(
                "UPDATE notifications SET state = 'sending', sending_since = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state = 'pending' AND not_before <= ?",
                (utc_iso(now), row_id, utc_iso(now)))
            return cur.rowcount == 1

    def _finish(self, row: NotificationRow, state: str, now: datetime, *, error: str | None = None,
                receipt: str | None = None, not_before: datetime | None = None) -> None:
        with self.store.transaction():
            self.conn.execute(
                "UPDATE notifications SET state = ?, sending_since = NULL, finished_at = ?, last_error = ?, "
                "receipt = COALESCE(?, receipt), not_before = COALESCE(?, not_before) "
                "WHERE id = ? AND state = 'sending'",
                (state, utc_iso(now) if state != "pending" else None, error, receipt,
                 utc_iso(not_before) if not_before else None, row.id))
            self.store.audit(now, self.actor, f"notification.{state}", "notification", row.key,
                             {"via": row.via, "attempts": row.attempts + 1, **({"error": error} if error else {})})

    def mark_sent(self, row: NotificationRow, now: datetime, receipt: str) -> None:
        self._finish(row, "sent", now, receipt=receipt)

    def mark_retry(self, row: NotificationRow, now: datetime, next_at: datetime, error: str) -> None:
        self._finish(row, "pending", now, error=error, not_before=next_at)

    def mark_failed(self, row: NotificationRow, now: datetime, error: str) -> None:
        self._finish(row, "failed", now, error=error)

    def mark_unknown(self, row: NotificationRow, now: datetime, error: str) -> None:
        self._finish(row, "unknown", now, error=error)

    def resolve_stale(self, now: datetime, older_than: timedelta) -> list[NotificationRow]:
        """``sending`` rows whose sender died mid-send become ``unknown`` (never resent automatically)."""
        limit = utc_iso(now - older_than)
        with self.store.transaction():
            rows = [_row(r) for r in self.conn.execute(
                f"SELECT {_COLUMNS} FROM notifications WHERE state = 'sending' AND sending_since < ?",
                (limit,)).fetchall()]
            for row in rows:
                self.conn.execute(
                    "UPDATE notifications SET state = 'unknown', sending_since = NULL, finished_at = ?, "
                    "last_error = ? WHERE id = ? AND state = 'sending'",
                    (utc_iso(now), "发送中途程序中断，无法确定是否已送达", row.id))
                self.store.audit(now, self.actor, "notification.unknown", "notification", row.key,
                                 {"reason": "stale sending", "sending_since": row.sending_since})
        return rows

    def requeue(self, key: str, now: datetime, actor: str) -> bool:
        """A person checked a ``failed``/``unknown`` message was not received: send it again."""
        with self.store.transaction():
            cur = self.conn.execute(
                "UPDATE notifications SET state = 'pending', not_before = ?, last_error = NULL, finished_at = NULL "
                "WHERE notice_key = ? AND state IN ('failed', 'unknown')", (utc_iso(now), key))
            if cur.rowcount == 1:
                self.store.audit(now, actor, "notification.requeue", "notification", key, {})
            return cur.rowcount == 1
