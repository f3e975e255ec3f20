"""An export file as rows of cells, whatever it came as (CSV or .xlsx).

Row numbers are the ones a person sees when opening the file in Excel, so the
import report can point at them; blank lines keep their numbers.
"""

from __future__ import annotations

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
    if not table.rows:
        raise WorkbookError("文件里没有任何内容（只有空行）", "请重新从后台导出订单", path=str(p))
    return table
