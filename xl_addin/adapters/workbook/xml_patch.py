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
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from xl_addin.adapters.workbook.cells import EXCEL_MAX_TEXT, _TEXT_CARE, cell_xml, col_index, col_letter, date_kind, split_ref
from xl_addin.adapters.workbook.files import (
    assert_not_open_in_excel, atomic_replace, check_workbook_file, part_relations, remove_stale_temps,
    sheet_parts, temp_path_for, uses_1904_dates,
)
from xl_addin.adapters.workbook.lock import workbook_lock
from xl_addin.errors import WorkbookError

CHUNK = 4 * 1024 * 1024
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_TABLE = "/table"
_REL_STYLES = "/styles"
_REL_CALCCHAIN = "/calcChain"
_DATE_BUILTINS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))

_R_ATTR = re.compile(rb'\sr="(\d+)"')
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_SPANS = re.compile(rb'\sspans="(\d+):(\d+)"')
_CELL_REF = re.compile(rb'\sr="([A-Za-z]+)\d+"')
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet\b")


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
            except (zlib.error, zipfile.BadZipFile, EOFError) as exc:
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
    styles = _Styles(zin)
    patcher = _SheetPatcher(_Cursor(plan), bounds, header_row, set(headers), styles, uses_1904_dates(zin))
    sheet_info = zin.getinfo(part)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        zi = zipfile.ZipInfo(part, date_time=sheet_info.date_time)
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zin.open(sheet_info) as src, zout.open(zi, "w", force_zip64=sheet_info.file_size > 2**31) as dst:
            patcher.run(src, dst)

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
            with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**31) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
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


# ---------------------------------------------------------------- styles

