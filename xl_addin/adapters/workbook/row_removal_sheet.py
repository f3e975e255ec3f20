"""One worksheet part streamed once for row removal: removed rows dropped, rows below renumbered, every
formula, range, merge and link on the sheet adjusted (see ``row_removal``)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from xml.sax.saxutils import escape

from xl_addin.errors import WorkbookError

from xl_addin.adapters.workbook.row_shift import CHUNK, Maps, _REF, _ROW_R, _kept_rows, _top_left, adjust_formula, adjust_ranges, translate


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
