"""The push writer's batch path in the state store: what a batch of pushes needs is read with one query per
table for the whole batch, and what it stores is written with one ``executemany`` per table and commit
(receipts, nodes, notice queue, status, check schedule, subscriptions), in the order the pushes came.

The statements and their parameters are the per-push path's own (``subscriptions``, ``tracking``), so the
rows come out identical; only the check schedule uses one statement where ``record_check`` builds one of
two (``unknown_codes`` is kept when a push names none, exactly as there). Portable SQL.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, NamedTuple

from xl_addin.adapters.store.store import Store
from xl_addin.adapters.store.subscriptions import NOTICE_SQL, PUSHED_SQL, RECEIPT_SQL, UNSUBSCRIBED_SQL
from xl_addin.adapters.store.tracking import INSERT_EVENT_SQL, REFRESH_STATUS_SQL, REGISTER_SQL, _enum
from xl_addin.adapters.store.waybills import _SELECT as _BINDING_SELECT
from xl_addin.adapters.store.waybills import Binding, _binding
from xl_addin.domain.tracking.status import MainStatus, SubStatus

_CHUNK = 500
PUSH_CHECK_SQL = ("UPDATE waybill_status SET last_outcome = 'push', last_message = ?, next_check_at = ?, "
                  "updated_at = ?, last_checked_at = ?, unknown_codes = COALESCE(?, unknown_codes) "
                  "WHERE waybill_no = ?")


class StatusNode(NamedTuple):
    """What ``TrackingStore.refresh_status`` reads of a node: stored ones in stored order (time text, id);
    a node about to be stored gets a ``seq`` above every stored id."""

    time_text: str
    seq: int
    time: datetime
    status: MainStatus
    sub_status: SubStatus
    raw_code: str | None
    context: str
    outlet: str | None
    courier: str | None
    carrier_code: str


@dataclass
class BatchWrites:
    """Statement parameters collected push by push; ``write`` sends each list as one ``executemany``."""

    register: list[tuple] = field(default_factory=list)  # tracking.register_row
    receipts: list[tuple] = field(default_factory=list)  # (digest, waybill, status, received_at)
    events: list[tuple] = field(default_factory=list)  # tracking.event_row
    notices: list[tuple] = field(default_factory=list)  # (event_key, waybill, queued_at)
    statuses: list[tuple] = field(default_factory=list)  # tracking.status_update
    checks: list[tuple] = field(default_factory=list)  # (message, next_check_at, now, now, codes, waybill)
    unsubscribed: list[tuple] = field(default_factory=list)  # (waybill, company, now, now)
    pushed: list[tuple] = field(default_factory=list)  # subscriptions.pushed_row


class PushBatchStore:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """The whole batch path under one savepoint inside the writer's transaction: if anything in it fails,
        none of it stays (the writer then stores the batch push by push)."""
        self.conn.execute("SAVEPOINT push_batch")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO SAVEPOINT push_batch")
            self.conn.execute("RELEASE SAVEPOINT push_batch")
            raise
        else:
            self.conn.execute("RELEASE SAVEPOINT push_batch")

    def _in(self, sql: str, values: list[str], tail: str = "", args: tuple = ()) -> Iterator[tuple]:
        for i in range(0, len(values), _CHUNK):
            part = values[i:i + _CHUNK]
            yield from self.conn.execute(f"{sql} IN ({', '.join('?' * len(part))}){tail}", (*part, *args))

    # -- reading, once per batch ---------------------------------------------------------------------
    def receipts(self, digests: list[str]) -> dict[str, str]:
        """{digest: received_at} of the bodies already taken in (``PushReceipts.seen`` compares the time)."""
        return {d: at for d, at in self._in("SELECT digest, received_at FROM push_receipts WHERE digest", digests)}

    def finals(self, waybills: list[str]) -> dict[str, bool]:
        """{waybill: is_final} of the tracked ones (``TrackingStore.tracked_final``)."""
        return {w: bool(f) for w, f in self._in("SELECT waybill_no, is_final FROM waybill_status WHERE waybill_no",
                                                waybills)}

    def current_bindings(self, waybills: list[str]) -> dict[str, Binding]:
        """{waybill: its current binding} (``WaybillStore.current_by_waybill``)."""
        out: dict[str, Binding] = {}
        for r in self._in(_BINDING_SELECT + " WHERE is_current = 1 AND waybill_no", waybills):
            b = _binding(r)
            out.setdefault(b.waybill_no, b)
        return out

    def subscribed(self, waybills: list[str]) -> set[str]:
        """The waybills with a subscription row."""
        return {r[0] for r in self._in("SELECT waybill_no FROM push_subscriptions WHERE waybill_no", waybills)}

    def stored_keys(self, keys: list[str]) -> set[str]:
        """Which of these event keys are stored already."""
        return {r[0] for r in self._in("SELECT event_key FROM tracking_events WHERE event_key", keys)}

    def status_nodes(self, waybills: list[str]) -> dict[str, list[StatusNode]]:
        """{waybill: its stored nodes as ``refresh_status`` sees them, ordered by time, id}."""
        out: dict[str, list[StatusNode]] = {w: [] for w in waybills}
        unknown, sub_unknown = MainStatus.UNKNOWN, SubStatus.UNKNOWN
        for r in self._in("SELECT waybill_no, time, id, status, sub_status, raw_code, context, outlet, courier, "
                          "carrier_code FROM tracking_events WHERE waybill_no", waybills, " ORDER BY waybill_no, time, id"):
            out[r[0]].append(StatusNode(r[1], r[2], datetime.fromisoformat(r[1]), _enum(MainStatus, r[3], unknown),
                                        _enum(SubStatus, r[4], sub_unknown), r[5], r[6], r[7], r[8], r[9] or ""))
        return out

    # -- writing, once per table and batch -------------------------------------------------------------
    def write(self, w: BatchWrites) -> None:
        """Inside the writer's transaction. Per table the rows keep the pushes' order; the tables' own order
        does not change the result (``waybill_status``: registering comes first, and the status and the check
        schedule set different columns but ``updated_at``, which every push's check sets last)."""
        for sql, rows in ((REGISTER_SQL, w.register), (RECEIPT_SQL, w.receipts), (INSERT_EVENT_SQL, w.events),
                          (NOTICE_SQL, w.notices), (REFRESH_STATUS_SQL, w.statuses), (PUSH_CHECK_SQL, w.checks),
                          (UNSUBSCRIBED_SQL, w.unsubscribed), (PUSHED_SQL, w.pushed)):
            if rows:
                self.conn.executemany(sql, rows)
