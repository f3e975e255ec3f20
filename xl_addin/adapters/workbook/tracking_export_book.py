"""The dated archive workbook of one day's tracking nodes (《实时物流跟踪记录-日期》), written in one go."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from xl_addin.adapters.workbook.books import TRACKING_NODES_SHEET
from xl_addin.adapters.workbook.cells import safe_text

EXTRA_COLUMN = "当前状态"


def write_day_export(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the 节点明细 columns (plus ``status_zh`` as 当前状态) of ``rows`` to ``path``, atomically."""
    wb = Workbook()
    ws = wb.active
    ws.title = TRACKING_NODES_SHEET.name
    cols = list(TRACKING_NODES_SHEET.columns)
    ws.append([c.label for c in cols] + [EXTRA_COLUMN])
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in rows:
        values = [row.get(c.key) for c in cols] + [row.get("status_zh")]
        ws.append([safe_text(v) if isinstance(v, str) else v for v in values])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                cell.data_type = "s"  # carrier text is data, never a formula
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = c.width or 14
        if c.number_format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = c.number_format
    ws.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
