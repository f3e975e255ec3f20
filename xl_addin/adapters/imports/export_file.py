"""Read an export file, choosing the reader by what the file is (a zip: .xlsx; else CSV)."""

from __future__ import annotations

from pathlib import Path

from xl_addin.errors import WorkbookError

from .csv_file import read_csv_export
from .table import ExportTable, clean_rows
from .xlsx_file import read_xlsx_export


def read_export(path, sheet: str | None = None) -> ExportTable:
    """Read a CSV or .xlsx export; ``WorkbookError`` (exit 2) naming the file when it cannot be read or is empty.

    ``sheet``: the .xlsx sheet to read (default: the first visible sheet with data); refused for a CSV."""
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
        table = read_xlsx_export(p, sheet)
    elif sheet:
        raise WorkbookError(f"CSV 文件没有工作表，不能用 --sheet {sheet}", "去掉 --sheet 再导入", path=str(p))
    else:
        table = read_csv_export(p)
    table.rows, cleaned = clean_rows(table.rows)
    table.notes.extend(cleaned)
    if not table.rows:
        raise WorkbookError("文件里没有任何内容（只有空行）", "请重新从后台导出订单", path=str(p))
    return table
