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
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
