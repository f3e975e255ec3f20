"""Order closings, satisfaction follow-ups and archive bookkeeping in the state store.

Methods that change data say whether they open their own transaction; times are aware datetimes
in, UTC ISO text in the tables.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

HELD, COMPLETED = "held", "completed"

_FU_COLS = ("order_no, waybill_no, signed_at, due_at, contacted_at, contacted_by, goods_intact, speed_ok, score, "
            "comment, case_ids, recorded_at, created_at")


def _bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


def _followup(r: tuple) -> dict[str, Any]:
    keys = [k.strip() for k in _FU_COLS.split(",")]
    d = dict(zip(keys, r))
    for k in ("signed_at", "due_at", "contacted_at", "recorded_at", "created_at"):
        d[k] = from_iso(d[k])
    d["goods_intact"], d["speed_ok"] = _bool(d["goods_intact"]), _bool(d["speed_ok"])
    d["case_ids"] = json.loads(d["case_ids"] or "[]")
    return d


class ClosingStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- signed orders waiting or completed ------------------------------------------------------
    def signed_candidates(self, waybill_no: str | None = None) -> list[dict[str, Any]]:
        """Current bindings whose waybill is delivered (signed) and whose order is not yet completed
        (only that waybill's, when one is given)."""
        one = " AND b.waybill_no = ?" if waybill_no is not None else ""
        rows = self.conn.execute(
            "SELECT b.order_no, b.waybill_no, s.final_at, o.status, c.state FROM bindings b "
            "JOIN waybill_status s ON s.waybill_no = b.waybill_no "
            "LEFT JOIN orders o ON o.order_no = b.order_no "
            "LEFT JOIN order_closings c ON c.order_no = b.order_no "
            "WHERE b.is_current = 1 AND s.is_final = 1 AND s.status = 'Delivered' AND s.final_at IS NOT NULL "
            "AND (c.state IS NULL OR c.state <> ?) AND (o.status IS NULL OR o.status NOT IN ('completed', 'cancelled'))"
            + one + " ORDER BY s.final_at, b.order_no", (COMPLETED,) + ((waybill_no,) if one else ())).fetchall()
        return [dict(order_no=r[0], waybill_no=r[1], signed_at=from_iso(r[2]), order_status=r[3], closing=r[4])
                for r in rows]

    def set_closing(self, order_no: str, waybill_no: str, signed_at: datetime, state: str,
                    held_by: list[str], now: datetime) -> None:
        """Inside a transaction."""
        completed = utc_iso(now) if state == COMPLETED else None
        self.conn.execute(
            "INSERT INTO order_closings (order_no, waybill_no, signed_at, completed_at, state, held_by_cases, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_no) DO UPDATE SET waybill_no = excluded.waybill_no, "
            "signed_at = excluded.signed_at, completed_at = excluded.completed_at, state = excluded.state, "
            "held_by_cases = excluded.held_by_cases, updated_at = excluded.updated_at",
            (order_no, waybill_no, utc_iso(signed_at), completed, state, json.dumps(held_by), utc_iso(now)))
        self.conn.execute("UPDATE orders SET status = ?, updated_at = ? WHERE order_no = ?",
                          ("completed" if state == COMPLETED else "signed", utc_iso(now), order_no))

    def closing(self, order_no: str) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT order_no, waybill_no, signed_at, completed_at, state, held_by_cases "
                              "FROM order_closings WHERE order_no = ?", (order_no,)).fetchone()
        if r is None:
            return None
        return dict(order_no=r[0], waybill_no=r[1], signed_at=from_iso(r[2]), completed_at=from_iso(r[3]),
                    state=r[4], held_by_cases=json.loads(r[5]))

    def completed_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT order_no, waybill_no, signed_at, completed_at FROM order_closings WHERE state = ? "
            "AND completed_at >= ? AND completed_at < ? ORDER BY completed_at, order_no",
            (COMPLETED, utc_iso(start), utc_iso(end))).fetchall()
        return [dict(order_no=r[0], waybill_no=r[1], signed_at=from_iso(r[2]), completed_at=from_iso(r[3]))
                for r in rows]

    # -- follow-ups -------------------------------------------------------------------------------
    def add_followup(self, order_no: str, waybill_no: str | None, signed_at: datetime, due_at: datetime,
                     now: datetime) -> bool:
        """A follow-up for a newly signed order (once per order). Inside a transaction; True when new."""
        cur = self.conn.execute(
            "INSERT INTO followups (order_no, waybill_no, signed_at, due_at, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (order_no) DO NOTHING",
            (order_no, waybill_no, utc_iso(signed_at), utc_iso(due_at), utc_iso(now)))
        return cur.rowcount == 1

    def set_due(self, order_no: str, due_at: datetime) -> None:
        """Inside a transaction: a follow-up not yet made falls due at ``due_at``."""
        self.conn.execute("UPDATE followups SET due_at = ? WHERE order_no = ? AND contacted_at IS NULL",
                          (utc_iso(due_at), order_no))

    def followup(self, order_no: str) -> dict[str, Any] | None:
        r = self.conn.execute(f"SELECT {_FU_COLS} FROM followups WHERE order_no = ?", (order_no,)).fetchone()
        return _followup(r) if r else None

    def followups(self, order_nos: Iterable[str] | None = None) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {_FU_COLS} FROM followups ORDER BY due_at, order_no").fetchall()
        out = [_followup(r) for r in rows]
        if order_nos is not None:
            wanted = set(order_nos)
            out = [f for f in out if f["order_no"] in wanted]
        return out

    def record_followup(self, order_no: str, *, contacted_at: datetime, by: str, goods_intact: bool | None,
                        speed_ok: bool | None, score: int | None, comment: str, case_ids: list[str],
                        now: datetime) -> None:
        """Inside a transaction."""
        self.conn.execute(
            "UPDATE followups SET contacted_at = ?, contacted_by = ?, goods_intact = ?, speed_ok = ?, score = ?, "
            "comment = ?, case_ids = ?, recorded_at = ? WHERE order_no = ?",
            (utc_iso(contacted_at), by, None if goods_intact is None else int(goods_intact),
             None if speed_ok is None else int(speed_ok), score, comment, json.dumps(case_ids, ensure_ascii=False),
             utc_iso(now), order_no))

    # -- archives ---------------------------------------------------------------------------------
    def set_archive_state(self, month: str, state: str, folder: str, now: datetime,
                          orders: list[str] | None = None) -> None:
        """Opens its own transaction; ``orders`` are recorded as archived in this month."""
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO archives (month, state, folder, started_at, finished_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (month) DO UPDATE SET state = excluded.state, folder = excluded.folder, "
                "finished_at = excluded.finished_at",
                (month, state, folder, utc_iso(now), utc_iso(now) if state == "complete" else None))
            if orders:
                self.conn.executemany("INSERT INTO archived_orders (order_no, month) VALUES (?, ?) "
                                      "ON CONFLICT (order_no) DO NOTHING", [(o, month) for o in orders])
            self.store.audit(now, "系统", f"archive:{state}", "archive", month, {"orders": len(orders or [])})

    def archived_orders(self, month: str | None = None) -> set[str]:
        sql = "SELECT order_no FROM archived_orders" + (" WHERE month = ?" if month else "")
        return {r[0] for r in self.conn.execute(sql, (month,) if month else ())}
