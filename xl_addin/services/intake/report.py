"""What a check of the order sheet reports: one RowReport per row (kept in memory up to a limit, then
spilled to a temporary file so a million-row sheet stays flat), and the run's summary counts."""

from __future__ import annotations

import bisect
import json
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xl_addin.domain.confirmation import (
    Decision,
)
from xl_addin.domain.problems import CheckResult



@dataclass
class RowReport:
    row: int
    order_no: str | None
    result: CheckResult
    decision: Decision
    entry: Any = None              # a stored person's outcome this check writes into the row
    write_message: str | None = None  # set by record_confirmation / record_override when the book was not written

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "order_no": self.order_no, "status": self.result.status,
                "problems": [p.as_dict() for p in self.result.problems],
                "normalized": self.result.normalized,
                "order_status": self.decision.status,
                "confirm_deadline": self.decision.deadline.isoformat() if self.decision.deadline else None,
                "overdue": self.decision.overdue, "note": self.decision.note}


KEEP_IN_MEMORY = 100_000  # row reports kept as objects; later chunks go to a temporary file


class RowLog(Sequence):
    """The row reports of one check, in sheet order, without holding a 1,000,000-row sheet in memory.

    The first ``keep`` reports stay as objects; every later chunk is pickled to an anonymous
    temporary file (deleted when the log is dropped) and read back a chunk at a time when
    iterated. Behaves as a read-only list: ``len``, indexing, slicing, iteration.
    """

    def __init__(self, rows=(), keep: int | None = None):
        self._mem: list[RowReport] = list(rows)
        self._keep = KEEP_IN_MEMORY if keep is None else keep
        self._file = None
        self._spans: list[tuple[int, int, int]] = []  # (first index, offset, length) of each spilled chunk
        self._starts: list[int] = []
        self._len = len(self._mem)
        self._cached: tuple[int, list[RowReport]] | None = None

    def extend(self, rows) -> None:
        rows = list(rows)
        if not rows:
            return
        if self._file is None and self._len + len(rows) <= self._keep:
            self._mem.extend(rows)
        else:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="xl-validate-")
            blob = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
            self._file.seek(0, 2)
            self._spans.append((self._len, self._file.tell(), len(blob)))
            self._starts.append(self._len)
            self._file.write(blob)
        self._len += len(rows)

    def append(self, row: RowReport) -> None:
        self.extend([row])

    def _chunk(self, k: int) -> list[RowReport]:
        if self._cached is not None and self._cached[0] == k:
            return self._cached[1]
        _, offset, length = self._spans[k]
        self._file.seek(offset)
        rows = pickle.loads(self._file.read(length))
        self._cached = (k, rows)
        return rows

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        yield from self._mem
        for k in range(len(self._spans)):
            yield from self._chunk(k)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("row report index out of range")
        if i < len(self._mem):
            return self._mem[i]
        k = bisect.bisect_right(self._starts, i) - 1
        return self._chunk(k)[i - self._spans[k][0]]

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, RowLog)) and len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RowLog({self._len} rows, {len(self._spans)} chunks on disk)"


# rows = ok + warnings + errors = confirmed + awaiting + cancelled + later (already past intake)
_SUMMARY_KEYS = ("rows", "ok", "warnings", "errors", "confirmed", "awaiting", "overdue", "cancelled", "later")
_STATUS_KEY = {"ok": "ok", "warning": "warnings", "error": "errors"}


@dataclass
class ValidationReport:
    file: Path
    sheet: str
    rows: RowLog = field(default_factory=RowLog)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    write_message: str | None = None
    stored: bool = False
    _counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SUMMARY_KEYS, 0), repr=False)
    _overdue: list[int] = field(default_factory=list, repr=False)  # indexes into rows

    def add_rows(self, rows: list[RowReport]) -> None:
        """Record a chunk of checked rows; the summary is counted as they come."""
        s = self._counts
        base = len(self.rows)
        for i, r in enumerate(rows):
            s[_STATUS_KEY[r.result.status]] += 1
            status = r.decision.status
            s["confirmed"] += status == "confirmed"
            s["awaiting"] += status == "awaiting_customer"
            s["cancelled"] += status == "cancelled"
            s["later"] += status not in ("confirmed", "awaiting_customer", "cancelled")
            if r.decision.overdue:
                s["overdue"] += 1
                self._overdue.append(base + i)
        s["rows"] += len(rows)
        self.rows.extend(rows)

    @property
    def summary(self) -> dict[str, int]:
        return dict(self._counts)

    @property
    def has_errors(self) -> bool:
        return self._counts["errors"] > 0

    def overdue_rows(self) -> list[RowReport]:
        return [self.rows[i] for i in self._overdue]

    def as_dict(self) -> dict[str, Any]:
        """The whole report as one dict (``iter_json`` writes the same JSON without building it)."""
        return {"file": str(self.file), "sheet": self.sheet, "rows": [r.as_dict() for r in self.rows],
                **self._tail()}

    def _tail(self) -> dict[str, Any]:
        return {"summary": self.summary, "notes": self.notes, "written": self.written,
                "write_message": self.write_message, "stored": self.stored,
                "overdue": [{"row": r.row, "order_no": r.order_no,
                             "confirm_deadline": r.decision.deadline.isoformat()} for r in self.overdue_rows()]}

    def iter_json(self, indent: int | None = 2):
        """``json.dumps(self.as_dict(), ensure_ascii=False, indent=indent, default=str)`` in pieces of
        a few hundred rows: a 1,000,000-row report is printed without being held as one string."""
        enc = json.JSONEncoder(ensure_ascii=False, indent=indent, default=str)
        if indent is None:
            nl, nl2, comma = "", "", ", "
            row_text = enc.encode
        else:
            from xl_addin.display.json_text import dumps_indented

            nl, nl2, comma = "\n" + " " * indent, "\n" + " " * (2 * indent), ","

            def row_text(d):  # the rows sit two levels in
                return dumps_indented(d, indent, 2)
        yield "{" + nl + '"file": ' + enc.encode(str(self.file)) + comma + nl + '"sheet": ' + enc.encode(self.sheet)
        yield comma + nl + '"rows": ['
        first = True
        batch: list[str] = []
        for r in self.rows:
            batch.append(("" if first else comma) + nl2 + row_text(r.as_dict()))
            first = False
            if len(batch) >= 500:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)
        yield ("" if first else nl) + "]" + comma
        yield enc.encode(self._tail())[1:]
