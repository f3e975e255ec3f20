"""What a use case hands back to whoever started it: one ``Report``, rendered by the CLI and by the ribbon.

A use case returns a Report and knows nothing of the screen it ends on. Its renderers:

- the command line (``entrypoints/common.py:render``): ``lines`` on standard output (``data`` as JSON
  with ``--json``), ``warnings`` on standard error, and ``exit_code`` as the process's exit code;
- the ribbon (``excel/report_box.py:show_report``): ``excel_message()`` in a message box, a warning box
  when the exit code is not 0 or there are warnings.

A job that cannot be done raises a ``UserError`` instead; the CLI's and the ribbon's one error boundary
shows it (``entrypoints/cli.py:main``, ``excel/handlers.py:dispatch``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from xl_addin.errors import EXIT_OK

PRODUCT = "物流助手"


@dataclass(frozen=True)
class ExcelMessage:
    """The ribbon's message box: its title, its text and its kind (info / warning / error)."""

    title: str
    text: str
    kind: str = "info"


@dataclass(frozen=True)
class Report:
    """The outcome of one use case, in every form a person or a program reads it.

    ``lines`` are what the command prints; moments in them are shown in ``tz``, the desk's zone, as
    ``YYYY-MM-DD HH:MM`` by ``display.moments.desk_text`` (None: the lines are already for people).
    ``data`` is the ``--json`` form (ISO 8601 with the offset), None for a command without one;
    ``warnings`` are notes beside the result (standard error in the CLI, below the text in Excel);
    ``title`` names the job in the message box."""

    title: str
    lines: tuple[str, ...]
    data: Any = None
    exit_code: int = EXIT_OK
    warnings: tuple[str, ...] = ()
    tz: tzinfo | str | None = None

    def text(self) -> str:
        """The lines as one text for people, every moment in the desk's zone (as they are when ``tz`` is None)."""
        return self._for_people("\n".join(self.lines))

    def _for_people(self, text: str) -> str:
        if self.tz is None:
            return text
        from xl_addin.display.moments import desk_text

        return desk_text(text, self.tz)

    def json_text(self) -> str:
        """The JSON form as the CLI prints it (``--json``)."""
        return json.dumps(self.data, ensure_ascii=False, indent=2, default=str)

    def excel_message(self) -> ExcelMessage:
        """The message box: the text, then the warnings; a warning box when anything needs a look."""
        text = "\n".join(t for t in (self.text().strip(), *(self._for_people(w) for w in self.warnings)) if t)
        title = f"{PRODUCT} · {self.title}" if self.title else PRODUCT
        return ExcelMessage(title, text or "完成", "warning" if self.exit_code or self.warnings else "info")
