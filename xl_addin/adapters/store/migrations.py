"""Versioned, forward-only schema migrations.

Each migration is a list of statements in a portable SQL subset; ``{id}`` is
replaced by the dialect's auto-increment primary key so the same list serves
SQLite now and PostgreSQL later. Never edit a released migration: add one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "foundation: meta, audit log, job runs, intake records", [
        """CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL)""",
        """CREATE TABLE audit_log (
            id {id},
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{{}}')""",
        "CREATE INDEX audit_log_entity ON audit_log (entity, entity_id)",
        """CREATE TABLE job_runs (
            id {id},
            job TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX job_runs_job ON job_runs (job, started_at)",
        """CREATE TABLE orders (
            order_no TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            check_status TEXT NOT NULL,
            problems TEXT NOT NULL DEFAULT '[]',
            fields TEXT NOT NULL DEFAULT '{{}}',
            fingerprint TEXT NOT NULL DEFAULT '',
            checked_at TEXT,
            confirm_deadline TEXT,
            confirmation TEXT,
            confirmed_by TEXT,
            confirmed_at TEXT,
            confirm_channel TEXT,
            source TEXT,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX orders_status ON orders (status)",
    ]),
    (2, "waybills: number registry, serial counters, allocation batches, bindings with history and review", [
        """CREATE TABLE waybill_counters (
            prefix TEXT NOT NULL,
            day TEXT NOT NULL,
            last_serial INTEGER NOT NULL,
            PRIMARY KEY (prefix, day))""",
        """CREATE TABLE waybill_batches (
            batch_id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            actor TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            state TEXT NOT NULL)""",
        """CREATE TABLE waybill_registry (
            waybill_no TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            source TEXT NOT NULL,
            carrier_code TEXT,
            order_no TEXT,
            batch_id TEXT,
            registered_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX waybill_registry_state ON waybill_registry (state, order_no)",
        "CREATE INDEX waybill_registry_batch ON waybill_registry (batch_id)",
        """CREATE TABLE bindings (
            id {id},
            order_no TEXT NOT NULL,
            waybill_no TEXT NOT NULL,
            carrier TEXT NOT NULL,
            carrier_code TEXT NOT NULL,
            source TEXT NOT NULL,
            bound_at TEXT NOT NULL,
            bound_by TEXT NOT NULL,
            expected_delivery TEXT,
            expected_estimated INTEGER NOT NULL DEFAULT 0,
            service TEXT,
            est_freight TEXT,
            selection_reason TEXT,
            decided_by TEXT,
            is_current INTEGER NOT NULL DEFAULT 1,
            review_status TEXT NOT NULL DEFAULT 'pending',
            reviewed_by TEXT,
            reviewed_at TEXT,
            review_fingerprint TEXT,
            replaced_at TEXT,
            replaced_by TEXT,
            replace_reason TEXT,
            replaced_with TEXT)""",
        "CREATE UNIQUE INDEX bindings_current_order ON bindings (order_no) WHERE is_current = 1",
        "CREATE UNIQUE INDEX bindings_current_waybill ON bindings (waybill_no) WHERE is_current = 1",
        "CREATE INDEX bindings_bound_at ON bindings (bound_at)",
    ]),
]

from xl_addin.adapters.store.tracking_schema import TRACKING_STATEMENTS  # noqa: E402

MIGRATIONS.append((3, "tracking: events, latest-status cache, check schedule, anomalies, run progress",
                   TRACKING_STATEMENTS))

from xl_addin.adapters.store.import_schema import IMPORT_STATEMENTS  # noqa: E402

MIGRATIONS.append((5, "imports: source mappings, imported orders, source mismatches", IMPORT_STATEMENTS))

from xl_addin.adapters.store.notify_schema import NOTIFY_STATEMENTS  # noqa: E402

MIGRATIONS.append((4, "notifications: send log with one row per (waybill, node, channel, recipient)",
                   NOTIFY_STATEMENTS))

from xl_addin.adapters.store.push_schema import PUSH_STATEMENTS  # noqa: E402

MIGRATIONS.append((6, "push: subscription state per waybill, notices waiting to be offered", PUSH_STATEMENTS))

MIGRATIONS.sort(key=lambda m: m[0])
SCHEMA_VERSION = MIGRATIONS[-1][0]

from xl_addin.adapters.store.cases_schema import CASES_STATEMENTS  # noqa: E402

MIGRATIONS.append((7, "exception ledger: cases, history, attached signals, sync base, case counters",
                   CASES_STATEMENTS))
MIGRATIONS.sort(key=lambda m: m[0])
SCHEMA_VERSION = MIGRATIONS[-1][0]

from xl_addin.adapters.store.closing_schema import CLOSING_STATEMENTS  # noqa: E402

MIGRATIONS.append((8, "closing: order completion, satisfaction follow-ups, monthly archives", CLOSING_STATEMENTS))
MIGRATIONS.sort(key=lambda m: m[0])
SCHEMA_VERSION = MIGRATIONS[-1][0]

from xl_addin.adapters.store.corrections_schema import CORRECTIONS_STATEMENTS  # noqa: E402

MIGRATIONS.append((15, "tracking corrections: provider carrier corrections, push receipts, monthly subscription count",
                   CORRECTIONS_STATEMENTS))

from xl_addin.adapters.store.entries_schema import ENTRIES_STATEMENTS  # noqa: E402
from xl_addin.adapters.store.evidence_schema import EVIDENCE_STATEMENTS  # noqa: E402

MIGRATIONS.append((9, "person entries (customer outcomes and overrides, kept until written to the workbook); "
                   "case evidence files with their SHA-256", ENTRIES_STATEMENTS + EVIDENCE_STATEMENTS))
MIGRATIONS.sort(key=lambda m: m[0])
SCHEMA_VERSION = MIGRATIONS[-1][0]
