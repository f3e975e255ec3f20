"""The raw figures of one week for the weekly summary: orders checked and confirmed, waybills bound and
delivered. Times go in and come out as aware datetimes; the summary does the arithmetic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

# statuses before a parcel moves: transit time counts from the first node after these
NOT_MOVING = ("NotFound", "InfoReceived", "Unknown")


class WeekFigures:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def deliveries(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Waybills delivered in [start, end): carrier, delivered time, expected date (text), first moving node."""
        rows = self.conn.execute(
            "SELECT s.waybill_no, s.carrier_code, s.final_at, s.expected_delivery, "
            "(SELECT MIN(e.time) FROM tracking_events e WHERE e.waybill_no = s.waybill_no "
            f"AND e.status NOT IN ({', '.join('?' * len(NOT_MOVING))})) "
            "FROM waybill_status s WHERE s.status = 'Delivered' AND s.final_at >= ? AND s.final_at < ?",
            (*NOT_MOVING, utc_iso(start), utc_iso(end))).fetchall()
        return [{"waybill_no": w, "carrier_code": carrier, "delivered_at": from_iso(final_at),
                 "expected": expected, "first_moved_at": from_iso(moved)}
                for w, carrier, final_at, expected, moved in rows]

    def orders_checked(self, start: datetime, end: datetime) -> int:
        return self._count("SELECT COUNT(*) FROM orders WHERE checked_at >= ? AND checked_at < ?", start, end)

    def orders_confirmed(self, start: datetime, end: datetime) -> int:
        return self._count("SELECT COUNT(*) FROM orders WHERE confirmed_at >= ? AND confirmed_at < ?", start, end)

    def bound_by_carrier(self, start: datetime, end: datetime) -> dict[str, int]:
        """Current bindings made in [start, end), per carrier code (the carrier's volume)."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT carrier_code, COUNT(*) FROM bindings WHERE is_current = 1 AND bound_at >= ? AND bound_at < ? "
            "GROUP BY carrier_code", (utc_iso(start), utc_iso(end)))}

    def carrier_names(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT carrier_code, MIN(carrier) FROM bindings GROUP BY carrier_code")}

    def _count(self, sql: str, start: datetime, end: datetime) -> int:
        return int(self.conn.execute(sql, (utc_iso(start), utc_iso(end))).fetchone()[0])
