"""Logging to a rotating file: users see short messages, the log keeps tracebacks."""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "xl-logistics.log"
_configured: Path | None = None


def default_log_dir() -> Path:
    """Log folder when no desk is at hand (e.g. checking a loose workbook)."""
    base = os.environ.get("XL_LOGISTICS_HOME") or str(Path.home() / ".xl-logistics")
    return Path(base) / "logs"


def setup_logging(log_dir: Path) -> Path:
    """Send the package's log records to ``log_dir``; returns the log file path."""
    global _configured
    path = Path(log_dir) / LOG_NAME
    if _configured == path:
        return path
    logger = logging.getLogger("xl_addin")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _configured = path
    return path
