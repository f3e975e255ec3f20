"""The state store: SQLite (embedded default) or PostgreSQL (a team sharing one database).

One ``Store`` per process and desk; ``store.conn`` is a sqlite3 connection or a ``PgConnection``
with the same surface (see ``pg.py`` and docs/store-design.md). Writes go through short transactions
(``with store.transaction() as tx``) so two people, two processes or a crash
never leave half a change; SQLite runs in WAL mode so readers (the worksheet
functions) never wait for a writer.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from xl_addin.adapters.store.dialect import SQLITE_ID, backend_of, ddl_for, redact_url  # noqa: F401
from xl_addin.adapters.store.migrations import MIGRATIONS, SCHEMA_VERSION
from xl_addin.errors import StoreError

# The backend-neutral exceptions: PostgreSQL's are raised as subclasses of these.
IntegrityError = sqlite3.IntegrityError
OperationalError = sqlite3.OperationalError


def utc_iso(moment: datetime) -> str:
    """Stored times are UTC ISO strings: sortable as text and unambiguous."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Store:
    def __init__(self, conn: Any, location: str, dialect: str = "sqlite"):
        self.conn = conn
        self.location = location
        self.dialect = dialect

    # -- connection and schema -------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (BEGIN IMMEDIATE), so concurrent writers queue instead of failing late."""
        self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def has_table(self, name: str) -> bool:
        """Asked, not tried: on PostgreSQL a failed statement would spoil the surrounding transaction."""
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT 1 WHERE to_regclass(?) IS NOT NULL"
        return self.conn.execute(sql, (name,)).fetchone() is not None

    def tables(self) -> list[str]:
        """The store's tables (for copy and status), in name order."""
        if self.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        else:
            sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                   "AND table_type = 'BASE TABLE' ORDER BY table_name")
        return [r[0] for r in self.conn.execute(sql).fetchall()]

    def schema_version(self) -> int:
        if not self.has_table("meta"):
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _applied_versions(self) -> set[int]:
        """Versions already applied; a store from before the bookkeeping table counts every version up to its own."""
        if self.has_table("schema_migrations"):
            return {int(r[0]) for r in self.conn.execute("SELECT version FROM schema_migrations").fetchall()}
        current = self.schema_version()
        return {v for v, _t, _s in MIGRATIONS if v <= current}

    def pending_migrations(self) -> list[tuple[int, str]]:
        done = self._applied_versions()
        return [(v, t) for v, t, _s in MIGRATIONS if v not in done]

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, in version order; returns the versions applied.

        Each version is applied in its own write transaction and re-checked inside it, so several
        processes opening a new store at once apply each migration exactly once."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"状态库版本 {current} 比本程序支持的 {SCHEMA_VERSION} 新",
                "请升级 xl-logistics 后再使用这个台账",
                path=self.location,
            )
        done = self._applied_versions()
        applied = []
        for version, title, statements in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                done = self._applied_versions()
                if version in done:
                    continue
                self.conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  "version INTEGER PRIMARY KEY, title TEXT NOT NULL)")
                if done:
                    self.conn.executemany("INSERT INTO schema_migrations (version, title) VALUES (?, '') "
                                          "ON CONFLICT (version) DO NOTHING", [(v,) for v in done])
                for sql in statements:
                    self.conn.execute(ddl_for(sql, self.dialect))
                self.conn.execute("INSERT INTO schema_migrations (version, title) VALUES (?, ?)", (version, title))
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(max(version, self.schema_version())),),
                )
            applied.append(version)
        return applied

    def check(self) -> list[str]:
        """Problems found by a health check (empty when healthy)."""
        problems = []
        version = self.schema_version()
        if version != SCHEMA_VERSION:
            problems.append(f"状态库版本为 {version}，应为 {SCHEMA_VERSION}（运行任一命令会自动升级）")
        if self.dialect == "sqlite":
            row = self.conn.execute("PRAGMA quick_check").fetchone()
            if row and row[0] != "ok":
                problems.append(f"状态库完整性检查失败: {row[0]}")
        return problems

    # -- audit log ---------------------------------------------------------
    def audit(self, at: datetime, actor: str, action: str, entity: str, entity_id: str,
              detail: dict[str, Any] | None = None) -> None:
        """Append one change of a record of truth; call inside the transaction that makes the change."""
        self.conn.execute(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (utc_iso(at), actor, action, entity, entity_id, json.dumps(detail or {}, ensure_ascii=False, default=str)),
        )

    def audit_entries(self, entity: str | None = None, entity_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT at, actor, action, entity, entity_id, detail FROM audit_log"
        args: list[Any] = []
        if entity is not None:
            sql += " WHERE entity = ?" + (" AND entity_id = ?" if entity_id is not None else "")
            args = [entity] + ([entity_id] if entity_id is not None else [])
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(at=r[0], actor=r[1], action=r[2], entity=r[3], entity_id=r[4], detail=json.loads(r[5])) for r in rows]

    # -- job runs ("last runs" for staff and the scheduler) ----------------
    def start_job(self, job: str, at: datetime) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO job_runs (job, started_at, status) VALUES (?, ?, 'running')", (job, utc_iso(at)))
            return int(cur.lastrowid)

    def finish_job(self, run_id: int, at: datetime, status: str, summary: str) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE job_runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (utc_iso(at), status, summary, run_id))

    def last_runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT job, started_at, finished_at, status, summary FROM job_runs WHERE id IN "
            "(SELECT MAX(id) FROM job_runs GROUP BY job) ORDER BY job").fetchall()
        return [dict(job=r[0], started_at=r[1], finished_at=r[2], status=r[3], summary=r[4]) for r in rows]


