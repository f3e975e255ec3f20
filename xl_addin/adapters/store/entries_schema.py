"""DDL of what a person records at a command (migration 9), portable SQL; ``{id}`` is the dialect's key.

``person_entries``: one row per customer outcome or override a command accepted. It is stored
before any workbook is touched, so an entry made while the workbook is open in Excel is kept;
``pending`` is 1 until the entry has been written into the workbook (the next check does that).
An override stays in force for its order and problem code until ``revoked_at`` is set.
"""

from __future__ import annotations

ENTRIES_STATEMENTS: list[str] = [
    """CREATE TABLE person_entries (
        id {id},
        order_no TEXT NOT NULL,
        kind TEXT NOT NULL,
        code TEXT,
        outcome TEXT,
        actor TEXT NOT NULL,
        role TEXT,
        reason TEXT,
        channel TEXT,
        at TEXT NOT NULL,
        pending INTEGER NOT NULL DEFAULT 1,
        revoked_at TEXT,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX person_entries_order ON person_entries (order_no, kind)",
]
