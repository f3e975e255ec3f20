"""Move a desk's store to another backend (SQLite → PostgreSQL, or back) without losing a row.

The target must be a new, empty store at the same schema version. Every table is copied in
batches inside one write transaction; afterwards each table is verified by its row count and a
checksum of its rows computed the same way on both sides (values as text, rows sorted in Python so
collation differences between the backends cannot change the order).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Callable

from xl_addin.adapters.store.store import Store
from xl_addin.errors import StoreError

BATCH = 2000
_SKIP = {"schema_migrations"}  # written by the target's own migrations


@dataclass
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def _columns(store: Store, table: str) -> list[str]:
    cur = store.conn.execute(f"SELECT * FROM {table} LIMIT 1")
    if store.dialect == "sqlite":
        return [d[0] for d in cur.description]
    return [d.name for d in cur.description]


def _text(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def table_checksum(store: Store, table: str, columns: list[str]) -> tuple[int, str]:
    """(row count, sha256 of the sorted rows) — the same on both backends for the same data."""
    rows = store.conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    lines = sorted("\x1f".join(_text(v) for v in row) for row in rows)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\x1e")
    return len(lines), digest.hexdigest()


def copy_store(source: Store, target: Store, *, progress: Callable[[str, int], None] | None = None) -> list[TableCopy]:
    """Copy every table of ``source`` into the empty ``target``; returns the per-table verification."""
    if source.schema_version() != target.schema_version():
        raise StoreError(f"两边的状态库版本不同（源 {source.schema_version()}，目标 {target.schema_version()}）",
                         "请先对两边都运行 xl-logistics db upgrade")
    tables = [t for t in source.tables() if t not in _SKIP]
    missing = [t for t in tables if t not in set(target.tables())]
    if missing:
        raise StoreError(f"目标库缺少这些表: {', '.join(missing)}", "请先对目标运行 xl-logistics db upgrade")
    busy = [t for t in tables if t != "meta" and target.conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
    if busy:
        raise StoreError(f"目标库不是空的（已有数据的表: {', '.join(busy[:5])}）",
                         "db copy 只往新建的空库里搬；请换一个新数据库，或先确认目标库里的数据可以删除")
    with target.transaction():
        for table in tables:
            columns = _columns(source, table)
            if table == "meta":
                target.conn.execute("DELETE FROM meta")
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            cur = source.conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
            rows = cur.fetchall()
            for i in range(0, len(rows), BATCH):
                target.conn.executemany(insert, rows[i:i + BATCH])
            if target.dialect == "postgresql" and "id" in columns and rows:
                target.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT MAX(id) FROM {table}))")
            if progress:
                progress(table, len(rows))
    out = []
    for table in tables:
        columns = _columns(source, table)
        n_src, sum_src = table_checksum(source, table, columns)
        n_dst, sum_dst = table_checksum(target, table, columns)
        out.append(TableCopy(table, n_src, n_dst, sum_src, sum_dst))
    return out
