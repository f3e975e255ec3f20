"""Exception cases in the state store: the record of truth behind the Exception Ledger workbook.

Cases are dicts with the report's field names; times are aware datetimes in the domain and UTC ISO
text in the table. Methods that change data run inside the caller's transaction unless they say so.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from xl_addin.adapters.store.cases_schema import CASE_COLUMNS
from xl_addin.adapters.store.store import Store, from_iso, utc_iso
from xl_addin.domain.cases import CLOSED, TIME_FIELDS

_COLS = ("case_id",) + CASE_COLUMNS + ("created_at", "updated_at")
_SELECT = f"SELECT {', '.join(_COLS)} FROM cases"
_TIMES = set(TIME_FIELDS) | {"created_at", "updated_at"}


def _case(row: tuple) -> dict[str, Any]:
    d = dict(zip(_COLS, row))
    for k in _TIMES:
        d[k] = from_iso(d[k])
    return d


def _db(key: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if key in _TIMES:
        return utc_iso(value)
    return str(value)


class CaseStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- reading -------------------------------------------------------------------------------
    def get(self, case_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(_SELECT + " WHERE case_id = ?", (case_id,)).fetchone()
        return _case(row) if row else None

    def all(self, *, open_only: bool = False) -> list[dict[str, Any]]:
        sql = _SELECT + (" WHERE closed_at IS NULL" if open_only else "") + " ORDER BY found_at, case_id"
        return [_case(r) for r in self.conn.execute(sql)]

    def open_cases(self) -> list[dict[str, Any]]:
        """Cases not yet closed (case_id, order_no, waybill_no, type, severity, found_at, status, …)."""
        out = self.all(open_only=True)
        for c in out:
            c["status"] = c["case_status"]
        return out

    def cases_for_order(self, order_no: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(_SELECT + " WHERE order_no = ? ORDER BY found_at, case_id", (order_no,))
        out = [_case(r) for r in rows]
        for c in out:
            c["status"] = c["case_status"]
        return out

    def open_case_for(self, waybill_no: str, case_type: str) -> dict[str, Any] | None:
        row = self.conn.execute(_SELECT + " WHERE waybill_no = ? AND type = ? AND closed_at IS NULL",
                                (waybill_no, case_type)).fetchone()
        return _case(row) if row else None

    def found_or_closed_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Cases that matter to a period ending at ``end``: found before it and not closed before ``start``."""
        rows = self.conn.execute(_SELECT + " WHERE found_at < ? AND (closed_at IS NULL OR closed_at >= ?)",
                                 (utc_iso(end), utc_iso(start)))
        return [_case(r) for r in rows]

    def history(self, case_id: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, case_id, changed_at, changed_by, field, old_value, new_value, note, origin "
               "FROM case_history" + (" WHERE case_id = ?" if case_id else "") + " ORDER BY id")
        keys = ("id", "case_id", "changed_at", "changed_by", "field", "old_value", "new_value", "note", "origin")
        return [dict(zip(keys, r)) for r in self.conn.execute(sql, (case_id,) if case_id else ())]

    def history_not_in_ledger(self) -> list[dict[str, Any]]:
        keys = ("id", "case_id", "changed_at", "changed_by", "field", "old_value", "new_value", "note")
        rows = self.conn.execute("SELECT id, case_id, changed_at, changed_by, field, old_value, new_value, note "
                                 "FROM case_history WHERE in_ledger = 0 ORDER BY id")
        return [dict(zip(keys, r)) for r in rows]

    def history_in_ledger(self) -> list[dict[str, Any]]:
        """The history entries already written to the ledger's history sheet (what its rows should show)."""
        keys = ("id", "case_id", "changed_at", "changed_by", "field", "old_value", "new_value", "note")
        rows = self.conn.execute("SELECT id, case_id, changed_at, changed_by, field, old_value, new_value, note "
                                 "FROM case_history WHERE in_ledger = 1 ORDER BY id")
        return [dict(zip(keys, r)) for r in rows]

    def mark_history_in_ledger(self, ids: Iterable[int]) -> None:
        with self.store.transaction():
            self.conn.executemany("UPDATE case_history SET in_ledger = 1 WHERE id = ?", [(i,) for i in ids])

    # -- writing (inside a transaction) ---------------------------------------------------------
    def next_case_id(self, day: str) -> str:
        """EX + local date + 4-digit daily serial, e.g. EX20261126-0003."""
        self.conn.execute("INSERT INTO case_counters (day, last_serial) VALUES (?, 1) ON CONFLICT (day) "
                          "DO UPDATE SET last_serial = case_counters.last_serial + 1", (day,))
        serial = self.conn.execute("SELECT last_serial FROM case_counters WHERE day = ?", (day,)).fetchone()[0]
        return f"EX{day}-{serial:04d}"

    def insert(self, case: dict[str, Any], now: datetime) -> None:
        stamp = utc_iso(now)
        values = [case["case_id"]] + [_db(k, case.get(k)) for k in CASE_COLUMNS] + [stamp, stamp]
        self.conn.execute(f"INSERT INTO cases ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})", values)

    def set_fields(self, case_id: str, changes: dict[str, Any], now: datetime) -> None:
        if not changes:
            return
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.conn.execute(f"UPDATE cases SET {sets}, updated_at = ? WHERE case_id = ?",
                          [_db(k, v) for k, v in changes.items()] + [utc_iso(now), case_id])

    def add_history(self, case_id: str, now: datetime, by: str, field: str, old: Any, new: Any,
                    note: str = "", origin: str = "store") -> None:
        self.conn.execute(
            "INSERT INTO case_history (case_id, changed_at, changed_by, field, old_value, new_value, note, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, utc_iso(now), by, field, _show(old), _show(new), note, origin))

    def has_source(self, source_key: str) -> bool:
        """True when the signal (an anomaly, a carrier state …) is already attached to a case."""
        return self.conn.execute("SELECT 1 FROM case_sources WHERE source_key = ?", (source_key,)).fetchone() is not None

    def case_of_source(self, source_key: str) -> str | None:
        """The case a signal (or a staff row of the ledger) is attached to, if any."""
        row = self.conn.execute("SELECT case_id FROM case_sources WHERE source_key = ?", (source_key,)).fetchone()
        return row[0] if row else None

    def attach_source(self, source_key: str, case_id: str, now: datetime) -> bool:
        """True when the signal was new (and is now attached)."""
        cur = self.conn.execute("INSERT INTO case_sources (source_key, case_id, attached_at) VALUES (?, ?, ?) "
                                "ON CONFLICT (source_key) DO NOTHING", (source_key, case_id, utc_iso(now)))
        return cur.rowcount == 1

    # -- the sync base ----------------------------------------------------------------------------
    def ledger_base(self) -> dict[str, dict[str, str]]:
        return {r[0]: json.loads(r[1]) for r in self.conn.execute("SELECT case_id, snapshot FROM case_ledger_base")}

    def save_ledger_base(self, snapshots: dict[str, dict[str, str]], now: datetime) -> None:
        self.conn.executemany(
            "INSERT INTO case_ledger_base (case_id, snapshot, synced_at) VALUES (?, ?, ?) ON CONFLICT (case_id) "
            "DO UPDATE SET snapshot = excluded.snapshot, synced_at = excluded.synced_at",
            [(cid, json.dumps(s, ensure_ascii=False, sort_keys=True), utc_iso(now)) for cid, s in snapshots.items()])


def _show(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return utc_iso(value)
    return str(value)


def is_closed(case: dict[str, Any]) -> bool:
    return case.get("closed_at") is not None or case.get("case_status") == CLOSED
