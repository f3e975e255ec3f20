"""Read-only lookups in the state store's tracking cache, for the worksheet functions.

Why separate from ``Store``: a worksheet recalculation calls these thousands of
times, so they open the SQLite file read-only (no migration, no write lock),
keep one connection per process and desk, and never reach the network.
Tables (written by the tracking stage): ``waybill_status`` (one row per
waybill, the latest status) and ``tracking_events`` (the node history).
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


_caches: dict[Path, TrackingCache] = {}
_paths: dict[str, Path] = {}
_by_root: dict[object, TrackingCache] = {}
_guard = threading.Lock()
_recent: dict[object, tuple[TrackingCache, float]] = {}


def store_path_for(desk_root: Path) -> Path:
    """Where the desk's store is: its configured SQLite file, else ``.xl-logistics/state.sqlite3``."""
    from xl_addin.desk import STATE_DIRNAME

    default = desk_root / STATE_DIRNAME / "state.sqlite3"
    try:
        from xl_addin.config import load_settings

        url = load_settings(desk_root).store_url() or ""
    except Exception:  # a broken config is doctor's business; fall back to the default place
        return default
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else default


def cache_for(book_dir: str | Path | None = None) -> TrackingCache:
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


def _resolve(book_dir: str | Path | None) -> TrackingCache:
    root = os.environ.get(DESK_ENV) or book_dir
    if not root:
        raise CacheUnavailable("不知道台账在哪里")
    cache = _by_root.get(root)
    if cache is not None:
        return cache
    path = _paths.get(str(root))
    if path is None:
        path = _paths[str(root)] = store_path_for(Path(root))
    cache = _caches.get(path)
    if cache is None:
        with _guard:
            cache = _caches.get(path) or TrackingCache(path)
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