class _Styles:
    """Finds or adds the cell format a date needs, cloned from the cell's own format (fill, font, border kept)."""

    def __init__(self, zin: zipfile.ZipFile):
        self._zin = zin
        self.part = next((t for _, typ, t in part_relations(zin, _wb(zin)) if typ.endswith(_REL_STYLES)), None)
        self._root = None
        self._cache: dict[tuple[int, int], int] = {}
        self.changed = False

    def _load(self):
        if self._root is None:
            from lxml import etree

            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
            self._root = etree.fromstring(self._zin.read(self.part), parser)
            ns = {"m": _NS_MAIN}
            self._xfs = self._root.find("m:cellXfs", ns)
            self._custom = {int(n.get("numFmtId")): n.get("formatCode", "")
                            for n in self._root.iterfind("m:numFmts/m:numFmt", ns)}
        return self._root

    def _is_date_fmt(self, fmt_id: int) -> bool:
        if fmt_id in _DATE_BUILTINS:
            return True
        code = self._custom.get(fmt_id)
        if not code:
            return False
        code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
        return bool(re.search(r"[ydhs]", code, re.I)) or bool(re.search(r"m", code, re.I) and "0" not in code)

    def date_style(self, base: int | None, fmt_id: int) -> int | None:
        """The xf index to use for a date/time in a cell whose current style is ``base``."""
        if self.part is None:
            return base
        key = (base or 0, fmt_id)
        if key in self._cache:
            return self._cache[key]
        self._load()
        if self._xfs is None:
            return base
        xfs = list(self._xfs)
        src = xfs[base] if base is not None and base < len(xfs) else (xfs[0] if xfs else None)
        if src is not None and self._is_date_fmt(int(src.get("numFmtId", "0"))):
            self._cache[key] = base or 0
            return base
        from copy import deepcopy

        new = deepcopy(src) if src is not None else self._xfs.makeelement(f"{{{_NS_MAIN}}}xf", {})
        new.set("numFmtId", str(fmt_id))
        new.set("applyNumberFormat", "1")
        for i, xf in enumerate(xfs):
            if _same_xf(xf, new):
                self._cache[key] = i
                return i
        self._xfs.append(new)
        self._xfs.set("count", str(len(xfs) + 1))
        self.changed = True
        self._cache[key] = len(xfs)
        return len(xfs)

    def to_bytes(self) -> bytes:
        from lxml import etree

        return etree.tostring(self._root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _same_xf(a, b) -> bool:
    from lxml import etree

    return dict(a.attrib) == dict(b.attrib) and etree.tostring(a) == etree.tostring(b)


def _wb(zin: zipfile.ZipFile) -> str:
    from xl_addin.adapters.workbook.files import workbook_part

    return workbook_part(zin)


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


# ---------------------------------------------------------------- the sheet stream

class _Cursor:
    """The rows still to write, in ascending order, pulled one at a time from the plan."""

    __slots__ = ("_it", "row", "writes")
    END = 1 << 62

    def __init__(self, it: Iterator[tuple[int, dict[int, object]]]):
        self._it = it
        self.advance()

    def advance(self) -> None:
        nxt = next(self._it, None)
        self.row, self.writes = nxt if nxt is not None else (self.END, None)

    def rest(self) -> Iterator[int]:
        while self.row != self.END:
            r = self.row
            yield r
            self.advance()


@dataclass
class _SheetPatcher:
    plan: _Cursor
    bounds: tuple[int, int, int, int] | None
    header_row: int
    header_cols: set[int]
    styles: _Styles
    date1904: bool
    overwrote_formula: bool = False
    _col_styles: list[tuple[int, int, int]] = field(default_factory=list)
    _tails: dict = field(default_factory=dict)

    def run(self, src, dst) -> None:
        buf = b""
        opener = None
        while opener is None:
            chunk = src.read(CHUNK)
            buf += chunk
            root = _ROOT.search(buf)
            if root:
                self.p = (root.group(1) + b":") if root.group(1) else b""
                self._ps = self.p.decode()
                self._texts: dict[str, bytes] = {}
                self._inline = b' t="inlineStr"><' + self.p + b'is><' + self.p + b't xml:space="preserve">'
                self._inline_end = b"</" + self.p + b"t></" + self.p + b"is></" + self.p + b"c>"
                opener = re.compile(rb"<" + re.escape(self.p) + rb"sheetData\b[^>]*?(/?)>").search(buf)
            if opener is None and not chunk:
                raise WorkbookError("工作表 XML 不完整（找不到 sheetData）", "请在 Excel 里打开修复后另存为 .xlsx")
        head = self._fix_head(buf[: opener.start()])
        dst.write(head)
        rest = buf[opener.end():]
        if opener.group(1):  # <sheetData/>
            dst.write(b"<" + self.p + b"sheetData>")
            for r in self.plan.rest():
                dst.write(self._new_row(r))
            dst.write(b"</" + self.p + b"sheetData>")
            dst.write(rest)
        else:
            dst.write(buf[opener.start(): opener.end()])
            rest = self._rows(src, dst, rest)
            dst.write(rest)
        shutil.copyfileobj(src, dst, CHUNK)

    # -- before <sheetData>: the dimension and the column default styles
    def _fix_head(self, head: bytes) -> bytes:
        p = re.escape(self.p)
        for m in re.finditer(rb"<" + p + rb"col\b([^>]*)>", head):
            lo = re.search(rb'\smin="(\d+)"', m.group(1))
            hi = re.search(rb'\smax="(\d+)"', m.group(1))
            st = _S_ATTR.search(b" " + m.group(1).replace(b"style=", b"s="))
            if lo and hi and st:
                self._col_styles.append((int(lo.group(1)), int(hi.group(1)), int(st.group(1))))
        if not self.bounds:
            return head
        r1, r2, c1, c2 = self.bounds

        def grow(m: re.Match) -> bytes:
            ref = m.group(2).decode()
            try:
                parts = [split_ref(x) for x in ref.split(":")]
            except ValueError:
                return m.group(0)
            (a, b), (c, d) = parts[0], parts[-1]
            new = f"{col_letter(min(b, c1))}{min(a, r1)}:{col_letter(max(d, c2))}{max(c, r2)}"
            return m.group(1) + new.encode() + b'"'

        return re.sub(rb"(<" + p + rb'dimension\b[^>]*\sref=")([^"]*)"', grow, head, count=1)

    def _default_style(self, col: int) -> int | None:
        for lo, hi, st in self._col_styles:
            if lo <= col <= hi:
                return st
        return None

    # -- <row> elements, region by region; only rows with written cells are rebuilt
    def _rows(self, src, dst, buf: bytes) -> bytes:
        p = self.p
        end_tag = b"</" + p + b"sheetData>"
        row_close = b"</" + p + b"row>"
        row_open = re.compile(rb"<" + re.escape(p) + rb"row\b[^>]*>")
        plan = self.plan
        END = _Cursor.END
        last_r, rowless = 0, False
        while True:
            end = buf.find(end_tag)
            final = end >= 0
            if final:
                cut = end
            else:
                k = buf.rfind(row_close)
                cut = k + len(row_close) if k >= 0 else 0
                if cut == 0:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        raise WorkbookError("工作表 XML 不完整（sheetData 没有结束）", "请在 Excel 里打开修复后另存为 .xlsx")
                    buf += chunk
                    continue
            region, out, pos = buf[:cut], [], 0
            for m in row_open.finditer(region) if (plan.row != END or rowless) else ():
                tag = m.group(0)
                rm = _R_ATTR.search(tag)
                rowless = rowless or rm is None
                r = int(rm.group(1)) if rm else last_r + 1
                last_r = r
                while plan.row < r:
                    out.append(region[pos:m.start()])
                    out.append(self._new_row(plan.row))
                    plan.advance()
                    pos = m.start()
                touched = plan.row == r
                if not touched and rm:
                    continue
                if tag.endswith(b"/>"):
                    body, row_end = b"", m.end()
                    tag = tag[:-2].rstrip() + b">"
                else:
                    close = region.find(row_close, m.end())
                    body, row_end = region[m.end(): close], close + len(row_close)
                if not rm:
                    tag = tag[: len(p) + 4] + f' r="{r}"'.encode() + tag[len(p) + 4:]
                out.append(region[pos:m.start()])
                if touched:
                    out.append(self._patch_row(tag, body, r))
                    plan.advance()
                else:
                    out.append(tag + body + row_close)
                pos = row_end
            out.append(region[pos:])
            if final:
                out.extend(self._new_row(r) for r in plan.rest())
            dst.write(b"".join(out))
            buf = buf[cut:]
            if final:
                return buf
            chunk = src.read(CHUNK)
            if not chunk:
                raise WorkbookError("工作表 XML 不完整（sheetData 没有结束）", "请在 Excel 里打开修复后另存为 .xlsx")
            buf += chunk

    def _new_row(self, r: int) -> bytes:
        body = self._patch_row(b"<" + self.p + b'row r="' + str(r).encode() + b'">', b"", r)
        return body

    def _patch_row(self, tag: bytes, body: bytes, r: int) -> bytes:
        if r != self.header_row:
            fast = self._patch_row_fast(tag, body, r)
            if fast is not None:
                return fast
        return self._patch_row_full(tag, body, r)

    def _new_cell(self, col: int, r: int, value: object, style: int | None) -> bytes:
        if type(value) is not str:
            kind = date_kind(value)
            if kind is not None:
                style = self.styles.date_style(style, kind)
        return cell_xml(f"{_letters(col)}{r}", value, style, self._ps, self.date1904).encode("utf-8")

    def _cell_after_ref(self, colpre: bytes, row_ref: bytes, col: int, r: int, value: object,
                        style: int | None) -> bytes:
        """A non-text cell; the part after its reference is cached (a batch writes the same moment
        into every row)."""
        try:
            key = (type(value), value, style)
            tail = self._tails.get(key)
        except TypeError:
            return self._new_cell(col, r, value, style)
        if tail is None:
            xml = self._new_cell(col, r, value, style)
            ref = colpre + row_ref
            if not xml.startswith(ref):
                return xml
            if len(self._tails) > 10_000:
                self._tails.clear()
            tail = self._tails[key] = xml[len(ref):]
        return colpre + row_ref + tail

    def _patch_row_fast(self, tag: bytes, body: bytes, r: int) -> bytes | None:
        """Rows whose cells all start ``<c r="..."``: find written cells by their exact reference (C speed)
        and append new ones after the last cell; anything else goes to the full path."""
        p = self.p
        opener = b"<" + p + b'c r="'
        if body and body.count(b"<" + p + b"c") != body.count(opener):
            return None
        writes = self.plan.writes
        rs = str(r).encode()
        last_col = 0
        if body:
            k = body.rfind(opener) + len(opener)
            q = body.find(rs + b'"', k)
            last_col = _col_of(body[k:q])
        edits: list[tuple[int, int, bytes]] = []
        tail: list[tuple[int, bytes]] = []
        close = b"</" + p + b"c>"
        texts = self._texts
        row_ref = rs + b'"'
        for col, value in writes.items():
            colpre = _COL_OPENERS.get((p, col)) or _col_opener(p, col)
            i = body.find(colpre + row_ref) if col <= last_col else -1
            if i >= 0:
                j = body.find(b">", i)
                end = j + 1 if body[j - 1] == 47 else body.find(close, j) + len(close)
                old = body[i:end]
                sm = _S_ATTR.search(old, 0, j - i)
                if b"<" + p + b"f" in old:
                    self.overwrote_formula = True
                style = int(sm.group(1)) if sm else None
            elif col > last_col:
                style = self._default_style(col) if self._col_styles else None
            else:
                return None
            text = texts.get(value) if type(value) is str else None
            if text is None and type(value) is str and not _needs_care(value):
                if len(texts) > 200_000:
                    texts.clear()
                text = texts[value] = b"".join((self._inline, value.encode(), self._inline_end))
            if text is not None:
                new = b"".join((colpre, row_ref, _STYLE_ATTRS.get(style) or _style_attr(style), text))
            elif value is None and not style:
                new = b""
            else:
                new = self._cell_after_ref(colpre, row_ref, col, r, value, style)
            if i >= 0:
                edits.append((i, end, new))
            else:
                tail.append((col, new))
        edits.sort()
        out, pos = [tag], 0
        for i, end, new in edits:
            out.append(body[pos:i])
            out.append(new)
            pos = end
        out.append(body[pos:])
        if tail:
            tail.sort()
            out.extend(x for _, x in tail)
            sp = _SPANS.search(tag)
            if sp and tail[-1][0] > int(sp.group(2)):
                out[0] = tag[: sp.start()] + f' spans="{sp.group(1).decode()}:{tail[-1][0]}"'.encode() + tag[sp.end():]
        out.append(b"</" + p + b"row>")
        return b"".join(out)

    def _patch_row_full(self, tag: bytes, body: bytes, r: int) -> bytes:
        p = self.p
        writes = self.plan.writes
        cell_re = _cell_pattern(p)
        kept: list[tuple[int, bytes]] = []
        existing: dict[int, bytes] = {}
        extra, pos, last_c = [], 0, 0
        for m in cell_re.finditer(body):
            between = body[pos:m.start()]
            if between.strip():
                extra.append(between)
            pos = m.end()
            attrs = m.group(1)
            rm = _CELL_REF.search(attrs)
            col = _col_of(rm.group(1)) if rm else last_c + 1
            last_c = col
            if col in writes:
                existing[col] = m.group(0)
                continue
            cell = m.group(0)
            if not rm:
                cell = cell[: len(p) + 2] + f' r="{col_letter(col)}{r}"'.encode() + cell[len(p) + 2:]
            kept.append((col, cell))
        tail = body[pos:]
        if tail.strip():
            extra.append(tail)
        for col, value in writes.items():
            old = existing.get(col)
            if old is not None:
                sm = _S_ATTR.search(old.split(b">", 1)[0])
                style = int(sm.group(1)) if sm else None
                if b"<" + p + b"f" in old:
                    self.overwrote_formula = True
            elif r == self.header_row and col in self.header_cols:
                left = [c for c in kept if c[0] < col]
                sm = _S_ATTR.search(left[-1][1].split(b">", 1)[0]) if left else None
                style = int(sm.group(1)) if sm else None
            else:
                style = self._default_style(col)
            xml = self._new_cell(col, r, value, style)
            if xml:
                kept.append((col, xml))
        kept.sort(key=lambda c: c[0])
        if kept:
            sp = _SPANS.search(tag)
            if sp and (kept[0][0] < int(sp.group(1)) or kept[-1][0] > int(sp.group(2))):
                lo, hi = min(kept[0][0], int(sp.group(1))), max(kept[-1][0], int(sp.group(2)))
                tag = tag[: sp.start()] + f' spans="{lo}:{hi}"'.encode() + tag[sp.end():]
        return tag + b"".join(c for _, c in kept) + b"".join(extra) + b"</" + p + b"row>"


_CELL_PATTERNS: dict[bytes, re.Pattern] = {}
_COLS: dict[bytes, int] = {}


_STYLE_ATTRS: dict[int | None, bytes] = {None: b"", 0: b""}
_COL_OPENERS: dict[tuple[bytes, int], bytes] = {}


def _col_opener(p: bytes, col: int) -> bytes:
    b = _COL_OPENERS[(p, col)] = b"<" + p + b'c r="' + col_letter(col).encode()
    return b


def _style_attr(style: int | None) -> bytes:
    a = _STYLE_ATTRS.get(style)
    if a is None and style is not None:
        a = _STYLE_ATTRS[style] = f' s="{style}"'.encode()
    return a


def _needs_care(text: str) -> bool:
    return len(text) > EXCEL_MAX_TEXT or _TEXT_CARE.search(text) is not None


def _letters(col: int) -> str:
    return col_letter(col)


def _col_of(letters: bytes) -> int:
    n = _COLS.get(letters)
    if n is None:
        n = _COLS[letters] = col_index(letters)
    return n


def _cell_pattern(p: bytes) -> re.Pattern:
    if p not in _CELL_PATTERNS:
        q = re.escape(p)
        _CELL_PATTERNS[p] = re.compile(rb"<" + q + rb"c\b([^>]*?)(?:/>|>(.*?)</" + q + rb"c>)", re.S)
    return _CELL_PATTERNS[p]
