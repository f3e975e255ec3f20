"""Waybill numbers and bindings in the state store: what a workbook cannot guarantee.

* ``waybill_registry`` holds every number ever issued or entered, one row per
  number (primary key: unique forever). A number is ``reserved`` (claimed by an
  allocation batch for one order), ``bound``, ``void`` (reserved by a batch that
  never finished: never handed out again) or ``replaced`` (was bound, re-bound
  away; kept so it is never reused).
* ``waybill_counters`` hold the last serial per (prefix, day). A batch takes a
  whole block in one ``BEGIN IMMEDIATE`` transaction, so concurrent processes
  get disjoint, gap-free blocks and a crash never rolls a counter back below a
  number that was committed.
* ``bindings`` hold the current binding per order (unique per order and per
  waybill while current) and the replaced ones as history.

Only portable SQL: ``?`` placeholders, ON CONFLICT, partial unique indexes.
Methods that change data say whether they open their own transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from xl_addin.adapters.store.store import Store, from_iso, utc_iso
from xl_addin.errors import UserError
from xl_addin.processes import pid_alive

MAX_SERIAL = 999_999

# where a number came from (stored) and how the workbook shows it
AUTO, CARRIER_API, MANUAL = "auto", "carrier_api", "manual"
SOURCE_LABELS = {AUTO: "自动生成", CARRIER_API: "物流商接口", MANUAL: "人工录入"}

# registry states
RESERVED, BOUND, VOID, REPLACED = "reserved", "bound", "void", "replaced"
STATE_LABELS = {RESERVED: "已预留", BOUND: "已绑定", VOID: "已作废", REPLACED: "已换绑"}

# review states
PENDING, REVIEWED = "pending", "reviewed"
REVIEW_LABELS = {PENDING: "待审核", REVIEWED: "已审核", "changed": "审核后变更"}

ABANDONED_AFTER = timedelta(hours=1)  # a batch of another host with no news for this long is abandoned


class SerialsExhausted(UserError):
    """All 999,999 serials of one prefix and day are used: never wrap around."""


class WaybillTaken(UserError):
    """The number is already registered (bound, reserved, replaced or void)."""

    def __init__(self, message: str, hint: str | None = None, *, order_no: str | None = None, state: str = ""):
        super().__init__(message, hint)
        self.order_no = order_no
        self.state = state


@dataclass
class Binding:
    order_no: str
    waybill_no: str
    carrier: str
    carrier_code: str
    source: str
    bound_at: datetime
    bound_by: str
    expected_delivery: date | None = None
    expected_estimated: bool = False
    service: str | None = None
    est_freight: str | None = None  # yuan as text: exact, portable
    selection_reason: str | None = None
    decided_by: str | None = None
    review_status: str = PENDING
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_fingerprint: str | None = None
    is_current: bool = True
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replace_reason: str | None = None
    replaced_with: str | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _FIELDS}
        d["source_label"] = SOURCE_LABELS.get(self.source, self.source)
        d["review_label"] = REVIEW_LABELS.get(self.review_status, self.review_status)
        for k in ("bound_at", "reviewed_at", "replaced_at", "expected_delivery"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


# what a supervisor signs off: a change to any of these after review is reported
FINGERPRINT_FIELDS = ("order_no", "waybill_no", "carrier", "carrier_code", "source", "bound_at", "bound_by",
                      "expected_delivery", "service", "est_freight")


def binding_fingerprint(values: dict[str, Any] | Binding) -> str:
    """Hash of the reviewed fields; times compare to the minute (the workbook shows minutes)."""
    get = (lambda k: getattr(values, k)) if isinstance(values, Binding) else values.get
    canon = {}
    for k in FINGERPRINT_FIELDS:
        v = get(k)
        if isinstance(v, datetime):
            v = utc_iso(v)[:16]
        elif isinstance(v, date):
            v = v.isoformat()
        canon[k] = "" if v is None else str(v).strip()
    return hashlib.sha256(json.dumps(canon, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:24]


_FIELDS = ("order_no", "waybill_no", "carrier", "carrier_code", "source", "bound_at", "bound_by",
           "expected_delivery", "expected_estimated", "service", "est_freight", "selection_reason", "decided_by",
           "review_status", "reviewed_by", "reviewed_at", "review_fingerprint", "is_current", "replaced_at",
           "replaced_by", "replace_reason", "replaced_with")
_COLS = ", ".join(_FIELDS)
_SELECT = f"SELECT {_COLS}, id FROM bindings"


_LAST_STAMP: list = [None, None]  # (datetime, text): a batch binds 100,000 rows at the same moment


def _stamp(moment: datetime) -> str:
    if _LAST_STAMP[0] is not moment:
        _LAST_STAMP[1] = utc_iso(moment)
        _LAST_STAMP[0] = moment
    return _LAST_STAMP[1]


def _row(b: Binding) -> tuple:
    return (b.order_no, b.waybill_no, b.carrier, b.carrier_code, b.source, _stamp(b.bound_at), b.bound_by,
            b.expected_delivery.isoformat() if b.expected_delivery else None, int(bool(b.expected_estimated)),
            b.service, b.est_freight, b.selection_reason, b.decided_by, b.review_status, b.reviewed_by,
            utc_iso(b.reviewed_at) if b.reviewed_at else None, b.review_fingerprint, int(bool(b.is_current)),
            utc_iso(b.replaced_at) if b.replaced_at else None, b.replaced_by, b.replace_reason, b.replaced_with)


def _binding(r: tuple) -> Binding:
    return Binding(
        order_no=r[0], waybill_no=r[1], carrier=r[2], carrier_code=r[3], source=r[4], bound_at=from_iso(r[5]),
        bound_by=r[6], expected_delivery=date.fromisoformat(r[7]) if r[7] else None,
        expected_estimated=bool(r[8]), service=r[9], est_freight=r[10], selection_reason=r[11], decided_by=r[12],
        review_status=r[13], reviewed_by=r[14], reviewed_at=from_iso(r[15]), review_fingerprint=r[16],
        is_current=bool(r[17]), replaced_at=from_iso(r[18]), replaced_by=r[19], replace_reason=r[20],
        replaced_with=r[21], id=r[22])


def new_batch_id(now: datetime) -> str:
    return f"{now:%Y%m%d%H%M%S}-{socket.gethostname()[:20]}-{os.getpid()}-{os.urandom(3).hex()}"


class WaybillStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def roomy_cache(self, mb: int = 64) -> None:
        """A bigger page cache for this connection while a large batch runs.

        Why: SQLite's default 2 MB cache cannot hold the indexes a 100,000-binding batch touches
        (registry, bindings, orders, audit), so every chunk re-reads and re-writes index pages.
        """
        if isinstance(self.conn, sqlite3.Connection):
            self.conn.execute(f"PRAGMA cache_size = -{int(mb) * 1024}")

    # -- batches and serial blocks ---------------------------------------------------------------
    def open_batch(self, batch_id: str, actor: str, now: datetime) -> None:
        """Record who runs a batch (host, pid) so an abandoned one can be recognised; call inside a transaction."""
        self.conn.execute(
            "INSERT INTO waybill_batches (batch_id, host, pid, actor, started_at, state) VALUES (?, ?, ?, ?, ?, 'open')",
            (batch_id, socket.gethostname(), os.getpid(), actor, utc_iso(now)))

    def close_batch(self, batch_id: str, now: datetime, state: str = "done") -> None:
        """Call inside a transaction."""
        self.conn.execute("UPDATE waybill_batches SET finished_at = ?, state = ? WHERE batch_id = ?",
                          (utc_iso(now), state, batch_id))

    def reserve_serials(self, prefix: str, day: date, count: int) -> int:
        """Take ``count`` consecutive serials for (prefix, day); returns the first. Call inside BEGIN IMMEDIATE.

        Raises SerialsExhausted (nothing taken) when the block would pass 999,999.
        """
        if count < 1:
            raise ValueError("count must be positive")
        key = day.isoformat()
        self.conn.execute("INSERT INTO waybill_counters (prefix, day, last_serial) VALUES (?, ?, 0) "
                          "ON CONFLICT (prefix, day) DO NOTHING", (prefix, key))
        cur = self.conn.execute("UPDATE waybill_counters SET last_serial = last_serial + ? "
                                "WHERE prefix = ? AND day = ? AND last_serial + ? <= ?",
                                (count, prefix, key, count, MAX_SERIAL))
        last = self.conn.execute("SELECT last_serial FROM waybill_counters WHERE prefix = ? AND day = ?",
                                 (prefix, key)).fetchone()[0]
        if cur.rowcount != 1:
            left = MAX_SERIAL - last
            raise SerialsExhausted(
                f"单号前缀 {prefix} 在 {day:%Y-%m-%d} 的自动流水号不够: 还剩 {left} 个, 本次需要 {count} 个 (每天最多 {MAX_SERIAL} 个)",
                "请改用物流商下发的单号 (xl-logistics bind), 或在配置中换用另一个单号前缀, 或分到次日再分配")
        return last - count + 1

    def bump_counter(self, prefix: str, day: date, serial: int) -> None:
        """A hand-entered number of our own shape: automatic serials continue after it. Inside a transaction."""
        key = day.isoformat()
        self.conn.execute("INSERT INTO waybill_counters (prefix, day, last_serial) VALUES (?, ?, ?) "
                          "ON CONFLICT (prefix, day) DO UPDATE SET last_serial = "
                          "CASE WHEN waybill_counters.last_serial < excluded.last_serial "
                          "THEN excluded.last_serial ELSE waybill_counters.last_serial END",
                          (prefix, key, serial))

    def last_serial(self, prefix: str, day: date) -> int:
        row = self.conn.execute("SELECT last_serial FROM waybill_counters WHERE prefix = ? AND day = ?",
                                (prefix, day.isoformat())).fetchone()
        return int(row[0]) if row else 0

    def register(self, numbers: Iterable[tuple[str, str | None, str | None]], state: str, source: str,
                 batch_id: str | None, now: datetime) -> None:
        """Register (waybill_no, carrier_code, order_no) rows; the primary key refuses any number seen before.

        Call inside a transaction; an IntegrityError aborts it.
        """
        stamp = utc_iso(now)
        self.conn.executemany(
            "INSERT INTO waybill_registry (waybill_no, state, source, carrier_code, order_no, batch_id, "
            "registered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(n, state, source, c, o, batch_id, stamp, stamp) for n, c, o in numbers])

    def registry_entry(self, waybill_no: str) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT waybill_no, state, source, carrier_code, order_no, batch_id, registered_at "
                              "FROM waybill_registry WHERE waybill_no = ?", (waybill_no,)).fetchone()
        if r is None:
            return None
        return dict(waybill_no=r[0], state=r[1], source=r[2], carrier_code=r[3], order_no=r[4], batch_id=r[5],
                    registered_at=r[6])

    def registry_counts(self, batch_id: str | None = None) -> dict[str, int]:
        sql = "SELECT state, COUNT(*) FROM waybill_registry" + (" WHERE batch_id = ?" if batch_id else "")
        return dict(self.conn.execute(sql + " GROUP BY state", (batch_id,) if batch_id else ()).fetchall())

    def claimed_orders(self) -> set[str]:
        """Orders a number is reserved for or currently bound to: not to be allocated again."""
        rows = self.conn.execute("SELECT order_no FROM waybill_registry WHERE state = ? AND order_no IS NOT NULL "
                                 "UNION SELECT order_no FROM bindings WHERE is_current = 1", (RESERVED,))
        return {r[0] for r in rows}

    def unclaimed_orders(self, status: str) -> list[tuple[str, dict[str, Any]]]:
        """(order_no, fields) of orders in ``status`` with no reserved or current number, by order number.

        Why not ``OrderRecords.all``: allocation needs only these two columns, and decoding every
        record's problems and times cost seconds on a 100,000-order batch.
        """
        rows = self.conn.execute(
            "SELECT order_no, fields FROM orders WHERE status = ? AND order_no NOT IN ("
            "SELECT order_no FROM waybill_registry WHERE state = ? AND order_no IS NOT NULL "
            "UNION SELECT order_no FROM bindings WHERE is_current = 1) ORDER BY order_no", (status, RESERVED))
        loads = json.loads
        return [(o, loads(f) if f else {}) for o, f in rows]

    def void_abandoned(self, now: datetime, actor: str, *, is_alive: Callable[[int], bool] = pid_alive,
                       stale_after: timedelta = ABANDONED_AFTER) -> list[str]:
        """Numbers reserved by batches whose process is gone become void (never reused, never bound).

        A batch on this host is abandoned when its process no longer runs; one on another host when it
        started longer than ``stale_after`` ago. Opens its own transaction; returns the voided numbers.
        """
        host = socket.gethostname()
        voided: list[str] = []
        with self.store.transaction():
            rows = self.conn.execute("SELECT batch_id, host, pid, started_at FROM waybill_batches "
                                     "WHERE state = 'open'").fetchall()
            for batch_id, b_host, pid, started in rows:
                if b_host == host:
                    if pid == os.getpid() or is_alive(int(pid)):
                        continue
                elif now - from_iso(started) < stale_after:
                    continue
                numbers = [r[0] for r in self.conn.execute(
                    "SELECT waybill_no FROM waybill_registry WHERE batch_id = ? AND state = ?", (batch_id, RESERVED))]
                self.conn.execute("UPDATE waybill_registry SET state = ?, updated_at = ? WHERE batch_id = ? AND state = ?",
                                  (VOID, utc_iso(now), batch_id, RESERVED))
                self.close_batch(batch_id, now, "abandoned")
                self.store.audit(now, actor, "waybill:void", "batch", batch_id,
                                 {"count": len(numbers), "first": numbers[:1], "last": numbers[-1:],
                                  "why": "分配中断, 预留单号作废"})
                voided.extend(numbers)
        return voided

    # -- bindings --------------------------------------------------------------------------------
    def insert_bindings(self, bindings: list[Binding]) -> None:
        """Call inside a transaction; the partial unique indexes refuse a second current binding."""
        self.conn.executemany(f"INSERT INTO bindings ({_COLS}) VALUES ({', '.join('?' * len(_FIELDS))})",
                              [_row(b) for b in bindings])

    def mark_bound(self, batch_id: str, waybills: list[str], now: datetime) -> int:
        """Reserved → bound for these numbers of this batch; returns how many changed. Inside a transaction."""
        stamp = utc_iso(now)
        cur = self.conn.executemany(
            "UPDATE waybill_registry SET state = ?, updated_at = ? WHERE waybill_no = ? AND batch_id = ? AND state = ?",
            [(BOUND, stamp, w, batch_id, RESERVED) for w in waybills])
        return cur.rowcount

    def set_state(self, waybill_no: str, state: str, now: datetime) -> None:
        self.conn.execute("UPDATE waybill_registry SET state = ?, updated_at = ? WHERE waybill_no = ?",
                          (state, utc_iso(now), waybill_no))

    def current(self, order_no: str) -> Binding | None:
        r = self.conn.execute(_SELECT + " WHERE order_no = ? AND is_current = 1", (order_no,)).fetchone()
        return _binding(r) if r else None

    def current_by_waybill(self, waybill_no: str) -> Binding | None:
        r = self.conn.execute(_SELECT + " WHERE waybill_no = ? AND is_current = 1", (waybill_no,)).fetchone()
        return _binding(r) if r else None

    def all_current(self) -> list[Binding]:
        return [_binding(r) for r in self.conn.execute(_SELECT + " WHERE is_current = 1 ORDER BY id")]

    def history(self, order_no: str | None = None) -> list[Binding]:
        sql = _SELECT + " WHERE is_current = 0" + (" AND order_no = ?" if order_no else "") + " ORDER BY id"
        return [_binding(r) for r in self.conn.execute(sql, (order_no,) if order_no else ())]

    def bound_between(self, start: datetime, end: datetime, *, current_only: bool = True) -> list[Binding]:
        sql = _SELECT + " WHERE bound_at >= ? AND bound_at < ?" + (" AND is_current = 1" if current_only else "")
        return [_binding(r) for r in self.conn.execute(sql + " ORDER BY id", (utc_iso(start), utc_iso(end)))]

    def retire(self, binding: Binding, now: datetime, by: str, reason: str, new_waybill: str) -> None:
        """The current binding becomes history with who/when/why. Inside a transaction."""
        self.conn.execute("UPDATE bindings SET is_current = 0, replaced_at = ?, replaced_by = ?, replace_reason = ?, "
                          "replaced_with = ? WHERE id = ?", (utc_iso(now), by, reason, new_waybill, binding.id))
        self.set_state(binding.waybill_no, REPLACED, now)

    def mark_reviewed(self, bindings: list[Binding], by: str, now: datetime) -> None:
        """Inside a transaction."""
        self.conn.executemany(
            "UPDATE bindings SET review_status = ?, reviewed_by = ?, reviewed_at = ?, review_fingerprint = ? WHERE id = ?",
            [(REVIEWED, by, utc_iso(now), binding_fingerprint(b), b.id) for b in bindings])

    def reviewed(self) -> list[Binding]:
        return [_binding(r) for r in self.conn.execute(_SELECT + " WHERE review_status = ? ORDER BY id", (REVIEWED,))]

    def audit_many(self, now: datetime, actor: str, action: str, entity: str,
                   items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Many audit entries in one statement (a 100,000-order batch). Inside a transaction."""
        stamp = utc_iso(now)
        encode = _AUDIT_JSON.encode
        self.conn.executemany(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [(stamp, actor, action, entity, eid, encode(detail)) for eid, detail in items])

    def set_carrier(self, waybill_no: str, carrier_code: str) -> None:
        """The registry names another carrier for this number (a carrier correction). Inside a transaction."""
        self.conn.execute("UPDATE waybill_registry SET carrier_code = ? WHERE waybill_no = ?",
                          (carrier_code, waybill_no))


