"""What the desk knows of a shipment by its numbers, across bindings, the waybill registry and the
tracking status: the lookups an exception case needs before it is opened."""

from __future__ import annotations

from xl_addin.adapters.store.store import Store


class ShipmentLookup:
    def __init__(self, store: Store):
        self.conn = store.conn

    def tracked_waybill(self, waybill_no: str) -> tuple[str | None, str | None] | None:
        """(order_no, carrier_code) of a tracked waybill, None when it is not tracked."""
        row = self.conn.execute("SELECT order_no, carrier_code FROM waybill_status WHERE waybill_no = ?",
                                (waybill_no,)).fetchone()
        return (row[0], row[1]) if row else None

    def latest_tracked_for_order(self, order_no: str) -> tuple[str, str | None] | None:
        """(waybill_no, carrier_code) of the order's most recently updated tracked waybill."""
        row = self.conn.execute("SELECT waybill_no, carrier_code FROM waybill_status WHERE order_no = ? "
                                "ORDER BY updated_at DESC", (order_no,)).fetchone()
        return (row[0], row[1]) if row else None

    def knows_waybill(self, waybill_no: str) -> bool:
        return any(self._found(sql, waybill_no) for sql in (
            "SELECT 1 FROM bindings WHERE waybill_no = ?", "SELECT 1 FROM waybill_registry WHERE waybill_no = ?",
            "SELECT 1 FROM waybill_status WHERE waybill_no = ?"))

    def knows_order(self, order_no: str) -> bool:
        return any(self._found(sql, order_no) for sql in (
            "SELECT 1 FROM orders WHERE order_no = ?", "SELECT 1 FROM bindings WHERE order_no = ?",
            "SELECT 1 FROM waybill_status WHERE order_no = ?"))

    def sub_status_of_anomalous(self) -> dict[str, str]:
        """The tracking sub-status of every waybill with an open anomaly."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT waybill_no, sub_status FROM waybill_status WHERE waybill_no IN "
            "(SELECT waybill_no FROM tracking_anomalies WHERE resolved_at IS NULL)")}

    def _found(self, sql: str, value: str) -> bool:
        return self.conn.execute(sql, (value,)).fetchone() is not None
