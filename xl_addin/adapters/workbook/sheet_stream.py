"""The sheet XML stream: rows copied as they are, rows holding written cells rebuilt (bytes-level)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Iterator

from xl_addin.adapters.workbook.cells import EXCEL_MAX_TEXT, _TEXT_CARE, cell_xml, col_index, col_letter, date_kind, split_ref
from xl_addin.adapters.workbook.date_styles import Styles
from xl_addin.errors import WorkbookError

CHUNK = 4 * 1024 * 1024
_R_ATTR = re.compile(rb'\sr="(\d+)"')
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_SPANS = re.compile(rb'\sspans="(\d+):(\d+)"')
_CELL_REF = re.compile(rb'\sr="([A-Za-z]+)\d+"')
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet\b")


class Cursor:
    """The rows still to write, in ascending order, pulled one at a time from the plan."""

    __slots__ = ("_it", "row", "writes")
    END = 1 << 62

    def __init__(self, it: Iterator[tuple[int, dict[int, object]]]):
        self._it = it
        self.advance()

    def advance(self) -> None:
        self.writes: dict[int, object] | None
        nxt = next(self._it, None)
        self.row, self.writes = nxt if nxt is not None else (self.END, None)

    def rest(self) -> Iterator[int]:
        while self.row != self.END:
            r = self.row
            yield r
            self.advance()


@dataclass
class SheetPatcher:
    plan: Cursor
    bounds: tuple[int, int, int, int] | None
    header_row: int
    header_cols: set[int]
    styles: Styles
    date1904: bool
    overwrote_formula: bool = False
    _col_styles: list[tuple[int, int, int]] = field(default_factory=list)
    _tails: dict = field(default_factory=dict)
    _pieces: dict = field(default_factory=dict)
    _shapes: dict = field(default_factory=dict)

    def run(self, src, dst) -> None:
        buf = b""
        opener = None
        while opener is None:
            chunk = src.read(CHUNK)
            buf += chunk
            root = _ROOT.search(buf)
            if root:
                self.use_prefix(root.group(1) or b"")
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

    def use_prefix(self, ns: bytes) -> None:
        """The sheet's namespace prefix (b"" for none): every tag written carries it."""
        self.p = (ns + b":") if ns else b""
        self._ps = self.p.decode()
        self._texts: dict[str, bytes] = {}
        self._inline = b' t="inlineStr"><' + self.p + b'is><' + self.p + b't xml:space="preserve">'
        self._inline_end = b"</" + self.p + b"t></" + self.p + b"is></" + self.p + b"c>"

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
        END = Cursor.END
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
        if not self._col_styles:
            appended = self._append_only(tag, body, rs, last_col, writes, r)
            if appended is not None:
                return appended
        return self._patch_row_cells(tag, body, r, rs, last_col, writes)

    def _append_only(self, tag: bytes, body: bytes, rs: bytes, last_col: int, writes: dict[int, object],
                     r: int) -> bytes | None:
        """A row whose written cells all come after its last cell and no column has a default style
        (the first check of an export): the new cells are cached pieces, joined without a call per cell.

        A piece is the cell as ``_patch_row_cells`` writes it with ``\\x00`` in place of the row number
        (no cell's XML holds a NUL: text cells escape control characters), keyed by (column, value)
        for values whose equality implies the same XML (text, empty, naive dates and times; numbers
        are not cached: 1 == 1.0 == True). None when this shape does not apply.
        """
        key = tuple(writes)
        shape = self._shapes.get(key)
        if shape is None:
            cols = list(writes)
            order = sorted(range(len(cols)), key=cols.__getitem__)
            shape = (min(cols, default=0), max(cols, default=0),
                     None if order == list(range(len(cols))) else order)
            if len(self._shapes) > 1000:
                self._shapes.clear()
            self._shapes[key] = shape
        first, tail_col, order = shape
        if first <= last_col or not tail_col:
            return None
        items = list(writes.items())
        got = list(map(self._pieces.get, items))
        while None in got:  # not cached yet: built once (a unique text, a number)
            n = got.index(None)
            piece = self._piece(items[n][0], items[n][1], r, rs)
            if piece is None:
                return None
            got[n] = piece
        if order is not None:
            got = [got[i] for i in order]
        tail = b"".join(got)
        if b"\x00" in tail:
            tail = tail.replace(b"\x00", rs)
        sp = _SPANS.search(tag)
        if sp and tail_col > int(sp.group(2)):
            tag = tag[: sp.start()] + f' spans="{sp.group(1).decode()}:{tail_col}"'.encode() + tag[sp.end():]
        return b"".join((tag, body, tail, b"</" + self.p + b"row>"))

    def _piece(self, col: int, value: object, r: int, rs: bytes) -> bytes | None:
        """One appended cell with its row number as NUL (cached for the values ``_append_only`` names)."""
        kind = type(value)
        if value is None:
            xml = b""  # an empty, unstyled cell: nothing to write
        elif kind is str and len(value) <= EXCEL_MAX_TEXT and _TEXT_CARE.search(value) is None:
            # what _patch_row_cells writes for such a text, built directly
            colpre = _COL_OPENERS.get((self.p, col)) or _col_opener(self.p, col)
            xml = b"".join((colpre, b'\x00"', self._inline, value.encode(), self._inline_end))
        else:
            colpre = _COL_OPENERS.get((self.p, col)) or _col_opener(self.p, col)
            ref = colpre + rs + b'"'
            xml = self._new_cell(col, r, value, None)
            if not xml.startswith(ref) or b"\x00" in xml:
                return None
            xml = colpre + b'\x00"' + xml[len(ref):]
        if kind is str or value is None or (kind in _CACHED_TIMES and getattr(value, "tzinfo", None) is None):
            if len(self._pieces) > 20_000:  # unique texts (addresses) churn through; memory stays a few MB
                self._pieces.clear()
            self._pieces[(col, value)] = xml
        return xml

    def _patch_row_cells(self, tag: bytes, body: bytes, r: int, rs: bytes, last_col: int,
                         writes: dict[int, object]) -> bytes | None:
        """The general fast path: each written cell found by its reference or appended, one at a time."""
        p = self.p
        edits: list[tuple[int, int, bytes]] = []
        tail: list[tuple[int, bytes]] = []
        tail_col = 0  # the last column appended, written or empty (the row's spans follow it)
        close = b"</" + p + b"c>"
        texts = self._texts
        row_ref = rs + b'"'
        col_styles = self._col_styles
        openers = _COL_OPENERS
        for col, value in writes.items():
            if col > last_col:  # after the row's last cell: appended
                style = self._default_style(col) if col_styles else None
                if col > tail_col:
                    tail_col = col
                if value is None and not style:
                    continue  # an empty cell: nothing to write
                i = -1
            else:
                colpre = openers.get((p, col)) or _col_opener(p, col)
                i = body.find(colpre + row_ref)
                if i < 0:
                    return None
                j = body.find(b">", i)
                end = j + 1 if body[j - 1] == 47 else body.find(close, j) + len(close)
                old = body[i:end]
                sm = _S_ATTR.search(old, 0, j - i)
                if b"<" + p + b"f" in old:
                    self.overwrote_formula = True
                style = int(sm.group(1)) if sm else None
            colpre = openers.get((p, col)) or _col_opener(p, col)
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
        if tail_col:
            tail.sort()
            out.extend(x for _, x in tail)
            sp = _SPANS.search(tag)
            if sp and tail_col > int(sp.group(2)):
                out[0] = tag[: sp.start()] + f' spans="{sp.group(1).decode()}:{tail_col}"'.encode() + tag[sp.end():]
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


_CACHED_TIMES = (datetime, date, time)
_STYLE_ATTRS: dict[int | None, bytes] = {None: b"", 0: b""}
_COL_OPENERS: dict[tuple[bytes, int], bytes] = {}


def _col_opener(p: bytes, col: int) -> bytes:
    b = _COL_OPENERS[(p, col)] = b"<" + p + b'c r="' + col_letter(col).encode()
    return b


def _style_attr(style: int | None) -> bytes:
    a = _STYLE_ATTRS.get(style)
    if a is None and style is not None:
        a = _STYLE_ATTRS[style] = f' s="{style}"'.encode()
    return a or b""


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
