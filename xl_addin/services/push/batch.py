"""Store a whole batch of pushes with one statement per table — the push writer's usual path.

Per push, ``store_push`` reads the receipt, the waybill's tracking row, its nodes and its subscription and
writes about a dozen statements. Here the batch's receipts, tracking rows, subscriptions, stored event keys
and nodes are read once; each push is then decided in memory exactly as ``store_push`` would decide it at
its turn (a batch may hold several pushes for one waybill, repeated and out of order: what an earlier push of
the batch stored counts for a later one), and what it stores is collected per table and written with one
``executemany`` each (``adapters/store/push_batch.py``), rows in the pushes' order. The result — rows,
event keys, verdicts — is the one of storing the pushes one after the other.

A push this path does not decide itself — an abort, a carrier correction, a 转投 node, a signing (the order
is completed in the same transaction, issue 14), a store that changes under it — is handed to
``store_push`` at its turn, under its own savepoint: what the batch collected before it is written first,
and what comes after it is read again. If anything on the batch path fails, its savepoint rolls all of it
back and the caller stores the batch push by push, each under its own savepoint, so one bad push is
refused alone. All of it happens inside the writer's transaction: nothing is answered before its commit.
"""

from __future__ import annotations

import itertools
import logging
from bisect import insort
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator

from xl_addin.adapters.store.push_batch import BatchWrites, PushBatchStore, StatusNode
from xl_addin.adapters.store.store import utc_iso
from xl_addin.adapters.store.subscriptions import pushed_row
from xl_addin.adapters.store.tracking import event_row, latest_and_newest, register_row, status_update
from xl_addin.domain.tracking.forwarding import is_forwarded
from xl_addin.domain.tracking.status import MainStatus, is_final
from xl_addin.services.push.ingest import (REPEAT_DETAIL, RESEND_WINDOW, UNKNOWN_DETAIL, PushVerdict, VerifiedPush,
                                           store_push)

log = logging.getLogger(__name__)


def _node_order(n: StatusNode) -> tuple[str, int]:
    return n.time_text, n.seq


class SavepointStore:
    """The writer's store seen by one push: ``transaction()`` is a savepoint inside the batch's
    transaction, so the push code keeps its own transaction boundaries unchanged. A transaction opened
    inside that one adds no savepoint of its own: an error in it propagates (nothing on the push path
    catches one and goes on), so the push's savepoint rolls all of it back anyway."""

    _names = itertools.count(1)

    def __init__(self, store: Any):
        self._store = store
        self._depth = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[Any]:
        conn = self._store.conn
        if self._depth:
            self._depth += 1
            try:
                yield conn
            finally:
                self._depth -= 1
            return
        name = f"push_{next(self._names)}"
        conn.execute(f"SAVEPOINT {name}")
        self._depth = 1
        try:
            yield conn
        except BaseException:
            self._depth = 0
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self._depth = 0
            conn.execute(f"RELEASE SAVEPOINT {name}")


def store_alone(store: Any, verified: VerifiedPush, now: datetime, **kw: Any) -> PushVerdict:
    """One push under its own savepoint inside the writer's transaction: if it fails it is rolled back alone
    and answered non-success (not acknowledged, Kuaidi100 sends it again)."""
    view = SavepointStore(store)
    try:
        with view.transaction():
            return store_push(view, verified, now, locked=True, **kw)
    except Exception as exc:
        log.exception("push ingestion failed")
        return PushVerdict("error", False, verified.push.waybill_no, verified.push.status,
                           detail=f"{type(exc).__name__}: {exc}")


def store_batch(store: Any, items: list[tuple[VerifiedPush, datetime]], *, resubscribe_on_abort: bool = True,
                refresh_interval: timedelta = timedelta(hours=2)) -> list[PushVerdict]:
    """Verdicts in the order of ``items``; inside the writer's transaction. Raises when the batch path
    fails (after rolling all of it back): the caller then stores the pushes one by one."""
    db = PushBatchStore(store)
    verdicts: list[PushVerdict] = []
    with db.savepoint():
        i, n = 0, len(items)
        while i < n:
            if not _changes_more(items[i][0]):
                batch = _Batch(db, items[i:], refresh_interval)
                while i < n:
                    verdict = batch.take(*items[i])
                    if verdict is None:
                        break
                    verdicts.append(verdict)
                    i += 1
                db.write(batch.writes)
            if i < n:  # left to store_push, at its turn; what follows is read again
                verdicts.append(store_alone(store, *items[i], resubscribe_on_abort=resubscribe_on_abort,
                                            refresh_interval=refresh_interval))
                i += 1
    return verdicts


def _changes_more(verified: VerifiedPush) -> bool:
    """An abort or a carrier correction: always stored by ``store_push`` (known before reading anything)."""
    return verified.push.status == "abort" or bool(verified.push.corrected_carrier)


