"""A small one-sheet list workbook: a bold header row, then one row per item (the follow-up reminder's
attachment, the desk's 最近运行.xlsx). The service gives the rows; this lays them out and saves atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from xl_addin.adapters.workbook.files import save_workbook

TIME_FORMAT = "yyyy-mm-dd hh:mm"
MARK_FILL = "FFC7CE"   # the light red Excel uses for "bad"


def write_list_book(path: Path, sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                    text_columns: Sequence[int] = (), time_columns: Sequence[int] = (),
                    marked: Iterable[int] = (), widths: Sequence[float] = (), freeze_header: bool = False) -> Path:
    """Write ``rows`` under ``header``. Columns are 1-based: ``text_columns`` stay text whatever they hold
    (outside text never becomes a formula or a number), ``time_columns`` show as desk time; rows whose
    0-based index is in ``marked`` are filled light red."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for c in ws[1]:
        c.font = Font(bold=True)
    marked = set(marked)
    fill = PatternFill("solid", fgColor=MARK_FILL)
    for i, row in enumerate(rows):
        ws.append(list(row))
        at = ws.max_row
        for col in text_columns:
            ws.cell(at, col).data_type = "s"
        for col in time_columns:
            ws.cell(at, col).number_format = TIME_FORMAT
        if i in marked:
            for c in ws[at]:
                c.fill = fill
    for n, width in enumerate(widths, 1):
        ws.column_dimensions[chr(64 + n)].width = width
    if freeze_header:
        ws.freeze_panes = "A2"
    return save_workbook(wb, path)
