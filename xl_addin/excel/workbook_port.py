"""The workbook port: read one sheet's table by header names, write the product's cells back.

Three implementations answer the same two questions (one contract test suite,
``tests/addin/test_workbook_port_contract.py``, runs against all of them):

- ``FileWorkbook``: an .xlsx on disk (python-calamine reader + the streaming XML patcher);
- ``MemoryWorkbook``: a grid of lists, for tests and for services that want no file;
- ``LiveWorkbook`` (``xl_addin.excel.live_workbook``): the book open in Excel, through xlwings.

Grid-based implementations share ``table_from_grid``: header found in the first ten rows by the
schema's labels and aliases (the file reader's own rule), whole floats as ``int``, empty as ``None``,
rows whose schema columns are all empty skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from xl_addin.adapters.workbook.reader import HEADER_SCAN_ROWS, RowRecord, SheetTable, _find_header
from xl_addin.adapters.workbook.schema import SheetSchema
from xl_addin.errors import WorkbookError


class WorkbookPort(Protocol):
    def read_table(self, schema: SheetSchema, sheet_name: str | None = None) -> SheetTable: ...

    def write_cells(self, sheet: str, header_row: int, headers: dict[int, str],
                    cells: dict[tuple[int, int], object]) -> None: ...

    def delete_rows(self, sheet: str, rows) -> int: ...   # whole rows, as Excel's "Delete rows"; returns how many

    def save(self) -> None: ...   # keep what was written (a file port writes as it goes)


class FileWorkbook:
    """The port over a workbook file: atomic replace with a backup, refuses a file open in Excel."""

    def __init__(self, path, backup_dir: Path | None = None):
        self.path = Path(path)
        self.backup_dir = backup_dir

    def read_table(self, schema: SheetSchema, sheet_name: str | None = None) -> SheetTable:
        from xl_addin.adapters.workbook.reader import read_sheet

        return read_sheet(self.path, schema, sheet_name=sheet_name)

    def write_cells(self, sheet: str, header_row: int, headers: dict[int, str],
                    cells: dict[tuple[int, int], object]) -> None:
        from xl_addin.adapters.workbook.xml_patch import write_cells

        write_cells(self.path, sheet, header_row, headers, cells, backup_dir=self.backup_dir)

    def delete_rows(self, sheet: str, rows) -> int:
        from xl_addin.adapters.workbook.row_removal import remove_rows

        return sum(remove_rows(self.path, {sheet: list(rows)}, backup_dir=self.backup_dir).values())

    def save(self) -> None:
        """Nothing to do: every write above is already an atomic replace of the file."""


def plain(value: object) -> object:
    """A cell value as the file reader returns it: '' → None, 13800138000.0 → 13800138000."""
    if value == "" or value is None:
        return None
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def pick_sheet(names: list[str], schema: SheetSchema, sheet_name: str | None, where: str) -> list[str]:
    """Which sheets to look in, in order: the named one, else the schema's, else every sheet."""
    if sheet_name is not None:
        if sheet_name not in names:
            raise WorkbookError(f"没有名为「{sheet_name}」的工作表（现有：{'、'.join(names)}）",
                                "请检查工作表名称", path=where)
        return [sheet_name]
    return [schema.name] if schema.name in names else list(names)


def table_from_grid(where: str, sheet: str, grid: list[list], schema: SheetSchema) -> SheetTable | None:
    """The table of one sheet's values (row 1 first, column A first); None when required columns are missing."""
    h, columns, notes = _find_header(grid[:HEADER_SCAN_ROWS], schema)
    if not columns or any(c.key not in columns for c in schema.required):
        return None
    header_cells = grid[h]
    last_column = max((j + 1 for j, v in enumerate(header_cells) if v not in ("", None)), default=0)
    missing = [c.key for c in schema.columns if c.key not in columns]
    rows: list[RowRecord] = []
    items = list(columns.items())
    for i, line in enumerate(grid[h + 1:], start=h + 2):
        values = {k: plain(line[c - 1]) if c - 1 < len(line) else None for k, c in items}
        if any(v is not None for v in values.values()):
            rows.append(RowRecord(i, values))
    return SheetTable(Path(where), sheet, h + 1, dict(columns), missing, last_column, rows, list(notes))


def read_from_grids(where: str, names: list[str], grid_of, schema: SheetSchema,
                    sheet_name: str | None) -> SheetTable:
    """Try each candidate sheet; a ``WorkbookError`` naming the missing columns when none has them."""
    for name in pick_sheet(names, schema, sheet_name, where):
        table = table_from_grid(where, name, grid_of(name), schema)
        if table is not None:
            return table
    labels = "、".join(c.label for c in schema.required) or "（任何已知列）"
    raise WorkbookError(f"工作表里找不到表头（缺少必填列：{labels}）",
                        "请在表头加上这些列（中文列名或英文别名均可）后重试", path=where)


class MemoryWorkbook:
    """The port over ``{sheet name: [[row 1 values], [row 2 values], …]}``; writes change the grid in place."""

    def __init__(self, sheets: dict[str, list[list]], name: str = "memory.xlsx"):
        self.sheets = {k: [list(r) for r in v] for k, v in sheets.items()}
        self.name = name

    def read_table(self, schema: SheetSchema, sheet_name: str | None = None) -> SheetTable:
        return read_from_grids(self.name, list(self.sheets), lambda n: self.sheets[n], schema, sheet_name)

    def write_cells(self, sheet: str, header_row: int, headers: dict[int, str],
                    cells: dict[tuple[int, int], object]) -> None:
        if sheet not in self.sheets:
            raise WorkbookError(f"没有名为「{sheet}」的工作表", "请检查工作表名称", path=self.name)
        grid = self.sheets[sheet]
        for (row, col), value in [*(((header_row, c), v) for c, v in headers.items()), *cells.items()]:
            if row < 1 or not 1 <= col <= 16384:
                raise ValueError(f"cell outside the sheet: {(row, col)}")
            while len(grid) < row:
                grid.append([])
            line = grid[row - 1]
            if len(line) < col:
                line.extend([None] * (col - len(line)))
            line[col - 1] = value

    def delete_rows(self, sheet: str, rows) -> int:
        if sheet not in self.sheets:
            raise WorkbookError(f"没有名为「{sheet}」的工作表", "请检查工作表名称", path=self.name)
        gone = {r - 1 for r in rows if 1 <= r <= len(self.sheets[sheet])}
        self.sheets[sheet] = [line for i, line in enumerate(self.sheets[sheet]) if i not in gone]
        return len(gone)

    def save(self) -> None:
        """Nothing to do: the grid is the workbook."""
