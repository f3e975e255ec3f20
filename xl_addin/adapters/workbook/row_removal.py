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
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Callable, Iterable
from xml.sax.saxutils import escape

from xl_addin.adapters.workbook.cells import col_index
from xl_addin.adapters.workbook.files import (
    assert_not_open_in_excel, atomic_replace, check_workbook_file, part_relations, rels_of, remove_stale_temps,
    sheet_parts, temp_path_for, workbook_part,
)
from xl_addin.errors import WorkbookError

CHUNK = 4 * 1024 * 1024
MAX_ROW = 1_048_576
REF_ERROR = "#REF!"

_ROW_R = re.compile(rb'\sr="\d+"')
_REF = re.compile(r"^(?:(?P<sheet>'(?:[^']|'')+'|[^'!\[\]]+)!)?"
                  r"(?P<c1>\$?[A-Za-z]{1,3})?(?P<r1>\$?\d+)?(?::(?P<c2>\$?[A-Za-z]{1,3})?(?P<r2>\$?\d+)?)?$")


class RowMap:
    """Old row number → new row number for one sheet, given the rows removed from it."""

    __slots__ = ("removed",)

    def __init__(self, removed: Iterable[int]):
        self.removed = sorted(set(int(r) for r in removed))

    def row(self, r: int) -> int | None:
        """The row's new number, None when it is removed."""
        i = bisect_left(self.removed, r)
        if i < len(self.removed) and self.removed[i] == r:
            return None
        return r - i

    def span(self, r1: int, r2: int) -> tuple[int, int] | None:
        """A row range's new bounds, None when every row of it is removed."""
        lo, hi = bisect_left(self.removed, r1), bisect_right(self.removed, r2)
        if hi - lo >= r2 - r1 + 1:
            return None
        return r1 - lo, (r2 if r2 >= MAX_ROW else r2 - hi)

    def shift(self, r: int) -> int:
        """How many removed rows lie above row ``r``."""
        return bisect_left(self.removed, r)


Maps = dict[str, RowMap]  # lower-cased sheet name → its row map


def _sheet_key(prefix: str | None) -> str | None:
    if prefix is None:
        return None
    if prefix.startswith("'"):
        prefix = prefix[1:-1].replace("''", "'")
    return prefix.lower()


def shift_reference(ref: str, host: str | None, maps: Maps) -> str | None:
    """One reference token after the removal; None when it points only at removed rows (→ #REF!).

    ``host`` is the sheet the formula lives on (unqualified references are to it)."""
    m = _REF.match(ref)
    if not m or not (m.group("r1") or m.group("c1")):
        return ref  # a name, a table reference, an error, a 3-D or external reference: unchanged
    key = _sheet_key(m.group("sheet")) if m.group("sheet") else (host.lower() if host else None)
    rmap = maps.get(key) if key is not None else None
    r1, r2 = m.group("r1"), m.group("r2")
    if rmap is None or r1 is None:
        return ref  # another sheet, or whole columns: unchanged
    c1, c2 = m.group("c1") or "", m.group("c2") or ""
    has_colon = ":" in ref[m.start("c1") if m.group("c1") else m.start("r1"):]
    if c1 and not _valid_col(c1) or c2 and not _valid_col(c2):
        return ref  # e.g. a name such as LOG10 that looks like a reference
    a = int(r1.lstrip("$"))
    if not has_colon:
        n = rmap.row(a)
        if n is None:
            return None
        return ref[:m.start("r1")] + ("$" if r1.startswith("$") else "") + str(n)
    if r2 is None:
        return ref
    b = int(r2.lstrip("$"))
    lo, hi = min(a, b), max(a, b)
    span = rmap.span(lo, hi)
    if span is None:
        return None
    n1, n2 = span if a <= b else (span[1], span[0])
    sheet = ref[:m.start("c1") if m.group("c1") else m.start("r1")]
    first = c1 + ("$" if r1.startswith("$") else "") + str(n1)
    second = c2 + ("$" if r2.startswith("$") else "") + str(n2)
    return f"{sheet}{first}:{second}"


