"""An export file as rows of cells, whatever it came as (CSV or .xlsx).

Row numbers are the ones a person sees when opening the file in Excel, so the
import report can point at them; blank lines keep their numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from xl_addin.errors import WorkbookError


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


def read_export(path) -> ExportTable:
    """Read a CSV or .xlsx export; ``WorkbookError`` (exit 2) naming the file when it cannot be read or is empty."""
    p = Path(path)
    if not p.exists():
        raise WorkbookError("文件不存在", "请检查路径和文件名", path=str(p))
    if p.is_dir():
        raise WorkbookError("这是一个文件夹，不是订单导出文件", "请给出 .csv 或 .xlsx 文件的路径", path=str(p))
    with open(p, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise WorkbookError("文件是空的（0 字节）", "请重新从后台导出订单", path=str(p))
    if head.startswith(b"PK\x03\x04") or p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        from .xlsx_file import read_xlsx_export

        table = read_xlsx_export(p)
    else:
        from .csv_file import read_csv_export

        table = read_csv_export(p)
    table.rows, cleaned = clean_rows(table.rows)
    table.notes.extend(cleaned)
    if not table.rows:
        raise WorkbookError("文件里没有任何内容（只有空行）", "请重新从后台导出订单", path=str(p))
    return table
