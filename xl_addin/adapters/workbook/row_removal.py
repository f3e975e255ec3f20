"""Remove rows from a workbook file the way Excel's "Delete rows" does, one streaming pass per sheet.

What moves with the rows (as in Excel): every formula on every sheet that refers to a changed
sheet (a reference to a removed cell becomes ``#REF!``; a range loses the removed rows and
shrinks; a range wholly removed becomes ``#REF!``), shared and array formulas, conditional-format
and data-validation ranges and their formulas, merged cells, hyperlinks, autofilters, table
ranges, defined names and chart series. Whole-column references (``A:A``) do not change.

How: each worksheet's XML is streamed row by row (as ``xml_patch`` does for the owned cells);
rows below a removed block get their numbers and cell references renumbered, and only cells
holding a formula are re-parsed — with openpyxl's formula ``Tokenizer`` (the references) and
``Translator`` (shared formulas and conditional-format formulas, which are relative to their
anchor cell). Every other package part is copied unchanged. Excel recalculates on opening
(``fullCalcOnLoad``); the cached values of unchanged formulas are kept so a reader that does not
recalculate still sees what the staff saw.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Callable, Iterable
from xml.sax.saxutils import escape

from xl_addin.adapters.workbook.files import (
    assert_not_open_in_excel, atomic_replace, check_workbook_file, part_relations, rels_of, remove_stale_temps,
    sheet_parts, temp_path_for, workbook_part,
)
from xl_addin.adapters.workbook.lock import workbook_lock
from xl_addin.errors import WorkbookError

from xl_addin.adapters.workbook.row_shift import (  # noqa: F401  (re-exported)
    CHUNK, Maps, RowMap, _REF, adjust_formula, adjust_ranges, shift_reference, translate,
)
from xl_addin.adapters.workbook.row_removal_sheet import _SheetPass

# ---------------------------------------------------------------- the file

def remove_rows(path, rows_by_sheet: dict[str, Iterable[int]], *, backup_dir: Path | None,
                progress: Callable[[int, int], None] | None = None,
                before_replace: Callable[[], None] | None = None) -> dict[str, int]:
    """Remove the rows {sheet name: row numbers} from the workbook file, atomically (the old file is backed up).

    Returns {sheet name: rows removed}. Raises ``WorkbookLocked`` when it is open in Excel and
    ``WorkbookError`` when a sheet is missing or the file cannot be read. ``progress(done, total)``
    counts sheets; ``before_replace`` runs after the new file is complete, before it replaces the old one.
    """
    path = check_workbook_file(path)
    assert_not_open_in_excel(path)
    maps = {name.lower(): RowMap(rows) for name, rows in rows_by_sheet.items() if rows}
    if not maps:
        return {}
    # one writer per workbook from reading the old file to the replace; the rows go by what is read here
    with workbook_lock(path, rereads=True):
        remove_stale_temps(path)
        tmp = temp_path_for(path)
        try:
            try:
                with zipfile.ZipFile(path) as zin:
                    counts = _build(zin, tmp, path, maps, rows_by_sheet, progress)
            except WorkbookError as exc:
                if exc.path:
                    raise
                raise WorkbookError(exc.message, exc.hint, path=str(path)) from None
            if before_replace:
                before_replace()
            atomic_replace(tmp, path, backup_dir)
        finally:
            if tmp.exists():
                tmp.unlink()
    return counts


def _build(zin: zipfile.ZipFile, tmp: Path, path: Path, maps: Maps, rows_by_sheet, progress) -> dict[str, int]:
    sheets = sheet_parts(zin)
    by_lower = {n.lower(): n for n in sheets}
    for key in maps:
        if key not in by_lower:
            name = next(n for n in rows_by_sheet if n.lower() == key)
            raise WorkbookError(f"没有名为「{name}」的工作表", "请检查工作表名称", path=str(path))
    wb = workbook_part(zin)
    names = set(zin.namelist())
    replaced: dict[str, bytes | None] = {}
    streamed: dict[str, str] = {}  # part → sheet name
    counts: dict[str, int] = {}
    for name, part in sheets.items():
        streamed[part] = name
        rmap = maps.get(name.lower())
        if rmap is not None:
            for _, typ, target in part_relations(zin, part):
                if target not in names:
                    continue
                if typ.endswith("/table"):
                    replaced[target] = _table(zin.read(target), rmap)
                elif typ.endswith("/comments") or typ.endswith("/threadedComment"):
                    replaced[target] = _comments(zin.read(target), rmap)
                elif typ.endswith("/vmlDrawing"):
                    replaced[target] = _vml(zin.read(target), rmap)
    for part in names:
        if part.startswith("xl/charts/chart") and part.endswith(".xml"):
            data = zin.read(part)
            new = _chart(data, maps)
            if new != data:
                replaced[part] = new
    replaced[wb] = _workbook(zin.read(wb), maps, list(sheets))
    for _, typ, target in part_relations(zin, wb):
        if typ.endswith("/calcChain"):
            replaced[target] = None  # Excel rebuilds it; a stale one makes it report a damaged file
            rels = rels_of(wb)
            replaced[rels] = re.sub(rb'<Relationship\b[^>]*\bTarget="[^"]*calcChain[^"]*"[^>]*/>', b"", zin.read(rels))
            replaced["[Content_Types].xml"] = re.sub(rb'<Override\b[^>]*PartName="/' + re.escape(target.encode())
                                                     + rb'"[^>]*/>', b"", zin.read("[Content_Types].xml"))
    total, done = len(sheets), 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = info.compress_type
            out.external_attr = info.external_attr
            if info.filename in streamed:
                name = streamed[info.filename]
                pass_ = _SheetPass(name, maps)
                with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**31) as dst:
                    pass_.run(src, dst, path)
                if name.lower() in maps:
                    counts[name] = pass_.removed
                done += 1
                if progress:
                    progress(done, total)
            elif info.filename in replaced:
                data = replaced[info.filename]
                if data is not None:
                    zout.writestr(out, data, compresslevel=6)
            else:
                with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**31) as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    return counts


def _xml_formula(raw: bytes, host: str | None, maps: Maps) -> tuple[bytes, bool, bool]:
    """Formula text as stored in XML → (new XML text, changed, now #REF!)."""
    text = html.unescape(raw.decode("utf-8"))
    new, broke = adjust_formula(text, host, maps)
    if new == text:
        return raw, False, False
    return escape(new).encode("utf-8"), True, broke


def _workbook(data: bytes, maps: Maps, sheet_names: list[str]) -> bytes:
    """Defined names follow the rows; Excel recalculates the book when it opens it."""
    def name(m: re.Match) -> bytes:
        local = re.search(rb'localSheetId="(\d+)"', m.group(1))
        host = sheet_names[int(local.group(1))] if local and int(local.group(1)) < len(sheet_names) else None
        try:
            new, changed, _ = _xml_formula(m.group(2), host, maps)
        except WorkbookError as exc:
            label = re.search(rb'\sname="([^"]*)"', m.group(1))
            raise WorkbookError(f"名称「{html.unescape(label.group(1).decode()) if label else '?'}」: {exc.message}"
                                "（未做任何删除）", exc.hint) from None
        return m.group(0) if not changed else b"<definedName" + m.group(1) + b">" + new + b"</definedName>"

    data = re.sub(rb"<definedName\b([^>]*)>(.*?)</definedName>", name, data, flags=re.S)
    if re.search(rb"<calcPr\b", data):
        if not re.search(rb"<calcPr\b[^>]*fullCalcOnLoad=", data):
            data = re.sub(rb"<calcPr\b", b'<calcPr fullCalcOnLoad="1"', data, count=1)
    else:
        data = re.sub(rb"(</definedNames>|<definedNames/>)", rb'\1<calcPr fullCalcOnLoad="1"/>', data, count=1) \
            if re.search(rb"</definedNames>|<definedNames/>", data) else \
            re.sub(rb"(</sheets>)", rb'\1<calcPr fullCalcOnLoad="1"/>', data, count=1)
    return data


def _chart(data: bytes, maps: Maps) -> bytes:
    def f(m: re.Match) -> bytes:
        new, changed, _ = _xml_formula(m.group(2), None, maps)
        return m.group(0) if not changed else m.group(1) + new + m.group(3)

    return re.sub(rb"(<(?:\w+:)?f>)(.*?)(</(?:\w+:)?f>)", f, data, flags=re.S)


def _comments(data: bytes, rmap: RowMap) -> bytes:
    """Notes (and threaded comments) move with their cells; those on removed rows go with the rows."""
    def one(m: re.Match) -> bytes:
        ref = m.group(2).decode()
        new = shift_reference(ref, "s", {"s": rmap})
        if new is None:
            return b""
        return m.group(0).replace(b'ref="' + m.group(2) + b'"', b'ref="' + new.encode() + b'"', 1)

    return re.sub(rb'<((?:\w+:)?(?:comment|threadedComment))\b[^>]*?\sref="([^"]*)"[^>]*?(?:/>|>.*?</\1>)', one,
                  data, flags=re.S)


def _vml(data: bytes, rmap: RowMap) -> bytes:
    """A note's box in the legacy drawing: its cell row (0-based) and anchor rows follow the cell."""
    def shape(m: re.Match) -> bytes:
        body = m.group(0)
        row = re.search(rb"<((?:\w+:)?)Row>(\d+)</(?:\w+:)?Row>", body)
        if row is None:
            return body
        old = int(row.group(2)) + 1
        new = rmap.row(old)
        if new is None:
            return b""
        delta = old - new
        if not delta:
            return body
        px = row.group(1)
        body = body.replace(row.group(0), b"<" + px + b"Row>" + str(new - 1).encode() + b"</" + px + b"Row>", 1)

        def anchor(a: re.Match) -> bytes:
            v = [x.strip() for x in a.group(2).decode().split(",")]
            if len(v) == 8:
                v[2], v[6] = str(max(0, int(v[2]) - delta)), str(max(0, int(v[6]) - delta))
            return a.group(1) + ", ".join(v).encode() + a.group(3)

        return re.sub(rb"(<(?:\w+:)?Anchor>)(.*?)(</(?:\w+:)?Anchor>)", anchor, body, count=1, flags=re.S)

    return re.sub(rb"<((?:\w+:)?)shape\b.*?</\1shape>", shape, data, flags=re.S)


def _table(data: bytes, rmap: RowMap) -> bytes:
    """A table's range (and its autofilter) after the removal; its header row stays, at least one body row is kept."""
    def ref(m: re.Match) -> bytes:
        old = m.group(2).decode()
        try:
            a, b = old.split(":")
        except ValueError:
            return m.group(0)
        ma, mb = _REF.match(a), _REF.match(b)
        r1, r2 = int(ma.group("r1")), int(mb.group("r1"))
        n1 = rmap.row(r1)
        if n1 is None:  # the header row itself: Excel refuses such a deletion; keep the table's top
            n1 = r1 - rmap.shift(r1)
        span = rmap.span(r1 + 1, r2) if r2 > r1 else None
        n2 = span[1] if span else n1 + 1
        return m.group(1) + f"{ma.group('c1')}{n1}:{mb.group('c1')}{max(n2, n1 + 1)}".encode() + b'"'

    return re.sub(rb'(<(?:\w+:)?(?:table|autoFilter)\b[^>]*?\sref=")([^"]*)"', ref, data)


__all__ = ["RowMap", "adjust_formula", "adjust_ranges", "remove_rows", "shift_reference", "translate"]
