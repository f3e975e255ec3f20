"""Measure one step in a fresh process and print our figure beside its baseline from the same run.

Why a fresh process per step: peak memory (the kernel's high-water mark of the
resident set) only goes up within a process, so a step measured after another
would inherit the other's peak, and warm imports would flatter later steps.
The harness reports figures and whether a floor is met; it never asserts, so a
slow machine prints "no" instead of failing a build.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, TextIO


@dataclass(frozen=True)
class Measurement:
    seconds: float          # wall time of the call itself (process start-up and imports before it excluded)
    peak_rss_mb: float      # the child's peak resident memory, interpreter included
    result: Any = None      # the step's return value when it is small (a row count, say)


class StepFailed(RuntimeError):
    """The measured step raised; the child's traceback is the message."""


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _small(value: Any) -> Any:
    """Only plain, small results travel back to the parent (a 100k-row list would cost more than the step)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and len(value) <= 1000:
        return value
    return None


def _child(conn, fn: Callable, args: tuple, kwargs: dict) -> None:
    try:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - started
        conn.send(("ok", seconds, _peak_rss_mb(), _small(result)))
    except BaseException:  # noqa: BLE001 — everything goes back to the parent as text
        conn.send(("error", traceback.format_exc(), 0.0, None))
    finally:
        conn.close()


def measure(fn: Callable, *args: Any, **kwargs: Any) -> Measurement:
    """Run ``fn(*args, **kwargs)`` in a freshly spawned interpreter; its time and that process's peak memory.

    ``fn`` must be importable by name (a module-level function), as with any
    ``multiprocessing`` spawn target.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs))
    proc.start()
    child.close()
    try:
        status, a, b, c = parent.recv()
    except EOFError:
        proc.join()
        raise StepFailed(f"{getattr(fn, '__name__', fn)} died without an answer (exit code {proc.exitcode})") from None
    proc.join()
    if status != "ok":
        raise StepFailed(a)
    return Measurement(seconds=a, peak_rss_mb=b, result=c)


@dataclass
class Figure:
    """One measured figure: ours beside a baseline measured in the same run, and the floor it must meet."""

    name: str
    unit: str                        # "s", "MB", "rows"
    ours: float | None               # None: our side could not be measured (say why in ``note``)
    baseline: float | None
    baseline_label: str = ""
    max_ratio: float | None = None   # floor: ours <= max_ratio × baseline
    max_value: float | None = None   # floor: ours < max_value (absolute, in ``unit``)
    equal: bool = False              # floor: ours == baseline (e.g. the same number of rows)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline

    @property
    def floor(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× {self.baseline_label or 'baseline'}")
        if self.max_value is not None:
            parts.append(f"< {self.max_value:g} {self.unit}")
        if self.equal:
            parts.append(f"= {self.baseline_label or 'baseline'}")
        return "; ".join(parts) or "—"

    @property
    def met(self) -> bool | None:
        """True/False against the floor; None when there is no floor or nothing to compare."""
        if self.ours is None:
            return None if self.floor == "—" else False
        checks = []
        if self.max_ratio is not None and self.baseline is not None:
            checks.append(self.ours <= self.max_ratio * self.baseline)
        if self.max_value is not None:
            checks.append(self.ours < self.max_value)
        if self.equal and self.baseline is not None:
            checks.append(self.ours == self.baseline)
        return all(checks) if checks else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(ratio=self.ratio, floor=self.floor, met=self.met)
        return d


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "missing"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def print_table(figures: Iterable[Figure], *, title: str | None = None, out: TextIO | None = None) -> None:
    """A small aligned table: figure, ours, baseline, ratio, floor, met."""
    out = out or sys.stdout
    figures = list(figures)
    header = ("figure", "ours", "baseline", "ratio", "floor", "met")
    lines = []
    for f in figures:
        base = _fmt(f.baseline, f.unit) + (f" ({f.baseline_label})" if f.baseline_label else "")
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}×"
        met = {True: "yes", False: "no", None: "—"}[f.met]
        lines.append((f.name, _fmt(f.ours, f.unit), base, ratio, f.floor, met))
    widths = [max(_width(row[i]) for row in [header, *lines]) for i in range(len(header))]
    if title:
        print(title, file=out)
    for row in [header, *lines]:
        print("  ".join(_pad(cell, w) for cell, w in zip(row, widths)).rstrip(), file=out)
    for f in figures:
        if f.note:
            print(f"  * {f.name}: {f.note}", file=out)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def environment() -> dict[str, Any]:
    """What the figures were measured on, for the JSON record."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def to_json(figures: Iterable[Figure], **meta: Any) -> str:
    return json.dumps({"figures": [f.as_dict() for f in figures], "environment": environment(), **meta},
                      ensure_ascii=False, indent=2, default=str)
