"""Intake records in the state store: what each order's check found and who confirmed it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

# order status values (stored; the workbook shows the Chinese labels)
AWAITING = "awaiting_customer"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
ALLOCATED = "allocated"
IN_TRANSIT = "in_transit"
SIGNED = "signed"
COMPLETED = "completed"
# set by later stages; a check (or any save of an order read earlier) never moves an order back from them
LATER_STAGES = (ALLOCATED, IN_TRANSIT, SIGNED, COMPLETED)
_LATER_SQL = ", ".join(f"'{s}'" for s in LATER_STAGES)
_INTAKE_SQL = f"'{AWAITING}', '{CONFIRMED}'"
_MOVED_ON = f"orders.status IN ({_LATER_SQL}) AND excluded.status IN ({_INTAKE_SQL})"


@dataclass
class OrderRecord:
    order_no: str
    status: str
    check_status: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    checked_at: datetime | None = None
    confirm_deadline: datetime | None = None
    confirmation: str | None = None
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    confirm_channel: str | None = None
    source: str | None = None


_COLUMNS = ("order_no, status, check_status, problems, fields, fingerprint, checked_at, confirm_deadline, "
            "confirmation, confirmed_by, confirmed_at, confirm_channel, source")


def _record(row: tuple) -> OrderRecord:
    return OrderRecord(
        order_no=row[0], status=row[1], check_status=row[2], problems=json.loads(row[3]),
        fields=json.loads(row[4]), fingerprint=row[5], checked_at=from_iso(row[6]),
        confirm_deadline=from_iso(row[7]), confirmation=row[8], confirmed_by=row[9],
        confirmed_at=from_iso(row[10]), confirm_channel=row[11], source=row[12])


class OrderRecords:
    def __init__(self, store: Store):
        self.store = store

    def get(self, order_no: str) -> OrderRecord | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM orders WHERE order_no = ?", (order_no,)).fetchone()
        return _record(row) if row else None

    def all(self, status: str | None = None) -> list[OrderRecord]:
        sql = f"SELECT {_COLUMNS} FROM orders" + (" WHERE status = ?" if status else "") + " ORDER BY order_no"
        return [_record(r) for r in self.store.conn.execute(sql, (status,) if status else ())]

    def numbers(self) -> list[str]:
        """Every stored order number, whatever its state or source."""
        return [r[0] for r in self.store.conn.execute("SELECT order_no FROM orders")]

    def numbers_from_other_sources(self, source: str) -> set[str]:
        """Order numbers confirmed from another workbook: a repeat of one of them is a duplicate order."""
        rows = self.store.conn.execute(
            "SELECT order_no FROM orders WHERE (source IS NULL OR source <> ?) AND status <> ?", (source, CANCELLED))
        return {r[0] for r in rows}

    def save(self, records: Iterable[OrderRecord], now: datetime) -> int:
        """Insert or update records in one statement batch; call inside a transaction.

        A record saying awaiting/confirmed does not replace a later stage's status (allocated, in transit,
        signed, completed) that another job set after the record was read: the status never moves back.
        """
        stamp = utc_iso(now)
        rows = [(
            r.order_no, r.status, r.check_status, json.dumps(r.problems, ensure_ascii=False),
            json.dumps(r.fields, ensure_ascii=False, default=str), r.fingerprint,
            utc_iso(r.checked_at) if r.checked_at else None,
            utc_iso(r.confirm_deadline) if r.confirm_deadline else None,
            r.confirmation, r.confirmed_by, utc_iso(r.confirmed_at) if r.confirmed_at else None,
            r.confirm_channel, r.source, stamp) for r in records]
        self.store.conn.executemany(
            f"INSERT INTO orders ({_COLUMNS}, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            f"ON CONFLICT (order_no) DO UPDATE SET "
            f"status = CASE WHEN {_MOVED_ON} THEN orders.status ELSE excluded.status END, "
            "check_status = excluded.check_status, "
            "problems = excluded.problems, fields = excluded.fields, fingerprint = excluded.fingerprint, "
            "checked_at = excluded.checked_at, "
            f"confirm_deadline = CASE WHEN {_MOVED_ON} THEN orders.confirm_deadline ELSE excluded.confirm_deadline END, "
            "confirmation = excluded.confirmation, confirmed_by = excluded.confirmed_by, "
            "confirmed_at = excluded.confirmed_at, confirm_channel = excluded.confirm_channel, "
            "source = excluded.source, updated_at = excluded.updated_at", rows)
        return len(rows)

    def moved_on(self, order_nos: Iterable[str]) -> dict[str, str]:
        """{order_no: status} of these orders that a later stage has moved on (see ``LATER_STAGES``)."""
        numbers = sorted(set(order_nos))
        out: dict[str, str] = {}
        for i in range(0, len(numbers), 500):
            batch = numbers[i:i + 500]
            sql = (f"SELECT order_no, status FROM orders WHERE status IN ({_LATER_SQL}) "
                   f"AND order_no IN ({', '.join('?' * len(batch))})")
            out.update(dict(self.store.conn.execute(sql, batch)))
        return out

    def by_numbers(self, source: str, order_nos: Iterable[str]) -> dict[str, OrderRecord]:
        """The orders of ``source`` among these order numbers: a big sheet looks up one chunk at a time."""
        numbers = sorted(set(order_nos))
        out: dict[str, OrderRecord] = {}
        for i in range(0, len(numbers), 500):
            batch = numbers[i:i + 500]
            sql = (f"SELECT {_COLUMNS} FROM orders WHERE source = ? AND order_no IN ({', '.join('?' * len(batch))})")
            for r in self.store.conn.execute(sql, (source, *batch)):
                out[r[0]] = _record(r)
        return out
