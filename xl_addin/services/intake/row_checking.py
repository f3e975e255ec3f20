"""Checking order rows on every core: parts of a sheet go to worker processes, results come back in row order.

Why: the per-row checks (address parsing, phone metadata, goods matching) are pure functions of a
row and take most of a big check's time, while reading and rewriting the workbook must stay in one
process. A pool costs something too — each worker is a fresh interpreter that imports the checks
and loads their data (about a second on a busy two-core machine) and every part travels there and
back pickled — so one core stays the rule for small sheets (``CheckPlan.parallel_from_rows``) and
wherever the caller does not ask for more (the ribbon runs inside Excel's Python: no pool there).
The reading and rewriting of the workbook stay in the first process and bound what a pool can
gain; on the shared two-core build machine a pool never beat one core (docs/performance.md), so
the pool is off unless a desk sets ``[intake] parallel_from_rows`` (e.g. 50000 on a PC with idle cores).

Workers are started with ``spawn`` on every platform: the same start method as on Windows, where
the add-in runs, and no copy of the parent's threads, open workbook or store connection.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

PARALLEL_FROM_ROWS = 0  # 0: one core unless a desk sets a threshold (measured: docs/performance.md, issue 21)
PART_ROWS = 2_000            # rows per part sent to a worker: small enough to keep both cores busy


@dataclass(frozen=True)
class CheckPlan:
    """How many processes check a sheet's rows (settings ``[intake] parallel_from_rows`` / ``workers``)."""

    parallel_from_rows: int = PARALLEL_FROM_ROWS  # 0: always one core
    workers: int = 0                              # 0: one per core
    part_rows: int = PART_ROWS

    def workers_for(self, rows: int) -> int:
        if self.parallel_from_rows <= 0 or rows < self.parallel_from_rows:
            return 1
        n = self.workers if self.workers > 0 else (os.cpu_count() or 1)
        return max(1, min(n, rows // max(1, self.part_rows)))


ONE_CORE = CheckPlan(parallel_from_rows=0)

_SHARED: Any = None


def _share(value: Any) -> None:  # pool initializer: what every part of this run needs, sent once per worker
    global _SHARED
    _SHARED = value


def _call(fn: Callable, job: Any) -> Any:
    return fn(job, _SHARED)


class _Done:
    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def result(self) -> Any:
        return self._value


class RowCheckers:
    """``fn(job, shared)`` for each job, in this process (one worker) or in a pool of ``workers`` processes.

    ``fn`` must be a module-level function (a pool pickles it by name); ``shared`` goes to each
    worker once. ``ordered`` keeps ``ahead`` jobs in flight and yields the results in job order.
    """

    def __init__(self, fn: Callable, shared: Any, workers: int = 1):
        self.fn, self.shared, self.workers = fn, shared, max(1, workers)
        self._pool = None
        if self.workers > 1:  # imported here: a one-core check (most commands) does not pay for them
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"),
                                             initializer=_share, initargs=(shared,))

    def submit(self, job: Any):
        if self._pool is None:
            return _Done(self.fn(job, self.shared))
        return self._pool.submit(_call, self.fn, job)

    def ordered(self, jobs: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
        """(tag, job) in, (tag, result) out, in the order the jobs came."""
        ahead = 1 if self._pool is None else 2 * self.workers + 1
        pending: deque = deque()
        for tag, job in jobs:
            pending.append((tag, self.submit(job)))
            while len(pending) >= ahead:
                t, fut = pending.popleft()
                yield t, fut.result()
        while pending:
            t, fut = pending.popleft()
            yield t, fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "RowCheckers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
