"""The fast workbook writer: rewrite only the product's cells of one sheet, copy everything else.

Why not openpyxl: a load+save of a 100,000-row workbook takes about a minute and re-serialises
the user's whole file (dropping what openpyxl does not understand). Here the sheet XML is
streamed row by row and only the rows holding written cells are re-assembled; every other part
of the package (styles, shared strings, other sheets, tables, comments, drawings, VBA) is copied
with identical content. ``styles.xml`` changes only when a date needs a date style, a table part
only when it is extended, ``calcChain.xml`` is dropped (Excel rebuilds it) only when a formula
cell was overwritten.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, Iterator

from xl_addin.adapters.workbook.background_write import BackgroundWriter
from xl_addin.adapters.workbook.cells import col_letter, split_ref
from xl_addin.adapters.workbook.date_styles import Styles
from xl_addin.adapters.workbook.files import (
    assert_not_open_in_excel, atomic_replace, check_workbook_file, part_relations, remove_stale_temps,
    sheet_parts, temp_path_for, uses_1904_dates,
)
from xl_addin.adapters.workbook.lock import workbook_lock
from xl_addin.adapters.workbook.sheet_stream import Cursor, SheetPatcher
from xl_addin.adapters.workbook.zip_copy import copy_member_raw
from xl_addin.errors import WorkbookError

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_TABLE = "/table"
_REL_CALCCHAIN = "/calcChain"


# ---------------------------------------------------------------- public API

def write_cells(path, sheet_name: str, header_row: int, headers: dict[int, str],
                cells: dict[tuple[int, int], object], *, backup_dir: Path | None,
                append_table_rows: bool = False) -> None:
    """Write ``cells`` {(row, col): value} and new ``headers`` {col: label} into one sheet, atomically.

    Raises ``WorkbookLocked`` when the workbook is open in Excel, ``WorkbookError`` when it cannot
    be read or has no such sheet. The old file goes to ``backup_dir`` (newest 10 kept).
    """
    plan: dict[int, dict[int, object]] = {}
    for (row, col), value in cells.items():
        if row < 1 or not 1 <= col <= 16384:
            raise ValueError(f"cell outside the sheet: {(row, col)}")
        plan.setdefault(row, {})[col] = value
    for col, label in headers.items():
        plan.setdefault(header_row, {})[col] = label
    bounds = None
    if plan:
        cols = [c for cs in plan.values() for c in cs]
        bounds = (min(plan), max(plan), min(cols), max(cols))
    _write(path, sheet_name, header_row, headers, iter(sorted(plan.items())), bounds, backup_dir, append_table_rows)


def write_rows(path, sheet_name: str, header_row: int, headers: dict[int, str],
               rows: Iterable[tuple[int, dict[int, object]]], bounds: tuple[int, int, int, int], *,
               backup_dir: Path | None, append_table_rows: bool = False) -> None:
    """``write_cells`` for a stream: ``rows`` yields (row, {col: value}) in ascending row order, lazily.

    Why: the cells of a 1,000,000-row check do not fit in memory at once; the sheet is rewritten
    while ``rows`` is still being produced (read, check, write in one pass). ``bounds`` =
    (first row, last row, first col, last col) of everything that will be written (the sheet's
    dimension is written before the rows). An exception from ``rows`` leaves the file untouched.
    """
    plan = _with_headers(rows, header_row, headers)
    if headers:
        c1 = min(bounds[2], min(headers))
        c2 = max(bounds[3], max(headers))
        bounds = (min(bounds[0], header_row), max(bounds[1], header_row), c1, c2)
    _write(path, sheet_name, header_row, headers, plan, bounds, backup_dir, append_table_rows)


def _with_headers(rows, header_row: int, headers: dict[int, str]) -> Iterator[tuple[int, dict[int, object]]]:
    last, done = 0, not headers
    for r, writes in rows:
        if r <= last:
            raise ValueError(f"rows must come in ascending order: {r} after {last}")
        for col in writes:
            if not 1 <= col <= 16384:
                raise ValueError(f"cell outside the sheet: {(r, col)}")
        if not done and r >= header_row:
            done = True
            if r == header_row:
                writes = {**writes, **headers}
            else:
                yield header_row, dict(headers)
        last = r
        yield r, writes
    if not done:
        yield header_row, dict(headers)


def _write(path, sheet_name, header_row, headers, plan, bounds, backup_dir, append_table_rows) -> None:
    path = check_workbook_file(path)
    with workbook_lock(path):  # one writer per workbook: the read of the old file and the replace
        assert_not_open_in_excel(path)
        remove_stale_temps(path)
        tmp = temp_path_for(path)
        try:
            try:
                with zipfile.ZipFile(path) as zin:
                    _build_package(zin, tmp, path, sheet_name, header_row, headers, plan, bounds, append_table_rows)
            except KeyError as exc:  # a part the workbook names is not in the package
                raise WorkbookError(f"工作簿缺少部件（{str(exc)[:120]}），未写入",
                                    "这不是 Excel 能保存出的文件：请从备份恢复，或在 Excel 里打开修复后另存为 .xlsx",
                                    path=str(path)) from None
            except (zlib.error, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
                raise WorkbookError(f"工作簿已损坏：有部件无法解压（{type(exc).__name__}），未写入",
                                    "请从备份恢复，或在 Excel 里打开（Excel 会提示修复）后另存为 .xlsx",
                                    path=str(path)) from None
            atomic_replace(tmp, path, backup_dir)
        finally:
            if tmp.exists():
                tmp.unlink()


# ---------------------------------------------------------------- package

def _build_package(zin: zipfile.ZipFile, tmp: Path, path: Path, sheet_name: str, header_row: int,
                   headers: dict[int, str], plan: Iterator[tuple[int, dict[int, object]]],
                   bounds: tuple[int, int, int, int] | None, append_table_rows: bool) -> None:
    sheets = sheet_parts(zin)
    if sheet_name not in sheets:
        raise WorkbookError(f"没有名为「{sheet_name}」的工作表", "请检查工作表名称", path=str(path))
    part = sheets[sheet_name]
    styles = Styles(zin)
    patcher = SheetPatcher(Cursor(plan), bounds, header_row, set(headers), styles, uses_1904_dates(zin))
    sheet_info = zin.getinfo(part)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        zi = zipfile.ZipInfo(part, date_time=sheet_info.date_time)
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zin.open(sheet_info) as src, zout.open(zi, "w", force_zip64=sheet_info.file_size > 2**31) as dst:
            with BackgroundWriter(dst) as deflating:  # deflate and CRC on the other core
                patcher.run(src, deflating)

        replaced: dict[str, bytes | None] = {}
        tables = [t for _, typ, t in part_relations(zin, part) if typ.endswith(_REL_TABLE)]
        max_row = bounds[1] if bounds else 0
        for table in tables:
            if table in zin.namelist():
                try:
                    new = _extend_table(zin.read(table), header_row, headers, max_row if append_table_rows else 0)
                except (ValueError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
                    raise WorkbookError(f"工作表「{sheet_name}」的表格（{table}）范围引用已损坏（{str(exc)[:80]}），未写入",
                                        "请在 Excel 里打开（它会提示修复表格）后另存为 .xlsx", path=str(path)) from None
                if new is not None:
                    replaced[table] = new
        if styles.changed:
            replaced[styles.part] = styles.to_bytes()
        if patcher.overwrote_formula:
            replaced.update(_drop_calc_chain(zin))

        for info in zin.infolist():
            if info.filename == part:
                continue
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = info.compress_type
            out.external_attr = info.external_attr
            if info.filename in replaced:
                data = replaced[info.filename]
                if data is not None:
                    zout.writestr(out, data, compresslevel=6)
                continue
            copy_member_raw(zin, zout, info)  # unchanged: its compressed bytes as they are
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


def _drop_calc_chain(zin: zipfile.ZipFile) -> dict[str, bytes | None]:
    """Excel reports a damaged file when calcChain names a cell that no longer holds a formula; it rebuilds it."""
    from xl_addin.adapters.workbook.files import rels_of, workbook_part

    wb = workbook_part(zin)
    chains = [(rid, t) for rid, typ, t in part_relations(zin, wb) if typ.endswith(_REL_CALCCHAIN)]
    if not chains:
        return {}
    out: dict[str, bytes | None] = {}
    rels = zin.read(rels_of(wb))
    ctypes = zin.read("[Content_Types].xml")
    for rid, target in chains:
        out[target] = None
        rels = re.sub(rb'<Relationship\b[^>]*\bId="' + re.escape(rid.encode()) + rb'"[^>]*/>', b"", rels)
        ctypes = re.sub(rb'<Override\b[^>]*PartName="/' + re.escape(target.encode()) + rb'"[^>]*/>', b"", ctypes)
    out[rels_of(wb)] = rels
    out["[Content_Types].xml"] = ctypes
    return out


# ---------------------------------------------------------------- tables

def _extend_table(data: bytes, header_row: int, headers: dict[int, str], to_row: int) -> bytes | None:
    """Grow a table's ref/autoFilter over appended rows and over new header columns right after it."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    ns = {"m": _NS_MAIN}
    a, b = root.get("ref", "A1:A1").split(":")
    (r1, c1), (r2, c2) = split_ref(a), split_ref(b)
    if not r1 <= header_row <= r2 and not (root.get("headerRowCount") == "0"):
        return None
    changed = False
    cols_el = root.find("m:tableColumns", ns)
    if r1 == header_row and cols_el is not None:
        names = {c.get("name") for c in cols_el}
        next_id = max((int(c.get("id", "0")) for c in cols_el), default=0) + 1
        while c2 + 1 in headers:
            c2 += 1
            name = str(headers[c2])
            while name in names:
                name += "_"
            names.add(name)
            el = etree.SubElement(cols_el, f"{{{_NS_MAIN}}}tableColumn")
            el.set("id", str(next_id))
            el.set("name", name)
            next_id += 1
            changed = True
        cols_el.set("count", str(len(cols_el)))
    if to_row > r2 and int(root.get("totalsRowCount", "0") or 0) == 0:
        r2 = to_row
        changed = True
    if not changed:
        return None
    ref = f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"
    root.set("ref", ref)
    af = root.find("m:autoFilter", ns)
    if af is not None:
        af.set("ref", ref)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
