"""The state store's PostgreSQL connection: the same small surface the repositories use on sqlite3.

Why a thin wrapper and not an ORM: every repository already speaks a portable SQL subset through
``conn.execute(sql, params)`` / ``executemany`` / ``fetchone`` / ``fetchall`` / ``rowcount`` /
``lastrowid``. Giving psycopg that surface (``?`` → ``%s``, ``lastrowid`` via ``lastval()``,
errors mapped onto sqlite3's exception classes) keeps one code path for both backends.

Writers: ``BEGIN IMMEDIATE`` becomes ``BEGIN`` plus a store-wide transaction-level advisory lock, the
same one-writer-at-a-time rule SQLite gives, across every machine that shares the database. The lock
is released at COMMIT/ROLLBACK or when the connection dies, so a crashed PC never holds it.
Readers never take it. psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from functools import lru_cache
from typing import Any, Iterable, Sequence

from xl_addin.adapters.store.dialect import qmark_to_format, redact_url
from xl_addin.errors import StoreError

# pg_advisory_xact_lock key for "a writer of the xl-logistics store" (any constant; 'xlstore' in ASCII).
WRITER_LOCK = 0x786C73746F7265
CONNECT_TIMEOUT_S = int(os.environ.get("XL_LOGISTICS_DB_CONNECT_TIMEOUT", "10"))
STATEMENT_TIMEOUT_MS = int(os.environ.get("XL_LOGISTICS_DB_STATEMENT_TIMEOUT_MS", "120000"))
# A cap, not an allocation (the pool starts with one connection): the push receiver keeps one store per
# worker thread (8) plus its notice sender, so the cap must exceed that or a thread waits for a connection.
POOL_MAX = int(os.environ.get("XL_LOGISTICS_DB_POOL_MAX", "12"))


# ``? IS NULL`` alone does not tell PostgreSQL a parameter's type ("could not determine data type of
# parameter $n"); SQLite does not care. Only the NULL-ness is asked, so any type will do: text.
_NULL_TEST = re.compile(r"(?<!%)%s(\s+IS\s+(?:NOT\s+)?NULL\b)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """A repository's statement for psycopg: ``%s`` placeholders, and a type for a bare NULL test."""
    return _NULL_TEST.sub(r"%s::text\1", qmark_to_format(sql))


class PgIntegrityError(sqlite3.IntegrityError):
    """A unique/foreign-key/not-null violation on PostgreSQL; catchable as ``sqlite3.IntegrityError``."""


class PgOperationalError(sqlite3.OperationalError):
    """An SQL error (missing table, bad syntax) on PostgreSQL; catchable as ``sqlite3.OperationalError``."""


def connection_lost(url: str, exc: BaseException) -> StoreError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(f"无法连接或已断开共享状态库（PostgreSQL）: {first}",
                      "请确认数据库服务器已启动、网络可达、用户名与密码正确，然后重新运行；"
                      "已提交的结果不会丢失也不会重复，未提交的这一批会整体撤销",
                      path=redact_url(url))


class PgCursor:
    """The sqlite3-cursor subset the repositories use, over a psycopg cursor."""

    __slots__ = ("_cur", "_conn")

    def __init__(self, cur: Any, conn: "PgConnection"):
        self._cur = cur
        self._conn = conn

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount if self._cur is not None else -1

    @property
    def description(self) -> Any:
        return self._cur.description if self._cur is not None else None

    @property
    def lastrowid(self) -> int:
        """The id just generated on this connection (identity columns draw from a sequence)."""
        return int(self._conn._run("SELECT lastval()", None).fetchone()[0])

    def fetchone(self) -> tuple | None:
        return self._cur.fetchone() if self.description is not None else None

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall() if self.description is not None else []

    def __iter__(self):
        return iter(self.fetchall())


