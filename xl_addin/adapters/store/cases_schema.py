"""DDL of the exception-ledger tables (migration 7), portable SQL; ``{id}`` is the dialect's auto-increment key.

* ``cases``: one row per case, every field of the Exception Report as a column (times UTC ISO text,
  money as yuan text); one open case per (waybill, type) is enforced by a partial unique index.
* ``case_history``: every change of every case, who, when, from where (the ledger's history sheet).
* ``case_sources``: which anomaly (or other signal) has already been attached to a case, so a
  repeated refresh never opens or logs the same signal twice.
* ``case_ledger_base``: per case, the field values last agreed between store and workbook — the
  common ancestor of the two-way sync (a field changed on both sides since then is a conflict).
* ``case_counters``: the daily serial of case ids.
"""

from __future__ import annotations

CASE_COLUMNS = (
    "order_no", "waybill_no", "carrier_code", "type", "severity", "found_at", "found_by", "description",
    "evidence", "submitted_at", "handler", "carrier_contact", "carrier_replied_at", "cause", "new_expected",
    "claim_started_at", "claim_amount", "claim_status", "materials_sent_at", "reship_refund", "error_source",
    "binding_checked_at", "correction_requested_at", "address_confirmed_at", "corrected_address",
    "responsible_party", "responsibility_reason", "result", "customer_informed_at", "customer_feedback",
    "receiver_informed_at", "closed_at", "case_status", "source", "source_ref",
)

CASES_STATEMENTS: list[str] = [
    "CREATE TABLE cases (case_id TEXT PRIMARY KEY, "
    + ", ".join(f"{c} TEXT" for c in CASE_COLUMNS)
    + ", created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE UNIQUE INDEX cases_one_open ON cases (waybill_no, type) WHERE closed_at IS NULL",
    "CREATE INDEX cases_found ON cases (found_at)",
    "CREATE INDEX cases_closed ON cases (closed_at)",
    "CREATE INDEX cases_order ON cases (order_no)",
    """CREATE TABLE case_history (
        id {id},
        case_id TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        field TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT,
        note TEXT,
        origin TEXT NOT NULL,
        in_ledger INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX case_history_case ON case_history (case_id, id)",
    "CREATE INDEX case_history_ledger ON case_history (in_ledger, id)",
    """CREATE TABLE case_sources (
        source_key TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        attached_at TEXT NOT NULL)""",
    """CREATE TABLE case_ledger_base (
        case_id TEXT PRIMARY KEY,
        snapshot TEXT NOT NULL,
        synced_at TEXT NOT NULL)""",
    """CREATE TABLE case_counters (
        day TEXT PRIMARY KEY,
        last_serial INTEGER NOT NULL)""",
]
