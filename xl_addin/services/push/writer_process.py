"""The push writer in its own process, so storing pushes runs on a second core instead of sharing one
interpreter lock with the HTTP threads (in one process the writer waits for the lock after every SQL call
while dozens of request threads hold it: it then stores at a fraction of its own speed).

Same contract as ``PushWriter`` (it is used inside the child): request threads check the signature and hand
the exact ``param`` text over a pipe (a short string pickles in microseconds; parsing and building the push
happen in the child, off the HTTP process's interpreter lock) and wait — pushes submitted while another
thread is sending go over with the next message, one pickle and one write for all of them. The child parses,
stores a batch in one transaction (one statement per table, ``batch.store_batch``), commits (fsync,
``synchronous=FULL``), and only then sends the verdicts back, one message per batch; the parent runs
``after_commit`` and then answers. A push is acknowledged only after the commit holding it returned in the
child. If the child dies, every waiting request is answered non-success (Kuaidi100 sends those again); if
the parent dies, the child sees the pipe close and exits.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from xl_addin.services.push.ingest import PushVerdict, VerifiedPush
from xl_addin.services.push.writer import ANSWER_WITHIN_S, MAX_BATCH

log = logging.getLogger(__name__)

STARTUP_S = 60.0


class _Waiting:
    """One request waiting for its batch: a lock held until the answer is in (lighter than an Event)."""

    __slots__ = ("lock", "verdict")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.verdict: PushVerdict | None = None


def _refused(detail: str) -> PushVerdict:
    return PushVerdict("error", False, detail=detail)


class PushWriterProcess:
    def __init__(self, store_file: Path, *, resubscribe_on_abort: bool = True, refresh_interval: Any = None,
                 max_batch: int = MAX_BATCH, answer_within: float = ANSWER_WITHIN_S,
                 after_commit: Callable[[list[PushVerdict]], None] | None = None, tz: Any = None):
        self.store_file = Path(store_file)
        self.tz = tz  # the desk's zone, for carrier times without one (parsed in the child)
        self._kw: dict[str, Any] = {"resubscribe_on_abort": resubscribe_on_abort}
        if refresh_interval is not None:
            self._kw["refresh_interval"] = refresh_interval
        self.max_batch = max_batch
        self.answer_within = answer_within
        self.after_commit = after_commit
        self._ids = itertools.count(1)
        self._waiting: dict[int, _Waiting] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._outbox: deque[tuple[int, str, datetime]] = deque()  # submitted, not yet sent to the child
        self._conn: Any = None
        self._proc: Any = None
        self._reader: threading.Thread | None = None
        self._dead = False
        self.batches = 0
        self.largest_batch = 0

    def start(self) -> "PushWriterProcess":
        with self._lock:
            if self._proc is None:
                ctx = multiprocessing.get_context("spawn")
                ours, theirs = ctx.Pipe(duplex=True)
                self._proc = ctx.Process(target=_child_main, name="push-writer",
                                         args=(theirs, str(self.store_file), self._kw, self.max_batch, self.tz),
                                         daemon=True)
                self._proc.start()
                theirs.close()
                self._conn = ours
                if not ours.poll(STARTUP_S) or ours.recv() != "ready":  # store open in the child
                    self._proc.terminate()
                    raise RuntimeError(f"推送写入进程 {STARTUP_S:g} 秒内未能打开数据库")
                self._reader = threading.Thread(target=self._read_answers, name="push-writer-answers", daemon=True)
                self._reader.start()
        return self

    def submit(self, push: "VerifiedPush | str", now: datetime) -> PushVerdict:
        """Store one push whose signature held — its ``param`` text (the child parses it) or a
        ``VerifiedPush`` — and answer once the commit holding it has returned in the child."""
        if self._proc is None:
            self.start()
        param = push.param if isinstance(push, VerifiedPush) else push
        key = next(self._ids)
        item = _Waiting()
        self._waiting[key] = item  # one dict store: atomic under the interpreter lock
        if self._dead:  # checked after registering: the reader marks death before it answers what waits
            self._waiting.pop(key, None)
            return _refused("写入进程已退出，未确认（快递100 会重发）")
        outbox = self._outbox
        outbox.append((key, param, now))  # a deque: append and popleft are atomic
        with self._send_lock:  # whoever holds the lock sends everything queued by then, as one message: ours
            out = []           # went out with an earlier holder's message, or it is still queued for us
            while outbox:
                out.append(outbox.popleft())
            if out:
                try:
                    self._conn.send(out)
                except (OSError, ValueError) as exc:
                    self._refuse([k for k, _p, _n in out], f"写入进程不可用：{exc}")
        if not item.lock.acquire(timeout=self.answer_within):
            self._waiting.pop(key, None)  # answered non-success; if stored later, the re-sent copy is a repeat
            return _refused(f"{self.answer_within:g} 秒内未能入库，未确认（快递100 会重发）")
        assert item.verdict is not None
        return item.verdict

    def _refuse(self, keys: list[int], detail: str) -> None:
        for key in keys:
            item = self._waiting.pop(key, None)
            if item is not None:
                item.verdict = _refused(detail)
                item.lock.release()

    def _read_answers(self) -> None:
        conn = self._conn
        while True:
            try:
                keys, rows = conn.recv()
            except (EOFError, OSError):
                break
            verdicts = [PushVerdict(*r) for r in rows]
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(keys))
            if self.after_commit is not None:
                self.after_commit(verdicts)  # before anyone is answered (counters, test-only crash point)
            for key, verdict in zip(keys, verdicts):
                item = self._waiting.pop(key, None)
                if item is not None:
                    item.verdict = verdict
                    item.lock.release()
        self._dead = True
        with self._lock:  # the child is gone: whatever waits was not acknowledged
            left, self._waiting = list(self._waiting.values()), {}
        for item in left:
            item.verdict = _refused("写入进程已退出，未确认（快递100 会重发）")
            item.lock.release()

    def close(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        try:
            with self._send_lock:
                self._conn.send(None)
        except (OSError, ValueError):
            pass
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(2)
        if self._reader is not None:
            self._reader.join(2)
        try:
            self._conn.close()
        except OSError:
            pass
        self._proc = None


def _answer_of(item: Any) -> PushVerdict:
    """A refusal made before storing, or a stored push's verdict (none: not stored, not acknowledged)."""
    if isinstance(item, PushVerdict):
        return item
    return item.verdict if item.verdict is not None else _refused("未能入库，未确认（快递100 会重发）")