@dataclass
class _Waybill:
    final: bool | None  # None: not tracked (yet)
    binding: Any  # the current binding of an untracked waybill (tracked from its first push on), or None
    subscribed: bool
    nodes: list[StatusNode] | None  # None: not read (none of the batch's nodes for it is new)


class _Batch:
    """What the store holds for the rest of a batch, kept current as its pushes are taken."""

    def __init__(self, db: PushBatchStore, items: list[tuple[VerifiedPush, datetime]], refresh_interval: timedelta):
        self.db = db
        self.refresh_interval = refresh_interval
        self.writes = BatchWrites()
        self._seq = itertools.count(1 << 62)  # nodes about to be stored come after every stored id
        waybills = list(dict.fromkeys(v.push.waybill_no for v, _now in items))
        self.receipts = db.receipts(list(dict.fromkeys(v.digest for v, _now in items)))
        finals = db.finals(waybills)
        untracked = [w for w in waybills if w not in finals]
        bindings = db.current_bindings(untracked) if untracked else {}
        subscribed = db.subscribed(waybills)
        keys = list(dict.fromkeys(e.event_key for v, _now in items for e in v.push.events))
        self.keys = db.stored_keys(keys) if keys else set()
        touched = [w for w in waybills if w in finals or w in bindings]
        growing = {v.push.waybill_no for v, _now in items if any(e.event_key not in self.keys for e in v.push.events)}
        nodes = db.status_nodes([w for w in touched if w in growing])
        self.waybills = {w: _Waybill(finals.get(w), bindings.get(w), w in subscribed, nodes.get(w)) for w in waybills}

    def take(self, verified: VerifiedPush, now: datetime) -> PushVerdict | None:
        """This push's verdict, its rows collected; None: ``store_push`` stores it (nothing collected)."""
        push = verified.push
        waybill = push.waybill_no
        seen = self.receipts.get(verified.digest)
        if seen is not None and seen >= utc_iso(now - RESEND_WINDOW):
            return PushVerdict("repeat", True, waybill, push.status, detail=REPEAT_DETAIL)
        wb = self.waybills[waybill]
        if wb.final is None and wb.binding is None:
            return PushVerdict("unknown_waybill", True, waybill, push.status, detail=UNKNOWN_DETAIL)
        if _changes_more(verified):
            return None
        new, fresh = [], set()
        for e in push.events:
            k = e.event_key
            if k not in self.keys and k not in fresh:
                fresh.add(k)
                new.append(e)
        final = bool(wb.final)
        if new:
            if any(is_forwarded(e) for e in new):
                return None
            nodes = list(self._nodes(wb, waybill))
            for e in new:
                text = utc_iso(e.time)
                insort(nodes, StatusNode(text, next(self._seq), datetime.fromisoformat(text), e.status, e.sub_status, e.raw_code,
                                         e.context, e.outlet, e.courier, e.carrier_code or ""), key=_node_order)
            latest, newest = latest_and_newest(nodes)
            if latest.status is MainStatus.DELIVERED:  # signed: the order is completed in this transaction
                return None
            final = is_final(latest.status, latest.sub_status)
        # taken: collect what store_push would write, in its order
        w, stamp = self.writes, utc_iso(now)
        if wb.final is None:
            b = wb.binding
            w.register.append(register_row({"waybill_no": b.waybill_no, "order_no": b.order_no,
                                            "carrier_code": b.carrier_code, "expected_delivery": b.expected_delivery,
                                            "bound_at": b.bound_at}, stamp))
        w.receipts.append((verified.digest, waybill, push.status, stamp))
        self.receipts[verified.digest] = stamp
        for e in new:
            w.events.append(event_row(e, stamp))
            w.notices.append((e.event_key, e.waybill_no, stamp))
        self.keys |= fresh
        if new:
            wb.nodes = nodes
            w.statuses.append(status_update(waybill, latest, newest, stamp))
        wb.final = final
        codes = push.unknown_codes
        w.checks.append((push.message or push.status or "push", None if final else utc_iso(now + self.refresh_interval),
                         stamp, stamp, ",".join(codes) if codes else None, waybill))
        if wb.subscribed:
            w.pushed.append(pushed_row(waybill, push.status or "polling", push.message, stamp, None))
        else:  # a signed push for a tracked waybill we have no subscription row for
            w.unsubscribed.append((waybill, push.carrier_code or "", stamp, stamp))
            w.pushed.append(pushed_row(waybill, push.status or "polling", "", stamp, None))
            wb.subscribed = True
        return PushVerdict("ingested", True, waybill, push.status, new_events=len(new))

    def _nodes(self, wb: _Waybill, waybill: str) -> list[StatusNode]:
        if wb.nodes is None:
            wb.nodes = self.db.status_nodes([waybill])[waybill]
        return wb.nodes
