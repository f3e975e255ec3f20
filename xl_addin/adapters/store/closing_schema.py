"""DDL of the closing tables (migration 8), portable SQL; ``{id}`` is the dialect's auto-increment key.

* ``order_closings``: one row per signed order — when it was signed, when it was completed, or
  which open cases hold it.
* ``followups``: the satisfaction call per order (due 24 h after signing) and its answers.
* ``archives`` / ``archived_orders``: which month's archive holds which order, so nothing is
  archived twice and later writers can leave archived orders out of the live workbooks.
"""

from __future__ import annotations

CLOSING_STATEMENTS: list[str] = [
    """CREATE TABLE order_closings (
        order_no TEXT PRIMARY KEY,
        waybill_no TEXT,
        signed_at TEXT NOT NULL,
        completed_at TEXT,
        state TEXT NOT NULL,
        held_by_cases TEXT NOT NULL DEFAULT '[]',
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX order_closings_completed ON order_closings (completed_at)",
    """CREATE TABLE followups (
        order_no TEXT PRIMARY KEY,
        waybill_no TEXT,
        signed_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        contacted_at TEXT,
        contacted_by TEXT,
        goods_intact INTEGER,
        speed_ok INTEGER,
        score INTEGER,
        comment TEXT,
        case_ids TEXT NOT NULL DEFAULT '[]',
        recorded_at TEXT,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX followups_due ON followups (contacted_at, due_at)",
    """CREATE TABLE archives (
        month TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        folder TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT)""",
    """CREATE TABLE archived_orders (
        order_no TEXT PRIMARY KEY,
        month TEXT NOT NULL)""",
]
