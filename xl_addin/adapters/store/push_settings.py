"""The push receiver's own rows in the state store: the signature salt kept in ``meta``, and the
health probe. (The salt is a secret: it lives only here, never in a workbook or a log.)"""

from __future__ import annotations

from typing import Any

SALT_KEY = "push_salt"


def stored_salt(store: Any) -> str | None:
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (SALT_KEY,)).fetchone()
    return row[0] if row else None


def keep_salt(store: Any, salt: str) -> str:
    """Keep ``salt`` unless another process kept one first; returns the salt that is kept."""
    with store.transaction():
        store.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                           (SALT_KEY, salt))
    kept = stored_salt(store)
    assert kept is not None
    return kept


def ping(store: Any) -> None:
    """One round trip to the store (raises when it is unreachable)."""
    store.conn.execute("SELECT 1").fetchone()
