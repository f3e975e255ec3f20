"""Evidence files recorded with exception cases (``case_evidence``): what was copied, where, its SHA-256."""

from __future__ import annotations

from datetime import datetime

from xl_addin.adapters.store.store import Store, utc_iso


def add_evidence(store: Store, case_id: str, original: str, stored: str, sha256: str, size: int, by: str,
                 now: datetime) -> None:
    """Inside a transaction."""
    store.conn.execute(
        "INSERT INTO case_evidence (case_id, original, stored, sha256, size, added_by, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (case_id, original, stored, sha256, size, by, utc_iso(now)))


def evidence_of(store: Store, case_id: str) -> list[dict]:
    rows = store.conn.execute("SELECT original, stored, sha256, size, added_by, added_at FROM case_evidence "
                              "WHERE case_id = ? ORDER BY id", (case_id,)).fetchall()
    return [dict(original=r[0], stored=r[1], sha256=r[2], size=r[3], added_by=r[4], added_at=r[5]) for r in rows]
