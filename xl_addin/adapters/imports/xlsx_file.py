"""Excel exports (.xlsx) read with python-calamine: cached values, whole floats as ints."""

from __future__ import annotations

from pathlib import Path


from .table import ExportTable


def _plain(value: object) -> object:
    if value == "" or value is None:
        return None
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def read_xlsx_export(path: Path, sheet_name: str | None = None) -> ExportTable:
    from xl_addin.adapters.workbook.files import check_workbook_file
    from xl_addin.adapters.workbook.reader import check_extent, unreadable
    from python_calamine import CalamineWorkbook

    check_workbook_file(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own family for zip/xml/password problems
        raise unreadable(path, None, exc) from None
    try:
        metas = [m for m in wb.sheets_metadata if str(m.typ).endswith("WorkSheet")]
        # visible sheets first: a hidden sheet (an old copy, a lookup list) is read only when nothing else has data
        names = ([m.name for m in metas if str(m.visible).endswith("Visible")]
                 + [m.name for m in metas if not str(m.visible).endswith("Visible")])
        if sheet_name is not None:
            if sheet_name not in names:
                from xl_addin.errors import WorkbookError

                raise WorkbookError(f"导出文件里没有工作表「{sheet_name}」（有: {'、'.join(names)}）",
                                    "请用 --sheet 写出其中一个工作表的名称（或在 xl-logistics.toml 的 [intake] export_sheet "
                                    "写明）", path=str(path))
            names = [sheet_name]
        best: tuple[str | None, list] = (None, [])
        for name in names:  # the first sheet with data: exports put the orders first
            check_extent(path, name)  # bounded: no grid allocated for a far cell or a padded part
            try:
                part = wb.get_sheet_by_name(name)
                # iter_rows starts at row 1 but at the first used column: put the leading columns back, so
                # positions are the sheet's own
                lead = [None] * (part.start[1] if part.start else 0)
                rows = []
                # row by row: a blank stretch (one real cell far down) never becomes a list of empty rows
                for i, row in enumerate(part.iter_rows(), 1):
                    cells = lead + [_plain(c) for c in row]
                    if any(c is not None for c in cells):
                        rows.append((i, cells))
            except Exception as exc:  # calamine's own family
                raise unreadable(path, name, exc) from None
            if rows:
                best = (name, rows)
                break
    finally:
        wb.close()
    sheet, rows = best
    notes = [f"读取工作表「{sheet}」"] if sheet and (len(names) > 1 or sheet_name) else []
    return ExportTable(path, "xlsx", rows, sheet=sheet, notes=notes)
