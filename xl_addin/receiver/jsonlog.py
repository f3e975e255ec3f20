"""Structured logs for the receiver: one JSON object per line, easy to grep and to ship.

Never logged: the ``sign``, the salt, or the raw body (it carries customers' addresses).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

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


def receiver_logger(path: Path | None = None, stream: TextIO | None = sys.stderr) -> logging.Logger:
    """The receiver's logger, writing JSON lines to ``path`` and/or ``stream`` (set up once per target)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    have = {getattr(h, "_xl_target", None) for h in logger.handlers}
    targets: list[tuple[str, logging.Handler]] = []
    if path is not None and str(path) not in have:
        path.parent.mkdir(parents=True, exist_ok=True)
        targets.append((str(path), logging.FileHandler(path, encoding="utf-8")))
    if stream is not None and "stream" not in have:
        targets.append(("stream", logging.StreamHandler(stream)))
    for target, handler in targets:
        handler.setFormatter(JsonLineFormatter())
        handler._xl_target = target  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return logger


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, name, extra={"fields": fields})
