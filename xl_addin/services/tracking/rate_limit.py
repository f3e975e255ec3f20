"""The provider's request rate, shared by every worker of a run."""

from __future__ import annotations

import threading
import time as _time
from typing import Callable

class RateLimiter:
    """Request slots at exact multiples of 1/rate from the first request (t = 0), shared by all workers.

    A worker that wakes late does not push the later slots back, so the run keeps to N / rate
    instead of drifting; after a stall longer than ``max_lag`` the schedule restarts from now
    rather than letting a burst through."""

    def __init__(self, rate: float, max_lag: float = 1.0, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.max_lag = max_lag
        self._clock = clock or _time.monotonic
        self._sleep = sleep or _time.sleep
        self._start: float | None = None
        self._slots = 0
        self.lost = 0.0  # seconds of schedule given up after stalls (shows a run that could not keep up)
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
            slot = self._start + self._slots * self.interval
            if now - slot > self.max_lag:
                self.lost += now - slot - self.max_lag
                self._start += now - slot - self.max_lag
                slot = now - self.max_lag
            self._slots += 1
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)
