"""What the Real-time Tracking Log needs from the store beyond ``TrackingStore``: node counts per waybill
(to know whose planned time to recompute), the keys of the nodes in a time window, and each waybill's order."""

from __future__ import annotations

from datetime import datetime

from xl_addin.adapters.store.store import Store, utc_iso


class TrackingLogReads:
    def __init__(self, store: Store):
        self.conn = store.conn

    def node_counts(self) -> dict[str, tuple[int, int]]:
        """waybill -> (number of nodes, highest node id)."""
        return {w: (n, top) for w, n, top in self.conn.execute(
            "SELECT waybill_no, COUNT(*), MAX(id) FROM tracking_events GROUP BY waybill_no")}

    def node_keys_between(self, since: datetime, until: datetime,
                          after_id: int | None = None) -> list[tuple[int, str, str, str | None]]:
        """(id, waybill, stored time, text) of the nodes in [since, until), only ids above ``after_id`` if given."""
        sql = "SELECT id, waybill_no, time, context FROM tracking_events WHERE time >= ? AND time < ?"
        args: list[object] = [utc_iso(since), utc_iso(until)]
        if after_id is not None:
            sql += " AND id > ?"
            args.append(after_id)
        return list(self.conn.execute(sql, args))

    def orders_by_waybill(self) -> dict[str, str | None]:
        return dict(self.conn.execute("SELECT waybill_no, order_no FROM waybill_status").fetchall())
