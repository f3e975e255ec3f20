"""The orders' status column as the waybill stage reads and moves it (allocation, binding, the orders sheet)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from xl_addin.adapters.store.store import Store, utc_iso


class OrderStatuses:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def with_status(self, status: str) -> set[str]:
        """The order numbers whose status is ``status`` now."""
        return {r[0] for r in self.conn.execute("SELECT order_no FROM orders WHERE status = ?", (status,))}

    def all(self) -> dict[str, str]:
        """{order_no: status} of every order."""
        return dict(self.conn.execute("SELECT order_no, status FROM orders"))

    def set(self, order_nos: Iterable[str], status: str, now: datetime) -> None:
        """Move these orders to ``status``. Inside a transaction."""
        stamp = utc_iso(now)
        self.conn.executemany("UPDATE orders SET status = ?, updated_at = ? WHERE order_no = ?",
                              [(status, stamp, o) for o in order_nos])
