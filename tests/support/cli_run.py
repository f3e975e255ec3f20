"""Run the real command line in this process, exactly as the console script does (``entrypoints.cli.main``):
what it prints on standard output and on standard error, and its exit code."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str

    def placed(self, desk: Path) -> dict[str, object]:
        """The run with the desk's folder written as ``<DESK>`` (so two desks' outputs compare)."""
        def tidy(text: str) -> str:
            for form in (str(Path(desk).resolve()), str(desk)):
                text = text.replace(form.replace("\\", "\\\\"), "<DESK>").replace(form, "<DESK>")
            return text

        return {"code": self.code, "out": tidy(self.out), "err": tidy(self.err)}


def run_cli(*argv: str) -> CliRun:
    from xl_addin.entrypoints.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return CliRun(code, out.getvalue(), err.getvalue())
