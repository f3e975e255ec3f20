"""Group commit for the push receiver: one writer thread, one store connection, many pushes per commit.

Request threads verify and parse a push (pure work, in parallel), then hand it to the writer and wait.
The writer takes whatever is queued (up to ``max_batch``) and stores it in one transaction — with one
statement per table for the whole batch (``batch.store_batch``); should that fail, it is rolled back and
the batch is stored again push by push, each under its own savepoint, so a push that fails rolls back
alone and is answered non-success — commits, and only then gives each waiting request its verdict.
So no push is acknowledged before the commit that holds it has returned; if the commit fails, every push
of the batch is answered non-success and Kuaidi100 sends it again (a copy that did get stored is then a
"repeat" and acknowledged).

A request waits at most ``answer_within`` seconds (well under Kuaidi100's 20 s): then it is answered
non-success even if the writer stores it later (the re-sent copy is acknowledged as a repeat).

Durable means: on SQLite the writer's connection runs ``synchronous=FULL`` in WAL mode, so a commit
has reached the disk (fsync) before anyone is answered — it survives a killed process and a power
loss. On PostgreSQL, COMMIT returns after the server's WAL flush (its default ``synchronous_commit``).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from xl_addin.services.push.batch import SavepointStore, store_alone, store_batch  # noqa: F401  (SavepointStore re-exported)
from xl_addin.services.push.ingest import PushVerdict, VerifiedPush

log = logging.getLogger(__name__)

MAX_BATCH = 64
ANSWER_WITHIN_S = 10.0  # Kuaidi100 waits 20 s for an answer
WRITER_BUSY_TIMEOUT_MS = 5000  # another process holding the SQLite write lock: give up well before 20 s


@dataclass
class _Pending:
    verified: VerifiedPush
    now: datetime
    done: threading.Event = field(default_factory=threading.Event)
    verdict: PushVerdict | None = None
    abandoned: bool = False  # the request stopped waiting (answered non-success)


class PushWriter:
    """``submit(verified, now) -> PushVerdict`` from any thread; the store work happens on one thread.

    ``open_store()`` gives the writer's connection; ``after_commit(verdicts)`` runs after each commit and
    before anyone is answered (the service's counters and its test-only crash point)."""

    def __init__(self, open_store: Callable[[], Any], *, resubscribe_on_abort: bool = True,
                 refresh_interval: Any = None, max_batch: int = MAX_BATCH, answer_within: float = ANSWER_WITHIN_S,
                 after_commit: Callable[[list[PushVerdict]], None] | None = None):
        self._open_store = open_store
        self._kw: dict[str, Any] = {"resubscribe_on_abort": resubscribe_on_abort}
        if refresh_interval is not None:
            self._kw["refresh_interval"] = refresh_interval
        self.max_batch = max_batch
        self.answer_within = answer_within
        self.after_commit = after_commit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._store: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.largest_batch = 0

    def open(self) -> "PushWriter":
        """Open the writer's connection without a thread (``_write`` called by the owner)."""
        if self._store is None:
            self._store = self._open_store()
            _tune_for_receiver(self._store)
        return self

    def start(self) -> "PushWriter":
        with self._lock:
            if self._thread is None:
                self.open()
                self._thread = threading.Thread(target=self._run, name="push-writer", daemon=True)
                self._thread.start()
        return self

    def submit(self, verified: VerifiedPush, now: datetime) -> PushVerdict:
        if self._thread is None:
            self.start()
        item = _Pending(verified, now)
        self._queue.put(item)
        if not item.done.wait(self.answer_within):
            item.abandoned = True
            return PushVerdict("error", False, verified.push.waybill_no, verified.push.status,
                               detail=f"{self.answer_within:g} 秒内未能入库，未确认（快递100 会重发）")
        assert item.verdict is not None
        return item.verdict

    def close(self, timeout: float = 10.0) -> None:
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            self._thread = None
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                pass
            self._store = None

    # -- the writer thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending]) -> None:
        store = self._store
        live = [p for p in batch if not p.abandoned]  # its request already answered non-success: re-sent later
        verdicts: list[PushVerdict] = []
        try:
            with store.transaction():
                try:  # the batch path: one statement per table for the whole batch
                    verdicts = store_batch(store, [(p.verified, p.now) for p in live], **self._kw)
                except Exception:  # rolled back as a whole: push by push, so a bad push is refused alone
                    log.warning("batch store failed, storing push by push", exc_info=True)
                    if not getattr(store.conn, "in_transaction", True):
                        raise  # the store ended the transaction itself (disk full, I/O error): nothing to redo in
                    verdicts = [store_alone(store, p.verified, p.now, **self._kw) for p in live]
        except Exception as exc:  # BEGIN (store busy) or COMMIT failed: nothing of this batch is durable
            log.exception("push batch commit failed")
            failed = [PushVerdict("error", False, p.verified.push.waybill_no, p.verified.push.status,
                                  detail=f"{type(exc).__name__}: {exc}") for p in live]
            self._answer(live, failed)
            _reset(store)
            return
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(live))
        if self.after_commit is not None:
            self.after_commit(verdicts)
        self._answer(live, verdicts)

    @staticmethod
    def _answer(items: list[_Pending], verdicts: list[PushVerdict]) -> None:
        for p, v in zip(items, verdicts):
            p.verdict = v
            p.done.set()


def _tune_for_receiver(store: Any) -> None:
    """SQLite only (PRAGMAs are no-ops on PostgreSQL): fsync every commit, and a bounded wait for the
    write lock instead of the default 30 s, so a locked store is answered non-success in time."""
    if getattr(store, "dialect", "sqlite") != "sqlite":
        return
    store.conn.execute("PRAGMA synchronous=FULL")
    store.conn.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")


def _reset(store: Any) -> None:
    """After a failed COMMIT SQLite may still be inside the transaction: end it."""
    try:
        in_tx = getattr(store.conn, "in_transaction", False)
        if in_tx:
            store.conn.execute("ROLLBACK")
    except Exception:
        log.exception("rollback after failed batch")
