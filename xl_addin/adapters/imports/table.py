"""An export file as rows of cells, whatever it came as (CSV or .xlsx); ``export_file`` reads one.

Row numbers are the ones a person sees when opening the file in Excel, so the
import report can point at them; blank lines keep their numbers.
"""

from __future__ import annotations

import re
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


# Characters a cell cannot hold or a person cannot see: C0 controls (tab and line breaks stay: an
# address may span lines), DEL, a byte-order mark in the middle of the text (two exports pasted
# together), non-characters. Left in, the order number in the store and in the workbook differ.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff]")


def clean_rows(rows: list[tuple[int, list[object]]]) -> tuple[list[tuple[int, list[object]]], list[str]]:
    """Drop invisible characters from every text cell; a note says how many and on which rows."""
    touched: list[int] = []
    out: list[tuple[int, list[object]]] = []
    for number, cells in rows:
        changed = False
        new: list[object] = []
        for c in cells:
            if type(c) is str and _INVISIBLE.search(c):
                c = _INVISIBLE.sub("", c)
                changed = True
                c = c if c.strip() else None
            new.append(c)
        if changed:
            touched.append(number)
            if all(c is None for c in new):
                continue
        out.append((number, new))
    notes = []
    if touched:
        shown = "、".join(map(str, touched[:20])) + ("…" if len(touched) > 20 else "")
        notes.append(f"第{shown}行含有看不见的控制字符或 BOM 标记，已删除这些字符后导入")
    return out, notes
