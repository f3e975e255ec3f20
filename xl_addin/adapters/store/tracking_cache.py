"""Read-only lookups in the state store's tracking cache, for the worksheet functions.

Why separate from ``Store``: a worksheet recalculation calls these thousands of
times, so they open the store read-only (no migration, no write lock), keep one
connection per process and desk, and never reach the carrier's network.
Tables (written by the tracking stage): ``waybill_status`` (one row per
waybill, the latest status) and ``tracking_events`` (the node history).

Two readers with one surface (``status``, ``statuses``, ``nodes``): ``TrackingCache`` on the
desk's SQLite file, ``PgTrackingCache`` on a team's shared PostgreSQL store (the desk's
``[store] url`` or ``XL_LOGISTICS_DATABASE_URL``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

DESK_ENV = "XL_LOGISTICS_DESK"
# How often (seconds) a kept answer is checked against the store: at most this stale, and the check
# (one PRAGMA) is paid once per interval instead of once per cell during a recalculation burst.
RECHECK_SECONDS = 0.5
MEMO_LIMIT = 200_000


class CacheUnavailable(Exception):
    """The store or its tracking tables are not there (yet); UDFs show a #N/A-style text."""


class WaybillStatus(NamedTuple):
    """A tuple, not a dataclass: built straight from the SQLite row at C speed on the =TRACK hot path."""
    waybill_no: str
    carrier_code: str | None
    status: str | None
    sub_status: str | None
    status_zh: str | None
    last_time: str | None
    last_context: str | None
    expected_delivery: str | None
    updated_at: str | None


class TrackingNode(NamedTuple):
    time: str | None
    context: str | None
    status: str | None


_STATUS_SQL = ("SELECT waybill_no, carrier_code, status, sub_status, status_zh, last_time, last_context, "
               "expected_delivery, updated_at FROM waybill_status WHERE waybill_no = ?")
_EVENTS_SQL = "SELECT time, context, status FROM tracking_events WHERE waybill_no = ? ORDER BY time DESC"


_MISSING = object()