def _valid_col(c: str) -> bool:
    return col_index(c.lstrip("$").upper()) <= 16384


_DIGITS = re.compile(r"\d+")
_SHAPES: dict[str, list[tuple[list[str], bool]] | None] = {}


def _shape(formula: str) -> list[tuple[list[str], bool]] | None:
    """The formula's tokens with their digit runs taken out: (the text around the digits, is a reference).

    Why: a staff column holds the same formula on every row with only the row numbers changing
    (``=A4&"-"&E4``, ``=A5&"-"&E5`` …); tokenizing that shape once instead of once per row is most
    of the pass's speed. None when the tokenizer does not give back the formula's exact text."""
    key = _DIGITS.sub("\x00", formula)
    if key in _SHAPES:
        return _SHAPES[key]
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        items = Tokenizer(formula).items
    except Exception:  # noqa: BLE001 - a formula openpyxl cannot split: handled one by one below
        items = None
    shape = None
    if items is not None and "=" + "".join(t.value for t in items) == formula:
        shape = [(_DIGITS.split(t.value), t.type == Token.OPERAND and t.subtype == Token.RANGE) for t in items]
    if len(_SHAPES) > 20_000:
        _SHAPES.clear()
    _SHAPES[key] = shape
    return shape


def adjust_formula(formula: str, host: str | None, maps: Maps) -> tuple[str, bool]:
    """A formula (without or with the leading ``=``) after the removal, and whether it now holds a new #REF!."""
    if not _mentions(formula, host, maps):
        return formula, False
    eq = formula.startswith("=")
    text = formula if eq else "=" + formula
    shape = _shape(text)
    if shape is None:
        raise WorkbookError(f"无法解析公式 {formula[:200]}", "请在 Excel 里检查该公式后重试")
    digits = _DIGITS.findall(text)
    k = 0
    values: list[str] = []
    broke = changed = False
    for around, is_ref in shape:
        n = len(around) - 1
        if n:
            pieces = [around[0]]
            for i in range(n):
                pieces.append(digits[k + i])
                pieces.append(around[i + 1])
            value = "".join(pieces)
            k += n
        else:
            value = around[0]
        if is_ref:
            new = shift_reference(value, host, maps)
            if new is None:
                new, broke = REF_ERROR, True
            if new != value:
                value = new
                changed = True
        values.append(value)
    if not changed:
        return formula, False
    out = "".join(values)
    return (("=" + out) if eq else out), broke


def _mentions(formula: str, host: str | None, maps: Maps) -> bool:
    if host is not None and host.lower() in maps:
        return True
    low = formula.lower()
    return any(k in low for k in maps)


def translate(formula: str, origin: str, dest: str) -> str:
    """A relative formula moved from one cell to another (openpyxl's Translator)."""
    if origin == dest:
        return formula
    from openpyxl.formula.translate import Translator

    try:
        out = Translator("=" + formula, origin=origin).translate_formula(dest)
    except Exception:  # noqa: BLE001 - openpyxl's own errors for a formula it cannot move
        raise WorkbookError(f"无法把公式 {formula[:200]} 从 {origin} 移到 {dest}",
                            "请在 Excel 里检查该公式后重试") from None
    return out[1:]


def adjust_ranges(sqref: str, rmap: RowMap | None) -> str:
    """A space-separated list of ranges on the sheet itself; ranges wholly removed are dropped ("" when all are)."""
    if rmap is None:
        return sqref
    out = []
    for part in sqref.split():
        new = shift_reference(part, "s", {"s": rmap})
        if new is not None:
            out.append(new)
    return " ".join(out)


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