def _child_main(conn: Any, store_file: str, kw: dict[str, Any], max_batch: int, tz: Any = None) -> None:
    """The child: parse each signed ``param``, then one ``PushWriter`` used synchronously (batch →
    savepoints → commit → verdicts back, as plain tuples). A push that does not parse is answered
    malformed without touching the store.

    It opens the SQLite file the parent resolved (settings and environment are not re-read here)."""
    from xl_addin.adapters.store import open_store
    from xl_addin.services.push.ingest import parse_signed
    from xl_addin.services.push.writer import PushWriter, _Pending

    writer = PushWriter(lambda: open_store(Path(store_file), create=False), max_batch=max_batch, **kw)
    writer.open()
    conn.send("ready")
    try:
        while True:
            try:
                first = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if first is None:
                return
            batch = list(first)  # one message: the pushes submitted while the previous one was being sent
            stop = False
            while len(batch) < max_batch and conn.poll(0):
                nxt = conn.recv()
                if nxt is None:
                    stop = True
                    break
                batch += nxt
            verdicts: list[Any] = []
            pending: list[_Pending] = []
            for _key, param, now in batch:
                parsed = parse_signed(param, tz=tz)
                if isinstance(parsed, PushVerdict):
                    verdicts.append(parsed)
                else:
                    p = _Pending(parsed, now)
                    pending.append(p)
                    verdicts.append(p)
            if pending:
                writer._write(pending)
            rows = [_answer_of(v).as_tuple() for v in verdicts]
            conn.send(([k for k, _p, _n in batch], rows))
            if stop:
                return
    finally:
        writer.close()
