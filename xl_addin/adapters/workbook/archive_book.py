"""The month's archive workbooks: what the staff saw, under the workbook's own headers, in the product's formats.

An archived order row is the live row as it stood — every column, the product's and the staff's,
in the sheet's column order, formulas as the values they last showed (the cached results; an
archive holds data, never formulas). Store-built sheets (follow-ups, bindings, nodes, cases) use
the Chinese labels the live workbooks use, with a few extra columns the live sheets do not show.
Files are written with openpyxl's write-only mode (streamed, no whole-book model in memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from xl_addin.adapters.workbook.cells import col_letter, safe_text
from xl_addin.adapters.workbook.schema import DATE, DATETIME, SheetSchema


@dataclass
class ArchiveSheet:
    name: str
    headers: list[str]
    formats: list[str | None]
    rows: list[list[Any]] = field(default_factory=list)

    def column(self, label: str) -> int | None:
        try:
            return self.headers.index(label)
        except ValueError:
            return None


def _format_of(schema: SheetSchema | None, key: str | None) -> str | None:
    if schema is None or key is None:
        return None
    for c in schema.columns:
        if c.key == key:
            if c.number_format == "@":
                return None  # text cells are written as text; "@" would only matter for typing
            return c.number_format
    return None


def sheet_from_records(name: str, schema: SheetSchema | None, records: list[dict[str, Any]],
                       extra_labels: dict[str, str] | None = None, key_map: dict[str, str] | None = None,
                       extra_formats: dict[str, str] | None = None) -> ArchiveSheet:
    """Rows built from the store: the schema's columns in its order (labels as the live sheet shows them),
    then the extra keys under ``extra_labels``. ``key_map`` renames a record key to a schema key."""
    key_map = key_map or {}
    extra_labels = extra_labels or {}
    extra_formats = extra_formats or {}
    present: list[str] = []
    for r in records:
        for k in r:
            k = key_map.get(k, k)
            if k not in present:
                present.append(k)
    keys: list[str] = []
    if schema is not None:
        keys = [c.key for c in schema.columns if c.key in present or c.required]
    keys += [k for k in present if k not in keys and k in extra_labels]
    labels = {c.key: c.label for c in schema.columns} if schema is not None else {}
    headers = [labels.get(k) or extra_labels.get(k, k) for k in keys]
    formats = [_format_of(schema, k) or extra_formats.get(k) for k in keys]
    sheet = ArchiveSheet(name, headers, formats)
    inverse = {v: k for k, v in key_map.items()}
    for r in records:
        sheet.rows.append([r.get(inverse.get(k, k), r.get(k)) for k in keys])
    return sheet


@dataclass
class LiveSheet:
    """The live sheet's header (its own labels, in its order) and its rows by key value."""

    headers: list[str]
    formats: list[str | None]
    key_column: int                      # 0-based
    rows: dict[str, list[Any]]           # key value → the whole row (first occurrence)


def read_live_sheet(path: Path, schema: SheetSchema, key: str, wanted: Iterable[str]) -> LiveSheet | None:
    """Every column of the rows whose ``key`` is wanted, as calamine reads them (formulas → cached values)."""
    from python_calamine import CalamineWorkbook

    from xl_addin.adapters.workbook.reader import iter_sheet
    from xl_addin.errors import UserError

    try:
        with iter_sheet(path, schema) as stream:
            header_row, columns, sheet_name = stream.header_row, stream.columns, stream.sheet
    except UserError:
        return None
    if key not in columns:
        return None
    wanted = set(wanted)
    wb = CalamineWorkbook.from_path(str(path))
    try:
        sheet = wb.get_sheet_by_name(sheet_name)
        top, lead = (sheet.start or (0, 0))
        rows = sheet.iter_rows()
        headers: list[str] = []
        found: dict[str, list[Any]] = {}
        kcol = columns[key] - 1
        width = 0
        for i, raw in enumerate(rows):
            r = top + i + 1
            row = ([None] * lead + list(raw)) if lead else list(raw)
            if r == header_row:
                headers = ["" if v in (None, "") else str(v).strip() for v in row]
                continue
            if r <= header_row or kcol >= len(row):
                continue
            v = row[kcol]
            no = str(int(v) if type(v) is float and v.is_integer() else v).strip() if v not in (None, "") else ""
            if no in wanted and no not in found:
                found[no] = [None if c == "" else c for c in row]
                width = max(width, max((j + 1 for j, c in enumerate(row) if c not in (None, "")), default=0))
    finally:
        wb.close()
    while headers and not headers[-1]:
        headers.pop()
    width = max(width, len(headers))
    headers = (headers + [""] * width)[:width]
    headers = [h or f"{col_letter(j + 1)}列" for j, h in enumerate(headers)]
    by_col = {c - 1: k for k, c in columns.items()}
    formats = [_format_of(schema, by_col.get(j)) for j in range(width)]
    for no, row in found.items():
        found[no] = (row + [None] * width)[:width]
    return LiveSheet(headers, formats, kcol, found)


def write_archive_book(path: Path, sheets: list[ArchiveSheet]) -> dict[str, int]:
    """One archive workbook, atomically; text stays text (never a formula). Returns {sheet: data rows}."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from xl_addin.adapters.workbook.files import save_workbook

    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    bold = Font(bold=True)
    for s in sheets:
        ws = wb.create_sheet(s.name)
        ws.freeze_panes = "A2"
        for j, h in enumerate(s.headers, start=1):
            ws.column_dimensions[col_letter(j)].width = max(10.0, min(40.0, 2.2 * len(h) + 2))
        head = []
        for h in s.headers:
            c = WriteOnlyCell(ws, value=h)
            c.data_type = "s"
            c.font = bold
            head.append(c)
        ws.append(head)
        fmts = s.formats
        for row in s.rows:
            out = []
            for j, v in enumerate(row):
                if v is None:
                    out.append(None)
                    continue
                if isinstance(v, str):
                    c = WriteOnlyCell(ws, value=safe_text(v))
                    c.data_type = "s"  # text from outside is data, never a formula
                else:
                    c = WriteOnlyCell(ws, value=v)
                    f = fmts[j] if j < len(fmts) else None
                    if f:
                        c.number_format = f
                    elif hasattr(v, "hour"):
                        c.number_format = "yyyy-mm-dd hh:mm"
                    elif hasattr(v, "year"):
                        c.number_format = "yyyy-mm-dd"
                out.append(c)
            ws.append(out)
        counts[s.name] = len(s.rows)
    save_workbook(wb, path)
    return counts


def read_archive_book(path: Path) -> dict[str, list[dict[str, Any]]]:
    """An archive workbook read back: {sheet: [{header label: value}]}."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        out = {}
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python()
            keys = [str(k) for k in rows[0]] if rows else []
            out[name] = [{k: (None if v == "" else v) for k, v in zip(keys, r)}
                         for r in rows[1:] if any(v not in (None, "") for v in r)]
        return out
    finally:
        wb.close()


__all__ = ["ArchiveSheet", "LiveSheet", "read_archive_book", "read_live_sheet", "sheet_from_records",
           "write_archive_book", "DATE", "DATETIME"]