def open_store(path: Path | str, *, create: bool = True, upgrade: bool | None = None, migrate: bool = True) -> Store:
    """Open (and migrate) the store at ``path``: a SQLite file, or a ``sqlite:///`` / ``postgresql://`` URL.

    ``upgrade``: apply pending migrations. SQLite always does (one desk, one program). A shared
    PostgreSQL store is created when empty but an older schema is only upgraded by ``db upgrade``
    (or ``upgrade=True``), so one PC with a newer add-in cannot change the schema under the others."""
    text = str(path)
    if "://" in text:
        if backend_of(text) == "postgresql":
            return open_postgres_store(text, upgrade=bool(upgrade), migrate=migrate)
        path = Path(text.split("://", 1)[1][1:] if text.startswith("sqlite:///") else text)
    path = Path(path)
    if not path.exists() and not create:
        raise StoreError("找不到状态库", "请先运行 xl-logistics init 创建台账", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"状态库无法打开: {exc}", "文件可能已损坏；可从 .xl-logistics/backups 恢复", path=str(path)) from None
    store = Store(conn, str(path))
    try:
        store.migrate()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"状态库无法升级: {exc}", "文件可能已损坏；可从备份恢复", path=str(path)) from None
    return store


def open_postgres_store(url: str, *, upgrade: bool = False, migrate: bool = True) -> Store:
    """Open the shared store at a ``postgresql://`` URL: pooled connection, timeouts, schema checked.

    ``migrate=False`` opens it as it is (for ``db status``)."""
    import xl_addin.adapters.store.pg as pg

    conn = pg.connect(url)
    store = Store(conn, redact_url(url), dialect="postgresql")
    if not migrate:
        return store
    try:
        current = store.schema_version()
        if current > SCHEMA_VERSION or current == 0 or upgrade or not store.pending_migrations():
            store.migrate()  # refuses a newer schema; creates an empty one; upgrades only when asked
        else:
            pending = ", ".join(str(v) for v, _t in store.pending_migrations())
            raise StoreError(f"共享状态库的版本 {current} 低于本程序需要的 {SCHEMA_VERSION}（待升级: {pending}）",
                             "请管理员先运行 xl-logistics db upgrade（升级前请备份数据库），再使用本程序",
                             path=store.location)
    except BaseException:
        conn.close()
        raise
    return store
