"""Named moments inside a job where the robustness tests stop it: killed there, or paused there.

Why: a race or a kill window that only shows under load cannot be tested by sleeping and hoping. A job
calls ``checkpoint("stage:moment")`` at the few places that matter (between a store write and the
workbook write that goes with it, say); with neither variable set that is one dictionary lookup.

- ``XL_LOGISTICS_KILL_AT=<name>[,<name>…]``: SIGKILL this process the first time it reaches one of them.
- ``XL_LOGISTICS_PAUSE_AT=<name>`` with ``XL_LOGISTICS_PAUSE_DIR=<folder>``: on reaching it, create
  ``<folder>/<name>.paused`` and wait (at most ``XL_LOGISTICS_PAUSE_MAX`` seconds, default 300) until
  ``<folder>/<name>.go`` exists, then go on. Other jobs run meanwhile; the paused job keeps its locks.

Names in use: ``validate:before_save``, ``ledger:history_appended``, ``ledger:staff_case_created``, and
the archive's ``archive:<point>`` (``before_manifest``, ``during_remove:orders``, … in services/closing/archive.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

KILL_ENV = "XL_LOGISTICS_KILL_AT"
PAUSE_ENV = "XL_LOGISTICS_PAUSE_AT"
PAUSE_DIR_ENV = "XL_LOGISTICS_PAUSE_DIR"
PAUSE_MAX_ENV = "XL_LOGISTICS_PAUSE_MAX"


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def checkpoint(name: str) -> None:
    env = os.environ
    kill = env.get(KILL_ENV)
    if kill and name in kill.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
    if env.get(PAUSE_ENV) == name and env.get(PAUSE_DIR_ENV):
        folder = Path(env[PAUSE_DIR_ENV])
        (folder / f"{_file_name(name)}.paused").write_text(str(os.getpid()), encoding="utf-8")
        go = folder / f"{_file_name(name)}.go"
        try:
            limit = float(env.get(PAUSE_MAX_ENV, "") or 300)
        except ValueError:
            limit = 300.0
        deadline = time.monotonic() + limit
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
