"""What the desk remembers about imports, in the state store (tables from ``import_schema``).

Why the store and not a file under .xl-logistics/: a confirmed mapping is a decision a person
made, so it sits beside the audit log, is written in the same transaction as the audit entry,
and is shared when a team points its desks at one store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xl_addin.adapters.store.store import Store, from_iso, utc_iso

PENDING, ACCEPTED, KEPT = "pending", "accepted", "kept"


@dataclass
class SavedSource:
    name: str
    mapping: dict[str, str]        # our column key → export header
    headers: list[str]             # the export's header row when it was confirmed
    confirmed_by: str | None
    confirmed_at: datetime | None


@dataclass
class SourceOrder:
    fingerprint: str
    fields: dict[str, Any]
    file: str
    file_row: int


class ImportLedger:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- mappings
    def source(self, name: str) -> SavedSource | None:
        row = self.conn.execute("SELECT name, mapping, headers, confirmed_by, confirmed_at FROM import_sources "
                                "WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return SavedSource(row[0], json.loads(row[1]), json.loads(row[2]), row[3], from_iso(row[4]))

    def save_source(self, name: str, mapping: dict[str, str], headers: list[str], by: str | None,
                    now: datetime) -> None:
        """Call inside a transaction, with the audit entry."""
        stamp = utc_iso(now)
        self.conn.execute(
            "INSERT INTO import_sources (name, mapping, headers, confirmed_by, confirmed_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping, "
            "headers = excluded.headers, confirmed_by = excluded.confirmed_by, "
            "confirmed_at = excluded.confirmed_at, updated_at = excluded.updated_at",
            (name, json.dumps(mapping, ensure_ascii=False), json.dumps(headers, ensure_ascii=False), by, stamp, stamp))

    # -- what each source last said about an order
    def orders_of(self, source: str) -> dict[str, SourceOrder]:
        rows = self.conn.execute("SELECT order_no, fingerprint, fields, file, file_row FROM import_orders "
                                 "WHERE source = ?", (source,))
        return {r[0]: SourceOrder(r[1], json.loads(r[2]), r[3], r[4]) for r in rows}

    def remember(self, source: str, order_no: str, order: SourceOrder, now: datetime) -> None:
        self.conn.execute(
            "INSERT INTO import_orders (source, order_no, fingerprint, fields, file, file_row, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, order_no) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, fields = excluded.fields, file = excluded.file, "
            "file_row = excluded.file_row, imported_at = excluded.imported_at",
            (source, order_no, order.fingerprint, json.dumps(order.fields, ensure_ascii=False, default=str),
             order.file, order.file_row, utc_iso(now)))

    # -- SOURCE_MISMATCH cases
    def pending_mismatch(self, source: str, order_no: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT id, fingerprint, differences FROM import_mismatches WHERE source = ? AND order_no = ? "
            "AND state = ? ORDER BY id DESC", (source, order_no, PENDING)).fetchone()
        return {"id": row[0], "fingerprint": row[1], "differences": json.loads(row[2])} if row else None

    def open_mismatch(self, source: str, order_no: str, fingerprint: str, differences: list[dict[str, Any]],
                      file: str, file_row: int, now: datetime) -> bool:
        """Record a new case unless the same difference is already pending; True when recorded."""
        current = self.pending_mismatch(source, order_no)
        if current and current["fingerprint"] == fingerprint:
            return False
        if current:
            self.conn.execute("UPDATE import_mismatches SET state = 'superseded', resolved_at = ? WHERE id = ?",
                              (utc_iso(now), current["id"]))
        self.conn.execute(
            "INSERT INTO import_mismatches (source, order_no, fingerprint, differences, file, file_row, found_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, order_no, fingerprint, json.dumps(differences, ensure_ascii=False, default=str), file,
             file_row, utc_iso(now)))
        return True

    def resolve(self, source: str, order_no: str, state: str, by: str, now: datetime) -> None:
        self.conn.execute("UPDATE import_mismatches SET state = ?, resolved_by = ?, resolved_at = ? "
                          "WHERE source = ? AND order_no = ? AND state = ?",
                          (state, by, utc_iso(now), source, order_no, PENDING))

    def pending(self) -> list[dict[str, Any]]:
        """Every unresolved SOURCE_MISMATCH (``validate`` may show these beside its own problems)."""
        rows = self.conn.execute("SELECT source, order_no, differences, file, file_row, found_at "
                                 "FROM import_mismatches WHERE state = ? ORDER BY id", (PENDING,))
        return [{"source": r[0], "order_no": r[1], "differences": json.loads(r[2]), "file": r[3],
                 "file_row": r[4], "found_at": r[5]} for r in rows]
