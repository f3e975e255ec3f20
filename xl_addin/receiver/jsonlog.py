"""Structured logs for the receiver: one JSON object per line, easy to grep and to ship.

Never logged: the ``sign``, the salt, or the raw body (it carries customers' addresses).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TextIO

LOGGER_NAME = "xl_addin.receiver"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


#: a buffered log line reaches its file or stream within this many seconds
FLUSH_EVERY_S = 0.5
_MAX_LINES = 2000  # written at once when this many have gathered


class BufferedLines(logging.Handler):
    """JSON lines gathered in memory and written together — at least every ``FLUSH_EVERY_S`` seconds (a
    background thread), when ``_MAX_LINES`` have gathered, at once for an error, and on ``flush``/``close``
    (the receiver's stop, the interpreter's exit) — instead of one write (and flush) per push. A killed
    process loses at most the last half second of log lines; the store is not touched by logging."""

    def __init__(self, open_stream: Callable[[], TextIO], *, close_stream: bool, interval: float = FLUSH_EVERY_S):
        super().__init__()
        self._open_stream = open_stream
        self._stream: TextIO | None = open_stream()
        self._close_stream = close_stream
        self._lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_every, args=(interval,), name="receiver-log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)  # under the handler's lock (``handle`` holds it), as the flush below
        if record.levelno >= logging.ERROR or len(self._lines) >= _MAX_LINES:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # an RLock: emit may flush while holding it
            lines, self._lines = self._lines, []
            if not lines:
                return
            try:
                if self._stream is None:
                    self._stream = self._open_stream()
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except Exception:  # a full disk or a closed stderr must not stop the receiver
                pass

    def _flush_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        if self._close_stream and self._stream is not None:
            try:
                self._stream.close()
            except Exception:
                pass
            self._stream = None
        super().close()


def receiver_logger(path: Path | None = None, stream: TextIO | None = sys.stderr) -> logging.Logger:
    """The receiver's logger, writing JSON lines to ``path`` and/or ``stream`` (set up once per target),
    buffered (``BufferedLines``)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    have = {getattr(h, "_xl_target", None) for h in logger.handlers}
    targets: list[tuple[str, logging.Handler]] = []
    if path is not None and str(path) not in have:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_path = path
        targets.append((str(path), BufferedLines(lambda: open(file_path, "a", encoding="utf-8"), close_stream=True)))
    if stream is not None and "stream" not in have:
        out = stream
        targets.append(("stream", BufferedLines(lambda: out, close_stream=False)))
    for target, handler in targets:
        handler.setFormatter(JsonLineFormatter())
        handler._xl_target = target  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return logger


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, name, extra={"fields": fields})


def flush_log(logger: logging.Logger) -> None:
    """Write out every buffered line now."""
    for h in logger.handlers:
        h.flush()
