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
from xl_addin.adapters.workbook.schema import SheetSchema


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


def _key_text(v: Any) -> str:
    if v in (None, ""):
        return ""
    if type(v) is float and v.is_integer():
        v = int(v)
    return str(v).strip()


def _scan(path: Path, schema: SheetSchema, sheet_name: str | None, key: str, wanted: set[str], keep_rows: bool):
    """One calamine read of a sheet: (header row, header cells, key column, {key: (row no, row)}) or None when
    the sheet or its key column is not there. The header is found by the reader's own rule."""
    from itertools import chain, islice

    from python_calamine import CalamineWorkbook

    from xl_addin.adapters.workbook.reader import HEADER_SCAN_ROWS, _find_header

    wb = CalamineWorkbook.from_path(str(path))
    try:
        name = sheet_name or schema.name
        if name not in wb.sheet_names:
            return None
        sheet = wb.get_sheet_by_name(name)
        top, lead = (sheet.start or (0, 0))
        rows = sheet.iter_rows()
        if lead:
            rows = ([None] * lead + list(r) for r in rows)
        first = [list(r) for r in islice(rows, HEADER_SCAN_ROWS)]
        h, columns, _notes = _find_header(first, schema)
        if key not in columns or any(c.key not in columns for c in schema.required):
            return None
        kcol = columns[key] - 1
        header_row = top + h + 1
        found: dict[str, list] = {}
        for i, row in enumerate(chain(first, rows)):
            r = top + i + 1
            if r <= header_row or kcol >= len(row):
                continue
            no = _key_text(row[kcol])
            if no and no in wanted:
                found.setdefault(no, []).append((r, list(row) if keep_rows else None))
        return header_row, first[h], columns, found
    finally:
        wb.close()


def rows_with_keys(path: Path, schema: SheetSchema, sheet_name: str, key: str, wanted: Iterable[str]) -> list[int]:
    """The sheet's row numbers whose ``key`` column holds one of ``wanted`` (every occurrence); [] when the
    sheet or its header is not there."""
    got = _scan(path, schema, sheet_name, key, set(wanted), keep_rows=False)
    if got is None:
        return []
    return sorted(r for hits in got[3].values() for r, _ in hits)


def read_live_sheet(path: Path, schema: SheetSchema, key: str, wanted: Iterable[str]) -> LiveSheet | None:
    """Every column of the rows whose ``key`` is wanted, as calamine reads them (formulas → cached values)."""
    got = _scan(path, schema, None, key, set(wanted), keep_rows=True)
    if got is None:
        return None
    _header_row, header_cells, columns, hits = got
    headers = ["" if v in (None, "") else str(v).strip() for v in header_cells]
    found = {no: [None if c == "" else c for c in rows[0][1]] for no, rows in hits.items()}
    width = max([0] + [max((j + 1 for j, c in enumerate(row) if c is not None), default=0) for row in found.values()])
    while headers and not headers[-1]:
        headers.pop()
    width = max(width, len(headers))
    headers = (headers + [""] * width)[:width]
    headers = [h or f"{col_letter(j + 1)}列" for j, h in enumerate(headers)]
    by_col = {c - 1: k for k, c in columns.items()}
    formats = [_format_of(schema, by_col.get(j)) for j in range(width)]
    for no, row in found.items():
        found[no] = (row + [None] * width)[:width]
    return LiveSheet(headers, formats, columns[key] - 1, found)


