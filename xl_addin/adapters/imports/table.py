"""An export file as rows of cells, whatever it came as (CSV or .xlsx); ``export_file`` reads one.

Row numbers are the ones a person sees when opening the file in Excel, so the
import report can point at them; blank lines keep their numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ExportTable:
    path: Path
    kind: str                              # "csv" or "xlsx"
    rows: list[tuple[int, list[object]]]   # (1-based row number, cells); blank rows left out
    encoding: str | None = None            # CSV only: the encoding it decoded under
    sheet: str | None = None               # xlsx only
    notes: list[str] = field(default_factory=list)
