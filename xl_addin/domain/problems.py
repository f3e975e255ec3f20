"""Row problems are values, not exceptions: a check reports, the caller decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about one field of one record.

    ``code`` is stable (tests and scripts rely on it); ``message`` is plain
    Chinese for the desk staff; ``column`` is the schema key of the field.
    """

    code: str
    severity: str  # ERROR or WARNING
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "column": self.column, "message": self.message}


@dataclass
class CheckResult:
    """What checking one record found, plus the normalised values it derived."""

    problems: list[Problem] = field(default_factory=list)
    normalized: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if any(p.severity == ERROR for p in self.problems):
            return "error"
        if self.problems:
            return "warning"
        return "ok"

    def add(self, code: str, severity: str, column: str | None, message: str) -> None:
        self.problems.append(Problem(code, severity, column, message))