class _SheetPass:
    """One worksheet streamed once: removed rows dropped, rows below renumbered, formulas adjusted."""

    def __init__(self, name: str, maps: Maps):
        self.name = name
        self.maps = maps
        self.rmap = maps.get(name.lower())
        self.removed = 0
        self.shared: dict[bytes, tuple[str, str]] = {}  # si → (formula text, anchor cell)

    def run(self, src, dst, path: Path) -> None:
        buf = b""
        opener = None
        while opener is None:
            chunk = src.read(CHUNK)
            buf += chunk
            root = re.search(rb"<(?:(\w+):)?worksheet\b", buf)
            if root:
                p = (root.group(1) + b":") if root.group(1) else b""
                self._compile(p)
                opener = re.compile(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?(/?)>").search(buf)
            if opener is None and not chunk:
                raise WorkbookError(f"工作表「{self.name}」的 XML 不完整（找不到 sheetData）",
                                    "请在 Excel 里打开修复后另存为 .xlsx", path=str(path))
        dst.write(self._head(buf[:opener.start()]))
        dst.write(buf[opener.start():opener.end()])
        rest = buf[opener.end():]
        if not opener.group(1):
            rest = self._rows(src, dst, rest, path)
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            rest += chunk
        dst.write(self._tail(rest))

    def _compile(self, p: bytes) -> None:
        q = re.escape(p)
        self.p = p
        self.end_tag = b"</" + p + b"sheetData>"
        self.row_close = b"</" + p + b"row>"
        self.row_re = re.compile(rb"<" + q + rb"row\b([^>]*?)(?:/>|>(.*?)</" + q + rb"row>)", re.S)
        self.cell_re = re.compile(rb"<" + q + rb"c\b([^>]*?)(?:/>|>(.*?)</" + q + rb"c>)", re.S)
        self.cref_re = re.compile(rb'(<' + q + rb'c\b[^>]*?\sr="[A-Z]+)\d+"')
        self.f_re = re.compile(rb"<" + q + rb"f\b([^>]*?)(?:/>|>(.*?)</" + q + rb"f>)", re.S)
        self.f_tag = b"<" + p + b"f"
        self.v_re = re.compile(rb"<" + q + rb"v>.*?</" + q + rb"v>|<" + q + rb"v/>", re.S)

    # -- before <sheetData>: the used range
    def _head(self, head: bytes) -> bytes:
        if self.rmap is None:
            return head

        def dim(m: re.Match) -> bytes:
            new = adjust_ranges(m.group(2).decode(), self.rmap) or "A1"
            return m.group(1) + new.encode() + b'"'

        return re.sub(rb"(<(?:\w+:)?dimension\b[^>]*\sref=\")([^\"]*)\"", dim, head, count=1)

    # -- the rows, region by region
    def _rows(self, src, dst, buf: bytes, path: Path) -> bytes:
        last_r = 0
        while True:
            end = buf.find(self.end_tag)
            final = end >= 0
            if final:
                cut = end
            else:
                k = buf.rfind(self.row_close)
                cut = k + len(self.row_close) if k >= 0 else 0
                if cut == 0:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        raise WorkbookError(f"工作表「{self.name}」的 XML 不完整（sheetData 没有结束）",
                                            "请在 Excel 里打开修复后另存为 .xlsx", path=str(path))
                    buf += chunk
                    continue
            region, out, pos = buf[:cut], [], 0
            if self.rmap is None and self.f_tag not in region:
                out.append(region)  # nothing on this stretch can change
            else:
                for m in self.row_re.finditer(region):
                    out.append(region[pos:m.start()])
                    pos = m.end()
                    rm = re.search(rb'\sr="(\d+)"', m.group(1))
                    r = int(rm.group(1)) if rm else last_r + 1
                    last_r = r
                    out.append(self._row(m, r, rm is not None))
                out.append(region[pos:])
            dst.write(b"".join(out))
            buf = buf[cut:]
            if final:
                return buf
            chunk = src.read(CHUNK)
            if not chunk:
                raise WorkbookError(f"工作表「{self.name}」的 XML 不完整（sheetData 没有结束）",
                                    "请在 Excel 里打开修复后另存为 .xlsx", path=str(path))
            buf += chunk

    def _row(self, m: re.Match, r: int, numbered: bool) -> bytes:
        body = m.group(2) or b""
        rmap = self.rmap
        if rmap is not None:
            n = rmap.row(r)
            if n is None:
                self.removed += 1
                if b"shared" in body and self.f_tag in body:
                    self._note_shared(body, r)
                return b""
        else:
            n = r
        has_f = self.f_tag in body
        if n == r and not has_f:
            return m.group(0)
        attrs = m.group(1)
        nb = str(n).encode()
        if numbered:
            rm = _ROW_R.search(attrs)
            attrs = attrs[:rm.start()] + b' r="' + nb + b'"' + attrs[rm.end():]
        else:
            attrs = b' r="' + nb + b'"' + attrs
        if n != r:
            tail = nb + b'"'
            parts = self.cref_re.split(body)   # [text, cell opener up to the letters, text, …]
            parts[1::2] = [opener + tail for opener in parts[1::2]]
            body = b"".join(parts)
        if has_f:
            body = self._formula_cells(body, r, n)
        if m.group(2) is None:
            return b"<" + self.p + b"row" + attrs.rstrip() + b"/>"
        return b"<" + self.p + b"row" + attrs + b">" + body + self.row_close

    def _formula_cells(self, body: bytes, r: int, n: int) -> bytes:
        """Only the cells that hold a formula are re-parsed (the rest of the row is copied)."""
        out, pos = [], 0
        opener = b"<" + self.p + b"c"
        close = b"</" + self.p + b"c>"
        k = body.find(self.f_tag)
        while k >= 0:
            start = body.rfind(opener, pos, k)
            end = body.find(close, k)
            if start < 0 or end < 0:
                break
            end += len(close)
            c = self.cell_re.match(body, start)
            if c is None or c.end() != end:
                break
            out.append(body[pos:start])
            out.append(self._cell(c, r, n))
            pos = end
            k = body.find(self.f_tag, pos)
        out.append(body[pos:])
        return b"".join(out)

    def _note_shared(self, body: bytes, r: int) -> None:
        for c in self.cell_re.finditer(body):
            inner = c.group(2) or b""
            f = self.f_re.search(inner)
            if f and b'shared' in (f.group(1) or b"") and f.group(2):
                si = re.search(rb'\ssi="(\d+)"', f.group(1))
                ref = re.search(rb'\sr="([A-Z]+)\d+"', c.group(1))
                if si and ref:
                    self.shared[si.group(1)] = (html.unescape(f.group(2).decode()), f"{ref.group(1).decode()}{r}")

    def _cell(self, c: re.Match, r: int, n: int) -> bytes:
        try:
            return self._cell_formula(c, r, n)
        except WorkbookError as exc:
            ref = re.search(rb'\sr="([A-Z]+)\d+"', c.group(1))
            col = ref.group(1).decode() if ref else "?"
            raise WorkbookError(f"工作表「{self.name}」第{r}行 {col}列: {exc.message}（未做任何删除）",
                                exc.hint) from None

    def _cell_formula(self, c: re.Match, r: int, n: int) -> bytes:
        attrs, inner = c.group(1), c.group(2)
        ref = re.search(rb'\sr="([A-Z]+)\d+"', attrs)
        col = ref.group(1) if ref else None
        if col is not None and n != r:
            attrs = attrs[:ref.start()] + b' r="' + col + str(n).encode() + b'"' + attrs[ref.end():]
        if inner is None or self.f_tag not in inner:
            return b"<" + self.p + b"c" + attrs + (b">" + inner + b"</" + self.p + b"c>" if inner is not None else b"/>")
        f = self.f_re.search(inner)
        fattrs, ftext = f.group(1) or b"", f.group(2)
        here = f"{col.decode()}{r}" if col else None
        text = None
        if b"shared" in fattrs:
            si = re.search(rb'\ssi="(\d+)"', fattrs)
            if ftext:
                text = html.unescape(ftext.decode())
                if si and here:
                    self.shared[si.group(1)] = (text, here)
            elif si and si.group(1) in self.shared and here:
                master, origin = self.shared[si.group(1)]
                text = translate(master, origin, here)
            fattrs = re.sub(rb'\s(?:t="shared"|si="\d+"|ref="[^"]*")', b"", fattrs)
        elif ftext is not None:
            text = html.unescape(ftext.decode())
        if b'array' in fattrs and self.rmap is not None:
            fattrs = re.sub(rb'(\sref=")([^"]*)"', lambda m: m.group(1) + (adjust_ranges(m.group(2).decode(), self.rmap)
                                                                           or here or "A1").encode() + b'"', fattrs)
        if text is None:
            return b"<" + self.p + b"c" + attrs + b">" + inner + b"</" + self.p + b"c>"
        new, broke = adjust_formula(text, self.name, self.maps)
        fxml = b"<" + self.p + b"f" + fattrs + b">" + escape(new).encode("utf-8") + b"</" + self.p + b"f>"
        inner = inner[:f.start()] + fxml + inner[f.end():]
        if broke:
            inner = self.v_re.sub(b"", inner) + b"<" + self.p + b"v>#REF!</" + self.p + b"v>"
            attrs = re.sub(rb'\st="[^"]*"', b"", attrs) + b' t="e"'
        return b"<" + self.p + b"c" + attrs + b">" + inner + b"</" + self.p + b"c>"

    # -- after </sheetData>: merged cells, conditional formats, validations, hyperlinks, autofilter
    def _tail(self, tail: bytes) -> bytes:
        rmap = self.rmap
        if rmap is not None:
            tail = re.sub(rb'<(?:\w+:)?mergeCell\b[^>]*\sref="([^"]*)"[^>]*/>',
                          lambda m: self._keep_ref(m, m.group(1), merge=True), tail)
            tail = re.sub(rb'<(?:\w+:)?hyperlink\b[^>]*\sref="([^"]*)"[^>]*/>',
                          lambda m: self._keep_ref(m, m.group(1)), tail)
            tail = re.sub(rb'(<(?:\w+:)?autoFilter\b[^>]*\sref=")([^"]*)"',
                          lambda m: m.group(1) + (adjust_ranges(m.group(2).decode(), rmap) or "A1").encode() + b'"',
                          tail)
            tail = re.sub(rb'(<(?:\w+:)?mergeCells\b[^>]*\scount=")\d+"',
                          lambda m: m.group(1) + str(len(re.findall(rb"<(?:\w+:)?mergeCell\b", tail))).encode() + b'"',
                          tail)
        tail = re.sub(rb"<((?:\w+:)?)conditionalFormatting\b([^>]*)>(.*?)</(?:\w+:)?conditionalFormatting>",
                      lambda m: self._ranged(m, b"conditionalFormatting", rb"formula"), tail, flags=re.S)
        tail = re.sub(rb"<((?:\w+:)?)dataValidation\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?dataValidation>)",
                      lambda m: self._ranged(m, b"dataValidation", rb"formula[12]"), tail, flags=re.S)
        tail = re.sub(rb'(<((?:\w+:)?)dataValidations\b[^>]*\scount=")\d+"',
                      lambda m: m.group(1) + str(len(re.findall(rb"<" + re.escape(m.group(2)) + rb"dataValidation\b",
                                                                tail))).encode() + b'"', tail)
        # a container left with no children is invalid in the file format (Excel would "repair" the book)
        tail = re.sub(rb"<((?:\w+:)?)(mergeCells|dataValidations|hyperlinks|conditionalFormattings)\b[^>]*>\s*"
                      rb"</\1\2>", b"", tail)
        tail = re.sub(rb"<((?:\w+:)?)ext\b[^>]*>\s*</\1ext>", b"", tail)
        tail = re.sub(rb"<((?:\w+:)?)extLst\b[^>]*>\s*</\1extLst>", b"", tail)
        return tail

    def _keep_ref(self, m: re.Match, ref: bytes, merge: bool = False) -> bytes:
        new = adjust_ranges(ref.decode(), self.rmap)
        if not new:
            return b""
        if merge and ":" in new and new.split(":")[0].replace("$", "") == new.split(":")[1].replace("$", ""):
            return b""  # a merge shrunk to one cell is no merge (as Excel leaves it)
        return m.group(0).replace(b'ref="' + ref + b'"', b'ref="' + new.encode() + b'"')

    def _ranged(self, m: re.Match, tag: bytes, formula_tag: bytes) -> bytes:
        """A conditional format or validation: its ranges shrink or move; its formulas, relative to the
        top-left cell of its first range, follow that cell."""
        pre, attrs, inner = m.group(1), m.group(2), m.group(3)
        sq = re.search(rb'\ssqref="([^"]*)"', attrs)
        ext = None
        if sq is None:  # Excel 2010's extension form (x14:…): <xm:sqref> and <xm:f> inside
            ext = re.search(rb"(<(?:\w+:)?sqref>)(.*?)(</(?:\w+:)?sqref>)", inner or b"", re.S)
            if ext is None:
                return m.group(0)
            formula_tag = rb"f"
        old = (sq or ext).group(1 if sq else 2).decode()
        new = adjust_ranges(old, self.rmap)
        if not new:
            return b""
        anchor_old = _top_left(old)
        first_kept = self._first_kept(old)
        if inner is not None:
            def fx(f: re.Match) -> bytes:
                text = html.unescape(f.group(2).decode())
                moved = translate(text, anchor_old, first_kept) if anchor_old and first_kept else text
                adj, _ = adjust_formula(moved, self.name, self.maps)
                if adj == text:
                    return f.group(0)
                return f.group(1) + escape(adj).encode() + f.group(3)

            inner = re.sub(rb"(<(?:\w+:)?" + formula_tag + rb">)(.*?)(</(?:\w+:)?" + formula_tag + rb">)", fx,
                           inner, flags=re.S)
        if sq is not None:
            attrs = attrs[:sq.start()] + b' sqref="' + new.encode() + b'"' + attrs[sq.end():]
        else:
            inner = re.sub(rb"(<(?:\w+:)?sqref>)(.*?)(</(?:\w+:)?sqref>)",
                           lambda x: x.group(1) + new.encode() + x.group(3), inner, count=1, flags=re.S)
        if inner is None:
            return b"<" + pre + tag + attrs + b"/>"
        return b"<" + pre + tag + attrs + b">" + inner + b"</" + pre + tag + b">"

    def _first_kept(self, sqref: str) -> str | None:
        """The old address of the cell that becomes the top-left of the first remaining range."""
        if self.rmap is None:
            return _top_left(sqref)
        for part in sqref.split():
            m = _REF.match(part)
            if not m or not m.group("r1"):
                return None
            c = (m.group("c1") or "A").lstrip("$")
            a = int(m.group("r1").lstrip("$"))
            b = int(m.group("r2").lstrip("$")) if m.group("r2") else a
            for r in _kept_rows(self.rmap, a, b):
                return f"{c}{r}"
        return None


def _kept_rows(rmap: RowMap, a: int, b: int):
    """The first row of a..b that stays (as a one-item iterator; empty when all go)."""
    i = bisect_left(rmap.removed, a)
    r = a
    while r <= b and i < len(rmap.removed) and rmap.removed[i] == r:
        i += 1
        r += 1
    if r <= b:
        yield r


def _top_left(sqref: str) -> str | None:
    part = sqref.split()[0] if sqref.split() else ""
    m = _REF.match(part)
    if not m or not m.group("r1"):
        return None
    return f"{(m.group('c1') or 'A').lstrip('$')}{m.group('r1').lstrip('$')}"


__all__ = ["RowMap", "adjust_formula", "adjust_ranges", "remove_rows", "shift_reference", "translate"]
