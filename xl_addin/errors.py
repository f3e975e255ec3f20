"""The one family of errors a user can act on.

Entry points catch ``UserError`` once and show its message (and hint); any
other exception is unexpected and goes to the log with its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ROW_ERRORS = 1
EXIT_FAILED = 2


class UserError(Exception):
    """A problem the user can fix: says what went wrong and what to do next."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = path

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} — {self.hint}" if self.hint else text


class WorkbookError(UserError):
    """A workbook cannot be read or written (wrong type, corrupt, protected, missing header)."""


class WorkbookLocked(WorkbookError):
    """The workbook is open in Excel (owner file or lock): it is not overwritten from outside."""


class ConfigError(UserError):
    """The desk configuration or the environment is missing or wrong."""


class StoreError(UserError):
    """The state store is missing, too old/new, or unreachable."""


class JobLocked(UserError):
    """Another copy of the same job is running."""