class PgConnection:
    """One pooled psycopg connection in autocommit mode; transactions are explicit, as on the SQLite store."""

    dialect = "postgresql"

    def __init__(self, raw: Any, url: str, release: Any = None):
        self.raw = raw
        self.url = url
        self._release = release

    # -- the sqlite3.Connection subset -------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> PgCursor:
        head = sql.lstrip()[:24].upper()
        if head.startswith("BEGIN"):
            if "IMMEDIATE" in head or "EXCLUSIVE" in head:
                self._run("BEGIN", None)
                self._run("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            else:
                self._run("BEGIN ISOLATION LEVEL REPEATABLE READ", None)
            return PgCursor(None, self)
        if head.startswith("PRAGMA"):
            return PgCursor(None, self)  # SQLite tuning knobs have no PostgreSQL meaning
        if head.startswith("ROLLBACK") and self.raw.closed:
            return PgCursor(None, self)  # the server went away: nothing left to undo on our side
        if params is None or len(params) == 0:
            return self._run(sql, None)
        return self._run(pg_sql(sql), params)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        import psycopg

        cur = self.raw.cursor()
        try:
            cur.executemany(pg_sql(sql), list(seq))
        except psycopg.Error as exc:
            raise self._translate(exc) from None
        return PgCursor(cur, self)

    def cursor(self) -> "PgConnection":
        return self

    def commit(self) -> None:
        if self.in_transaction:
            self._run("COMMIT", None)

    def rollback(self) -> None:
        if self.in_transaction:
            self._run("ROLLBACK", None)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        if self.raw is None:
            return
        raw, self.raw = self.raw, None
        if self._release is not None:
            self._release(raw)
        else:
            raw.close()

    # -- internals ----------------------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any] | None) -> PgCursor:
        import psycopg

        try:
            return PgCursor(self.raw.execute(sql, params), self)
        except psycopg.Error as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: BaseException) -> BaseException:
        import psycopg

        if isinstance(exc, psycopg.errors.IntegrityError):
            return PgIntegrityError(str(exc).strip())
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return StoreError(f"共享状态库处理超时: {str(exc).strip().splitlines()[0]}",
                              "数据库正忙或被锁住；稍后重新运行。这一批已整体撤销", path=redact_url(self.url))
        if isinstance(exc, psycopg.OperationalError) or self.raw is None or self.raw.closed or \
                isinstance(exc, (psycopg.errors.AdminShutdown, psycopg.errors.CannotConnectNow)):
            return connection_lost(self.url, exc)
        return PgOperationalError(str(exc).strip())


# -- connecting and pooling ---------------------------------------------------------------------
_pools: dict[tuple[int, str], Any] = {}
_pools_lock = threading.Lock()


def _configure(conn: Any) -> None:
    """Per-connection adapters: booleans stored as 0/1 (SQLite's way), SUM()/numeric back as int or float."""
    from decimal import Decimal

    import psycopg
    from psycopg.adapt import Dumper, Loader

    class BoolAsInt(Dumper):
        oid = psycopg.postgres.types["int8"].oid

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    class NumericAsNumber(Loader):
        def load(self, data: Any) -> Any:
            value = Decimal(bytes(data).decode())
            return int(value) if value == value.to_integral_value() else float(value)

    conn.adapters.register_dumper(bool, BoolAsInt)
    conn.adapters.register_loader("numeric", NumericAsNumber)


def _connect_kwargs() -> dict[str, Any]:
    return {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S, "application_name": "xl-logistics",
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c idle_in_transaction_session_timeout=600000"}


def _merge_options(url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keep ``options`` given in the URL (e.g. a search_path) and add our timeouts to them."""
    import psycopg

    given = psycopg.conninfo.conninfo_to_dict(url).get("options")
    if given:
        kwargs = dict(kwargs, options=f"{given} {kwargs['options']}")
    return kwargs


def _pool_for(url: str) -> Any:
    key = (os.getpid(), url)  # a forked child must not share its parent's sockets
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            import psycopg
            from psycopg_pool import ConnectionPool

            kwargs = _merge_options(url, _connect_kwargs())
            try:  # one direct attempt first, so the user sees the server's own reason, not a pool timeout
                psycopg.connect(url, **kwargs).close()
            except psycopg.Error as exc:
                raise connection_lost(url, exc) from None
            pool = ConnectionPool(url, kwargs=kwargs, configure=_configure, min_size=1, max_size=POOL_MAX,
                                  timeout=CONNECT_TIMEOUT_S + 5, open=True, name="xl-logistics",
                                  check=ConnectionPool.check_connection)
            _pools[key] = pool
        return pool


def connect(url: str) -> PgConnection:
    """A connection from this process's pool for ``url`` (returned to the pool on ``close``)."""
    from psycopg_pool import PoolTimeout

    pool = _pool_for(url)
    try:
        raw = pool.getconn()
    except PoolTimeout as exc:
        stats = pool.get_stats()
        if stats.get("pool_size", 0) >= POOL_MAX and not stats.get("pool_available", 0):
            raise StoreError(f"本进程的共享状态库连接（{POOL_MAX} 个）都在使用中，等待超时",
                             "请稍后重试；长期如此请调大环境变量 XL_LOGISTICS_DB_POOL_MAX",
                             path=redact_url(url)) from None
        raise connection_lost(url, exc) from None
    return PgConnection(raw, url, release=pool.putconn)


def close_pools() -> None:
    with _pools_lock:
        for (pid, _url), pool in list(_pools.items()):
            if pid == os.getpid():
                pool.close()
        _pools.clear()
