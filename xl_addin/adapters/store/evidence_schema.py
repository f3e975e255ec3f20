"""DDL of the evidence kept with exception cases (part of migration 9), portable SQL.

``case_evidence``: one row per evidence file copied into the desk's evidence folder: where it came
from, where the copy is (relative to the desk), its SHA-256 and size, who added it and when.
"""

from __future__ import annotations

EVIDENCE_STATEMENTS: list[str] = [
    """CREATE TABLE case_evidence (
        id {id},
        case_id TEXT NOT NULL,
        original TEXT NOT NULL,
        stored TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL)""",
    "CREATE INDEX case_evidence_case ON case_evidence (case_id)",
]
