"""Write a zip member from a second thread: the deflate and CRC of the rewritten sheet run beside the patching.

Why: the rewritten sheet part of a 100,000-row check is about 140 MB of XML; deflating it (level 1)
and its CRC cost about 1.4 s of CPU, all in the thread that patches the rows. zlib and the file
write release the GIL, so handed to a thread they run on the second core while the first one goes
on patching. The bytes written are exactly the same, in the same order (one consumer, FIFO queue).

Small writes are gathered into pieces of at least ``PIECE`` bytes so the queue sees few items; at
most ``DEPTH`` pieces wait, which bounds the memory to a few tens of MB.
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

PIECE = 4 * 1024 * 1024
DEPTH = 2
_STOP = object()


class BackgroundWriter:
    """A file-like ``write`` that passes the bytes, in order, to ``dst.write`` in a worker thread.

    ``close()`` waits for every byte to be written and raises what the worker raised (also on
    the next ``write``); ``abort()`` stops the worker after what is queued, raising nothing.
    """

    def __init__(self, dst: BinaryIO, piece: int = PIECE, depth: int = DEPTH):
        self._dst = dst
        self._piece = piece
        self._pending: list[bytes] = []
        self._size = 0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="xl-sheet-deflate", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        write = self._dst.write
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None:
                try:
                    write(item)
                except BaseException as exc:  # handed to the writing thread at its next write or close
                    self._error = exc

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        n = len(data)
        if n:
            self._pending.append(data)
            self._size += n
            if self._size >= self._piece:
                self._flush()
        return n

    def _flush(self) -> None:
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending, self._size = [], 0
            self._queue.put(data)

    def close(self) -> None:
        self._flush()
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        self._pending, self._size = [], 0
        self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