_CT = ("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/styles.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{sheets}</Types>')
_CT_SHEET = ('<Override PartName="/xl/worksheets/sheet{i}.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def write_archive_book(path: Path, sheets: list[ArchiveSheet]) -> dict[str, int]:
    """One archive workbook, streamed straight to the package (no workbook model), atomically.

    Text is inline text (never a formula); dates and numbers carry the product's number formats;
    the header row is bold and frozen. Returns {sheet: data rows}."""
    import os
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    from xl_addin.adapters.workbook.cells import cell_xml
    from xl_addin.adapters.workbook.files import atomic_replace, temp_path_for

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formats: dict[str, int] = {}   # format code → xf index (0: default, 1: bold header)
    for s in sheets:
        for f in s.formats:
            if f and f not in formats:
                formats[f] = len(formats) + 2
    for f in ("yyyy-mm-dd hh:mm", "yyyy-mm-dd"):
        formats.setdefault(f, len(formats) + 2)
    counts: dict[str, int] = {}
    tmp = temp_path_for(path)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            z.writestr("[Content_Types].xml", _CT.format(sheets="".join(_CT_SHEET.format(i=i)
                                                                        for i in range(1, len(sheets) + 1))))
            z.writestr("_rels/.rels", _ROOT_RELS)
            names = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
                            for i, s in enumerate(sheets, start=1))
            z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                          f"<workbook {_NS} {_NS_R}><sheets>{names}</sheets></workbook>")
            rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                           for i in range(1, len(sheets) + 1))
            rels += f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       f"{rels}</Relationships>")
            z.writestr("xl/styles.xml", _styles(formats))
            for i, s in enumerate(sheets, start=1):
                with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                    _write_sheet(out, s, formats, cell_xml, escape)
                counts[s.name] = len(s.rows)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        atomic_replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return counts


def _styles(formats: dict[str, int]) -> str:
    from xml.sax.saxutils import quoteattr

    fmts = "".join(f"<numFmt numFmtId=\"{164 + k}\" formatCode={quoteattr(code)}/>"
                   for k, code in enumerate(formats))
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>']
    xfs += [f'<xf numFmtId="{164 + k}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for k in range(len(formats))]
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f"<styleSheet {_NS}><numFmts count=\"{len(formats)}\">{fmts}</numFmts>"
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>")


def _write_sheet(out, s: ArchiveSheet, formats: dict[str, int], cell_xml, escape) -> None:
    width = len(s.headers)
    letters = [col_letter(j + 1) for j in range(max(width, max((len(r) for r in s.rows), default=0)))]
    last = f"{letters[-1]}{len(s.rows) + 1}" if letters else "A1"
    cols = "".join(f'<col min="{j + 1}" max="{j + 1}" width="{max(10.0, min(40.0, 2.2 * len(h) + 2)):.1f}" '
                   f'customWidth="1"/>' for j, h in enumerate(s.headers))
    out.write((f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_NS_R}>'
               f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0">'
               '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
               '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
               '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "")
               + "<sheetData>").encode("utf-8"))
    head = "".join(cell_xml(f"{letters[j]}1", safe_text(h), 1) for j, h in enumerate(s.headers))
    out.write(f'<row r="1">{head}</row>'.encode("utf-8"))
    col_style = [formats.get(f) if f else None for f in s.formats]
    dt_style, d_style = formats["yyyy-mm-dd hh:mm"], formats["yyyy-mm-dd"]
    buf: list[str] = []
    for i, row in enumerate(s.rows, start=2):
        cells = []
        for j, v in enumerate(row):
            if v is None:
                continue
            t = type(v)
            if t is str:
                cells.append(cell_xml(f"{letters[j]}{i}", v, None))
                continue
            style = col_style[j] if j < len(col_style) else None
            if style is None and hasattr(v, "year"):
                style = dt_style if hasattr(v, "hour") else d_style
            cells.append(cell_xml(f"{letters[j]}{i}", v, style))
        buf.append(f'<row r="{i}">{"".join(cells)}</row>')
        if len(buf) >= 2000:
            out.write("".join(buf).encode("utf-8"))
            buf.clear()
    out.write(("".join(buf) + "</sheetData></worksheet>").encode("utf-8"))


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


__all__ = ["ArchiveSheet", "LiveSheet", "read_archive_book", "read_live_sheet", "rows_with_keys",
           "sheet_from_records", "write_archive_book"]
