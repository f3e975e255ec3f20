"""The ribbon's renderer of a use case's Report: Excel's status bar cleared, then one message box."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from xl_addin.services.report import Report


class MessageBox(Protocol):
    """The part of ``handlers.ExcelUI`` a Report needs."""

    def message(self, text: str, kind: str = "info", title: str | None = None) -> None: ...
    def status(self, text: str | None) -> None: ...


def show_report(ui: MessageBox, report: Report) -> None:
    """The Report's Excel message (its title, its text and warnings; a warning box when they need a look)."""
    box = report.excel_message()
    ui.status(None)
    ui.message(box.text, box.kind, title=box.title)