class TrackingCache:
    """One read-only connection to one store file, and a memo of answers valid until the store changes.

    Staleness is SQLite's ``PRAGMA data_version``: it changes on this connection whenever another
    connection (a refresh run, the CLI) commits to the file. It is looked at no more than every
    ``RECHECK_SECONDS``, so a recalculation of thousands of cells pays for it once.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CacheUnavailable(f"找不到状态库 {self.path}")
        try:
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                        check_same_thread=False, timeout=5.0)
            self.conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            raise CacheUnavailable(f"状态库无法打开: {exc}") from None
        self._lock = threading.Lock()
        self._cursor = self.conn.cursor()
        self._memo: dict[str, WaybillStatus | None] = {}
        self._version = None
        self._checked = 0.0

    def _fresh(self) -> None:
        """Forget every kept answer when another connection has committed since the last look."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return
        self._checked = now
        try:
            with self._lock:
                version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.DatabaseError:
            version = None
        if version != self._version or version is None:
            self._version = version
            self._memo.clear()

    def close(self) -> None:
        self.conn.close()

    def _query(self, sql: str, args: tuple):
        try:
            with self._lock:
                return self.conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:  # "no such table" until the tracking stage has run
            raise CacheUnavailable(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise CacheUnavailable(f"状态库无法读取: {exc}") from None

    def status(self, waybill_no: str) -> WaybillStatus | None:
        if time.monotonic() - self._checked >= RECHECK_SECONDS:
            self._fresh()
        found = self._memo.get(waybill_no, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        try:  # the hot path of =TRACK: one prepared statement on a kept cursor, one row
            with self._lock:
                row = self._cursor.execute(_STATUS_SQL, (waybill_no,)).fetchone()
        except sqlite3.DatabaseError:
            return self._slow_status(waybill_no)
        found = WaybillStatus._make(row) if row else None
        if len(self._memo) < MEMO_LIMIT:
            self._memo[waybill_no] = found
        return found

    def _slow_status(self, waybill_no: str) -> WaybillStatus | None:
        rows = self._query(_STATUS_SQL, (waybill_no,))
        return WaybillStatus(*rows[0]) if rows else None

    def statuses(self, numbers: list[str]) -> dict[str, WaybillStatus]:
        """Many waybills in a few queries (the range form of the functions)."""
        found: dict[str, WaybillStatus] = {}
        unique = list(dict.fromkeys(n for n in numbers if n))
        for i in range(0, len(unique), 500):
            chunk = unique[i:i + 500]
            sql = _STATUS_SQL.replace("= ?", f"IN ({','.join('?' * len(chunk))})")
            for row in self._query(sql, tuple(chunk)):
                found[row[0]] = WaybillStatus._make(row)
        return found

    def nodes(self, waybill_no: str) -> list[TrackingNode]:
        """Newest first."""
        return [TrackingNode(*r) for r in self._query(_EVENTS_SQL, (waybill_no,))]


# PostgreSQL reader: a short statement timeout (a recalculation must not hang on a busy server), a short
# connect timeout, and after a failure no new attempt for DOWN_SECONDS, so a sheet of thousands of cells
# shows "#N/A" at once instead of waiting for the network once per cell.
PG_STATEMENT_TIMEOUT_MS = 2000
PG_CONNECT_TIMEOUT_S = 2
DOWN_SECONDS = 5.0


class PgTrackingCache:
    """The same reader on a shared PostgreSQL store: one kept read-only connection, the same memo.

    Staleness: the server's current snapshot (``pg_current_snapshot()``: which transactions have
    committed) is compared, no more than every ``RECHECK_SECONDS``. It changes whenever anyone commits
    a write, and costs no table access; a change anywhere forgets the memo (never a stale answer).
    The connection is opened lazily, re-opened after the server restarts, and never writes
    (``default_transaction_read_only``).
    """

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.Lock()
        self._raw = None
        self._down_until = 0.0
        self._memo: dict[str, WaybillStatus | None] = {}
        self._version: object = None
        self._checked = 0.0

    # -- the connection -----------------------------------------------------------------------
    def _connection(self):
        """The kept connection, opened when needed; CacheUnavailable while the server is down."""
        raw = self._raw
        if raw is not None and not raw.closed:
            return raw
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("共享状态库暂时无法连接")
        import psycopg

        given = psycopg.conninfo.conninfo_to_dict(self.url).get("options") or ""
        options = (f"{given} -c default_transaction_read_only=on "
                   f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}").strip()
        try:
            self._raw = psycopg.connect(self.url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S,
                                        options=options, application_name="xl-logistics-udf")
        except psycopg.Error as exc:
            self._down_until = time.monotonic() + DOWN_SECONDS
            raise CacheUnavailable(f"共享状态库无法连接: {_first_line(exc)}") from None
        return self._raw

    def _run(self, sql: str, args: tuple | None, *, prepare: bool | None = None) -> list[tuple]:
        import psycopg

        with self._lock:
            for attempt in (1, 2):  # a connection the server dropped (a restart) is re-opened once at once
                raw = self._connection()
                try:
                    return raw.execute(sql, args, prepare=prepare).fetchall()
                except psycopg.Error as exc:
                    lost = raw.closed or isinstance(exc, (psycopg.OperationalError, psycopg.errors.AdminShutdown))
                    if lost:
                        self._drop(retry_now=attempt == 1)
                    if not lost or attempt == 2:
                        raise CacheUnavailable(f"共享状态库无法读取: {_first_line(exc)}") from None
            raise AssertionError("unreachable")

    def _drop(self, retry_now: bool = False) -> None:
        """Forget a broken connection (and every kept answer); reconnect now or after ``DOWN_SECONDS``."""
        raw, self._raw = self._raw, None
        self._memo.clear()
        self._version = None
        self._down_until = 0.0 if retry_now else time.monotonic() + DOWN_SECONDS
        if raw is not None:
            try:
                raw.close()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()

    # -- staleness ----------------------------------------------------------------------------
    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return
        self._checked = now
        try:
            version = self._run(_PG_VERSION_SQL, None)[0][0]
        except CacheUnavailable:
            self._memo.clear()
            self._version = None
            raise
        if version != self._version:
            self._version = version
            self._memo.clear()

    # -- the reader surface (as TrackingCache) ------------------------------------------------
    def status(self, waybill_no: str) -> WaybillStatus | None:
        if time.monotonic() - self._checked >= RECHECK_SECONDS:
            self._fresh()
        found = self._memo.get(waybill_no, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        rows = self._run(_PG_STATUS_SQL, (waybill_no,), prepare=True)
        found = WaybillStatus._make(rows[0]) if rows else None
        if len(self._memo) < MEMO_LIMIT:
            self._memo[waybill_no] = found
        return found

    def statuses(self, numbers: list[str]) -> dict[str, WaybillStatus]:
        unique = list(dict.fromkeys(n for n in numbers if n))
        found: dict[str, WaybillStatus] = {}
        for i in range(0, len(unique), 5000):
            for row in self._run(_PG_STATUSES_SQL, (unique[i:i + 5000],)):
                found[row[0]] = WaybillStatus._make(row)
        return found

    def nodes(self, waybill_no: str) -> list[TrackingNode]:
        """Newest first."""
        return [TrackingNode(*r) for r in self._run(_PG_EVENTS_SQL, (waybill_no,), prepare=True)]


_PG_STATUS_SQL = _STATUS_SQL.replace("?", "%s")
_PG_STATUSES_SQL = _STATUS_SQL.replace("= ?", "= ANY(%s)")
_PG_EVENTS_SQL = _EVENTS_SQL.replace("?", "%s") + ", id DESC"
_PG_VERSION_SQL = "SELECT pg_current_snapshot()::text"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_caches: dict[object, TrackingCache | PgTrackingCache] = {}
_paths: dict[str, Path | str] = {}
_by_root: dict[object, TrackingCache | PgTrackingCache] = {}
_guard = threading.Lock()
_recent: dict[object, tuple[TrackingCache, float]] = {}


def store_path_for(desk_root: Path) -> Path | str:
    """Where the desk's store is: a ``postgresql://`` URL (the desk's ``[store] url`` or
    ``XL_LOGISTICS_DATABASE_URL``), its configured SQLite file, else ``.xl-logistics/state.sqlite3``."""
    from xl_addin.desk import STATE_DIRNAME

    default = desk_root / STATE_DIRNAME / "state.sqlite3"
    try:
        from xl_addin.config import load_settings

        url = (load_settings(desk_root).store_url() or "").strip()
    except Exception:  # a broken config is doctor's business; fall back to the default place
        return default
    if _is_postgres(url):
        return url
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else default


def _is_postgres(url: str) -> bool:
    return url.lower().startswith(("postgresql://", "postgres://"))


def cache_for(book_dir: str | Path | None = None) -> TrackingCache | PgTrackingCache:
    """The cache of the desk named by ``XL_LOGISTICS_DESK``, else of ``book_dir`` (the calling workbook's folder).

    Connections and resolved paths are kept per process: Excel calls the same
    function thousands of times in one recalculation, so the answer for one argument is reused
    for ``RECHECK_SECONDS`` without looking at the environment again.
    """
    hit = _recent.get(book_dir)
    if hit is not None and time.monotonic() - hit[1] < RECHECK_SECONDS:
        return hit[0]
    cache = _resolve(book_dir)
    if len(_recent) < 1000:
        _recent[book_dir] = (cache, time.monotonic())
    return cache


def _resolve(book_dir: str | Path | None) -> TrackingCache | PgTrackingCache:
    root = os.environ.get(DESK_ENV) or book_dir
    if not root:
        url = os.environ.get("XL_LOGISTICS_DATABASE_URL", "").strip()
        if not _is_postgres(url):  # a team store named by the environment needs no desk folder
            raise CacheUnavailable("不知道台账在哪里")
        root = url
    cache = _by_root.get(root)
    if cache is not None:
        return cache
    path = _paths.get(str(root))
    if path is None:
        path = _paths[str(root)] = root if _is_postgres(str(root)) else store_path_for(Path(root))
    cache = _caches.get(path)
    if cache is None:
        with _guard:
            cache = _caches.get(path) or (PgTrackingCache(path) if isinstance(path, str) else TrackingCache(path))
            _caches[path] = cache
            _by_root[root] = cache
    return cache


def reset() -> None:
    """Close every kept connection (tests; a desk that moved)."""
    with _guard:
        for cache in _caches.values():
            cache.close()
        _caches.clear()
        _paths.clear()
        _by_root.clear()
        _recent.clear()