# one encoder for a whole batch (json.dumps with options builds a new one per call)
_AUDIT_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


def changed_after_review(store: Store) -> list[dict[str, Any]]:
    """Reviewed bindings whose reviewed fields changed afterwards (store side), for ``doctor`` and ``review``.

    Kinds: ``changed`` (a current binding no longer matches its fingerprint) and ``rebound`` (a reviewed
    binding was re-bound after sign-off).
    """
    found = []
    for b in WaybillStore(store).reviewed():
        if b.is_current and b.review_fingerprint != binding_fingerprint(b):
            found.append({"kind": "changed", "order_no": b.order_no, "waybill_no": b.waybill_no,
                          "reviewed_by": b.reviewed_by, "reviewed_at": b.reviewed_at.isoformat() if b.reviewed_at else None,
                          "message": f"订单 {b.order_no} 的绑定 {b.waybill_no} 在 {b.reviewed_by} 审核后被修改: 请重新审核"})
        elif not b.is_current and b.replaced_at and b.reviewed_at and b.replaced_at >= b.reviewed_at:
            found.append({"kind": "rebound", "order_no": b.order_no, "waybill_no": b.waybill_no,
                          "new_waybill": b.replaced_with, "reviewed_by": b.reviewed_by,
                          "reviewed_at": b.reviewed_at.isoformat(),
                          "message": f"订单 {b.order_no} 审核后由 {b.replaced_by} 换绑 {b.waybill_no} → {b.replaced_with}"
                                     f" (原因: {b.replace_reason}): 请重新审核"})
    return found


__all__ = ["AUTO", "BOUND", "Binding", "CARRIER_API", "MANUAL", "MAX_SERIAL", "PENDING", "REPLACED", "RESERVED",
           "REVIEWED", "SOURCE_LABELS", "SerialsExhausted", "VOID", "WaybillStore", "WaybillTaken",
           "binding_fingerprint", "changed_after_review", "new_batch_id"]
