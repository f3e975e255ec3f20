"""Customer outcomes and overrides a person recorded, kept in the state store (see entries_schema)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso
from xl_addin.domain.gates import Override

OUTCOME, OVERRIDE = "outcome", "override"


@dataclass(frozen=True)
class PendingOutcome:
    """A customer outcome stored but not yet written into the workbook."""

    id: int
    order_no: str
    outcome: str
    by: str
    channel: str | None
    at: datetime


class PersonEntries:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def add_outcome(self, order_no: str, outcome: str, by: str, channel: str | None, at: datetime) -> None:
        """Inside a transaction. A newer outcome replaces one still waiting to be written."""
        self.conn.execute("UPDATE person_entries SET pending = 0 WHERE order_no = ? AND kind = ? AND pending = 1",
                          (order_no, OUTCOME))
        self.conn.execute(
            "INSERT INTO person_entries (order_no, kind, outcome, actor, channel, at, pending, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?)", (order_no, OUTCOME, outcome, by, channel, utc_iso(at), utc_iso(at)))

    def add_override(self, order_no: str, override: Override) -> None:
        """Inside a transaction. A new override of the same code replaces the earlier one."""
        self.revoke(order_no, override.code, override.at)
        self.conn.execute(
            "INSERT INTO person_entries (order_no, kind, code, actor, role, reason, at, pending, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (order_no, OVERRIDE, override.code, override.by, override.role, override.reason,
             utc_iso(override.at), utc_iso(override.at)))

    def revoke(self, order_no: str, code: str, now: datetime) -> int:
        """Inside a transaction."""
        return self.conn.execute(
            "UPDATE person_entries SET revoked_at = ? WHERE order_no = ? AND kind = ? AND code = ? "
            "AND revoked_at IS NULL", (utc_iso(now), order_no, OVERRIDE, code)).rowcount

    def pending_outcomes(self, order_nos: Iterable[str]) -> dict[str, PendingOutcome]:
        out: dict[str, PendingOutcome] = {}
        for batch in _batches(order_nos):
            rows = self.conn.execute(
                "SELECT id, order_no, outcome, actor, channel, at FROM person_entries WHERE kind = ? AND pending = 1 "
                f"AND order_no IN ({', '.join('?' * len(batch))}) ORDER BY id", (OUTCOME, *batch))
            for r in rows:
                out[r[1]] = PendingOutcome(r[0], r[1], r[2], r[3], r[4], from_iso(r[5]))
        return out

    def written(self, ids: Iterable[int]) -> None:
        """Inside a transaction: these outcomes are in the workbook now."""
        for batch in _batches(ids):
            self.conn.execute(f"UPDATE person_entries SET pending = 0 WHERE id IN ({', '.join('?' * len(batch))})",
                              tuple(batch))

    def overrides(self, order_nos: Iterable[str]) -> dict[str, dict[str, Override]]:
        """order → code → the override in force."""
        out: dict[str, dict[str, Override]] = {}
        for batch in _batches(order_nos):
            rows = self.conn.execute(
                "SELECT order_no, code, actor, role, reason, at FROM person_entries WHERE kind = ? "
                f"AND revoked_at IS NULL AND order_no IN ({', '.join('?' * len(batch))}) ORDER BY id",
                (OVERRIDE, *batch))
            for r in rows:
                out.setdefault(r[0], {})[r[1]] = Override(r[1], r[2], r[3] or "", r[4] or "", from_iso(r[5]))
        return out

    def any_overrides(self) -> bool:
        return self.conn.execute("SELECT 1 FROM person_entries WHERE kind = ? AND revoked_at IS NULL LIMIT 1",
                                 (OVERRIDE,)).fetchone() is not None


def _batches(items: Iterable, size: int = 500):
    items = list(dict.fromkeys(items))
    for i in range(0, len(items), size):
        yield items[i:i + size]
