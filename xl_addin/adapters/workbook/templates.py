"""Generate the desk workbook templates from the declarations in ``books.py``.

Each sheet: header in row 1 (frozen), an Excel Table over the header and a few
empty rows, dropdowns and input messages on a large range, number formats and
widths per column, and conditional formatting that colours problem rows.

The output is deterministic (fixed document dates and zip timestamps) so a
regenerated template is byte-identical to the committed one with the same
openpyxl; ``describe_book`` gives a version-independent dump for comparison.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.writer.excel import ExcelWriter

from .books import ALL_BOOKS, is_open_choice
from .schema import BookSchema, Column, SheetSchema

TEMPLATE_DIR_NAME = "workbook_templates"
TABLE_STYLE = "TableStyleMedium2"
TABLE_ROWS = 5            # empty data rows inside the Table; Excel grows it as people type
VALIDATION_LAST_ROW = 10000
FIXED_TIME = _dt.datetime(2026, 1, 1, 0, 0, 0)
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

_HEADER_FONT = Font(bold=True)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
# value -> (fill, font colour): red for problems, amber for "look soon"
_RED = ("FFFFC7CE", "FF9C0006")
_AMBER = ("FFFFEB9C", "FF9C5700")
ALERT_COLOURS = {"有问题": _RED, "超时": _RED, "已超时": _RED, "是": _RED,
                 "待复核": _AMBER, "临近": _AMBER}


def template_dir() -> Path:
    """The repository's ``workbook_templates`` folder."""
    return Path(__file__).resolve().parents[3] / TEMPLATE_DIR_NAME


def build_template(book: BookSchema) -> Workbook:
    """An empty, ready-to-use workbook for ``book``."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in book.sheets:
        _build_sheet(wb.create_sheet(sheet.name), sheet)
    wb.active = 0
    props = wb.properties
    props.creator = "xl-logistics"
    props.lastModifiedBy = "xl-logistics"
    props.title = book.title
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    return wb


def _build_sheet(ws, sheet: SheetSchema) -> None:
    ncols = len(sheet.columns)
    last_col = get_column_letter(ncols)
    last_row = 1 + TABLE_ROWS
    for idx, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(idx)
        head = ws.cell(row=1, column=idx, value=col.label)
        head.font = _HEADER_FONT
        head.alignment = _HEADER_ALIGN
        dim = ws.column_dimensions[letter]
        dim.width = col.width
        if col.number_format:
            dim.number_format = col.number_format       # new cells typed below the Table
            for row in range(2, last_row + 1):
                ws.cell(row=row, column=idx).number_format = col.number_format
        _add_validation(ws, sheet, col, letter)
    ws.freeze_panes = "A2"
    table = Table(displayName=sheet.table, ref=f"A1:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True, showColumnStripes=False,
                                          showFirstColumn=False, showLastColumn=False)
    ws.add_table(table)
    _add_problem_formatting(ws, sheet, last_col)
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _add_validation(ws, sheet: SheetSchema, col: Column, letter: str) -> None:
    """A dropdown for choice columns; an input message (the help text) for every column."""
    if not col.choices and not col.help:
        return
    if col.choices:
        dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True)
        strict = not is_open_choice(sheet, col)
        dv.showErrorMessage = strict
        if strict:
            dv.errorTitle = col.label[:32]
            dv.error = f"请从下拉列表中选择：{'、'.join(col.choices)}"[:255]
    else:
        dv = DataValidation(allow_blank=True)  # no rule, message only
    if col.help:
        dv.showInputMessage = True
        dv.promptTitle = col.label[:32]
        dv.prompt = col.help[:255]
    dv.add(f"{letter}2:{letter}{VALIDATION_LAST_ROW}")
    ws.add_data_validation(dv)


def _add_problem_formatting(ws, sheet: SheetSchema, last_col: str) -> None:
    if not sheet.problem_column:
        return
    idx = [c.key for c in sheet.columns].index(sheet.problem_column) + 1
    letter = get_column_letter(idx)
    area = f"A2:{last_col}{VALIDATION_LAST_ROW}"
    for value in sheet.problem_values:
        fill, font = ALERT_COLOURS.get(value, _RED)
        ws.conditional_formatting.add(area, FormulaRule(
            formula=[f'${letter}2="{value}"'],
            fill=PatternFill(start_color=fill, end_color=fill, fill_type="solid"),
            font=Font(color=font),
            stopIfTrue=True,
        ))


def template_bytes(book: BookSchema) -> bytes:
    """The template as .xlsx bytes, identical on every call."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(build_template(book), archive).write_data()  # skips save()'s "modified = now"
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_book(book: BookSchema, path: str | os.PathLike) -> Path:
    """Write ``book``'s template to ``path`` atomically (temporary file, then replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = template_bytes(book)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a desk workbook is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_templates(folder: str | os.PathLike | None = None) -> list[Path]:
    """Write all four templates into ``folder`` (default: the repository's ``workbook_templates``)."""
    folder = Path(folder) if folder is not None else template_dir()
    return [write_book(b, folder / b.filename) for b in ALL_BOOKS]


def describe_book(source: str | os.PathLike | bytes) -> dict:
    """A normalised dump of what a template defines, for comparing two generations.

    Covers sheet names, headers, frozen panes, tables, validations, column
    formats and widths, and conditional-formatting rules — not bytes.
    """
    wb = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source)
    sheets = []
    for ws in wb.worksheets:
        headers = [c.value for c in ws[1]]
        columns = []
        for idx, label in enumerate(headers, start=1):
            letter = get_column_letter(idx)
            dim = ws.column_dimensions[letter]
            columns.append({
                "label": label,
                "width": dim.width,
                "number_format": ws.cell(row=2, column=idx).number_format,
            })
        validations = sorted(
            (str(dv.sqref), dv.type, dv.formula1, bool(dv.showErrorMessage), dv.promptTitle, dv.prompt)
            for dv in ws.data_validations.dataValidation
        )
        rules = []
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                fill = rule.dxf.fill.fgColor.rgb if rule.dxf and rule.dxf.fill else None
                rules.append((str(cf.sqref), rule.type, tuple(rule.formula or ()), fill))
        sheets.append({
            "name": ws.title,
            "columns": columns,
            "freeze_panes": ws.freeze_panes,
            "tables": sorted(
                (t.displayName, t.ref, t.tableStyleInfo.name if t.tableStyleInfo else None,
                 tuple(c.name for c in t.tableColumns))
                for t in ws.tables.values()
            ),
            "validations": [list(v) for v in validations],
            "conditional_formatting": [list(r) for r in sorted(rules)],
            "print_titles": ws.print_title_rows,
        })
    return {"sheets": sheets, "title": wb.properties.title}


def main() -> None:  # pragma: no cover - a developer convenience
    for path in write_templates():
        print(path)


if __name__ == "__main__":  # pragma: no cover
    main()
