"""A streaming reader for huge sheets: the sheet XML is parsed row by row, so memory does not grow with it.

Why: python-calamine holds a whole sheet in memory (about 1.2 GB for 1,000,000 order rows) before
the first row can be checked. This reader walks the sheet part with ``lxml.etree.iterparse``,
clearing every row once it is read, and keeps the shared strings (read once, before the sheet)
as UTF-8 in an anonymous temporary file with only their offsets in memory. It offers the small
part of calamine's workbook interface that ``reader.iter_sheet`` uses (``sheets_metadata``,
``get_sheet_by_name`` → ``start``/``end``/``iter_rows``/``merged_cell_ranges``, ``close``), with
the same values: text as text, numbers as floats, booleans as bools, date-formatted numbers as
``datetime``/``date``/``time``/``timedelta``, empty cells as ``""``. The tests compare it with
calamine on the same files.

Calamine stays the reader for ordinary sheets: it is several times faster per cell.
"""

from __future__ import annotations

import array
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Iterator

from xl_addin.adapters.workbook.cells import col_index
from xl_addin.adapters.workbook.files import (
    hidden_sheets, part_relations, sheet_parts, uses_1904_dates, workbook_part,
)

STREAM_FROM_BYTES = 128 * 1024**2  # unpacked sheet XML from which the streaming reader is used (~280,000 order rows)

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _C, _V, _IS, _T, _R, _RPH, _SI = (f"{{{_NS}}}{t}" for t in ("row", "c", "v", "is", "t", "r", "rPh", "si"))
_EPOCH = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)
_DATE_BUILTINS = frozenset(range(14, 23)) | {45, 47} | frozenset(range(27, 37)) | frozenset(range(50, 59))
_DURATION_BUILTINS = frozenset({46})
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\sref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW_TAG = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d+)"')
_HAS_VALUE = re.compile(rb"<(?:\w+:)?(?:v|t)\b[^>]*>[^<]")
_READ = 4 * 1024 * 1024


def before_reading(path: str | os.PathLike) -> None:
    """The one check every read of a user's workbook passes first (size and shape limits).

    Issue 20's ``adapters/workbook/limits.py`` provides ``check_before_reading(path)``; until it
    exists this does nothing. Called by ``reader.iter_sheet`` for calamine and streaming reads alike.
    """
    try:
        from xl_addin.adapters.workbook.limits import check_before_reading  # type: ignore[import-not-found]
    except ImportError:
        return
    check_before_reading(path)


def use_streaming(path: str | os.PathLike, sheet_name: str | None = None,
                  from_bytes: int = STREAM_FROM_BYTES) -> bool:
    """True when the sheet to read (or the largest sheet) unpacks to at least ``from_bytes`` of XML."""
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        names = [parts[sheet_name]] if sheet_name in parts else list(parts.values())
        sizes = [zf.getinfo(n).file_size for n in names if n in zf.NameToInfo]
    return bool(sizes) and max(sizes) >= from_bytes


@dataclass(frozen=True)
class _SheetMeta:
    """Shaped like python-calamine's sheet metadata (its ``visible`` is an enum whose text ends in the state)."""

    name: str
    typ: str = "WorkSheet"
    visible: str = "Visible"


class StreamingWorkbook:
    """The workbook side: sheet names, shared strings, date formats. Close it to drop the strings file."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zf = zipfile.ZipFile(self.path)
        self._parts = sheet_parts(self._zf)
        hidden = hidden_sheets(self._zf)
        self.sheets_metadata = [_SheetMeta(name, visible="Hidden" if name in hidden else "Visible")
                                for name in self._parts]
        self._date1904 = uses_1904_dates(self._zf)
        self._strings = _SharedStrings(self._zf)
        self._formats = _date_formats(self._zf)

    def get_sheet_by_name(self, name: str) -> "StreamingSheet":
        return StreamingSheet(self, self._parts[name])

    def close(self) -> None:
        if self._zf is not None:
            self._strings.close()
            self._zf.close()
            self._zf = None


class StreamingSheet:
    """One sheet: ``start``/``end`` (0-based, like calamine) and the merges from a quick pass; rows on demand."""

    def __init__(self, wb: StreamingWorkbook, part: str):
        self._wb, self._part = wb, part
        first, last, merges = _survey(wb._zf, part)
        self.start = (0, 0) if first is not None else None  # rows and columns absolute, from A1 (as calamine's rows)
        self.end = (last, 0) if last is not None else None
        self.merged_cell_ranges = merges

    def iter_rows(self) -> Iterator[list]:
        """Every row from the first to ``end`` as a list of cell values from column A ('' when empty)."""
        if self.start is None:
            return
        from lxml import etree

        wb = self._wb
        strings, formats, epoch = wb._strings, wb._formats, _EPOCH_1904 if wb._date1904 else _EPOCH
        cols: dict[str, int] = {}
        expected = self.start[0]
        last = self.end[0]
        with wb._zf.open(self._part) as fh:
            for _, row in etree.iterparse(fh, events=("end",), tag=_ROW, huge_tree=True):
                r = row.get("r")
                index = int(r) - 1 if r else expected
                if index < expected:  # rows out of order or repeated: calamine keeps the cells, we keep the first
                    _clear(row)
                    continue
                if index > last:
                    _clear(row)
                    break
                values: list = []
                c_next = 0
                for c in row.iterchildren(_C):
                    ref = c.get("r")
                    if ref:
                        letters = ref.rstrip("0123456789")
                        col = cols.get(letters)
                        if col is None:
                            col = cols[letters] = col_index(letters) - 1
                    else:
                        col = c_next
                    c_next = col + 1
                    value = _value(c, strings, formats, epoch)
                    if value == "":
                        continue
                    if col >= len(values):
                        values.extend([""] * (col + 1 - len(values)))
                    values[col] = value
                _clear(row)
                while expected < index:  # rows with no cells in between: empty rows, as calamine gives them
                    yield []
                    expected += 1
                yield values
                expected = index + 1
        while expected <= last:
            yield []
            expected += 1


def _clear(row) -> None:
    row.clear()
    parent = row.getparent()
    if parent is not None:
        while row.getprevious() is not None:
            del parent[0]


def _value(c, strings: "_SharedStrings", formats: dict[int, str], epoch: datetime):
    t = c.get("t")
    if t == "inlineStr":
        node = c.find(_IS)
        return _text_of(node) if node is not None else ""
    v = c.find(_V)
    if v is None or v.text is None:
        return ""
    text = v.text
    if t == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            return ""
    if t == "str":
        return text
    if t == "b":
        return text.strip() in ("1", "true")
    if t == "e":
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    kind = formats.get(int(c.get("s") or 0)) if formats else None
    if kind is None:
        return number
    return _as_date(number, kind, epoch)


def _as_date(serial: float, kind: str, epoch: datetime):
    """An Excel serial as python-calamine gives it: time of day, date, date and time, or a duration."""
    if kind == "duration":
        return timedelta(milliseconds=round(serial * 86_400_000))
    if 0 <= serial < 1:  # a time of day without a date
        return (datetime.min + timedelta(milliseconds=round(serial * 86_400_000))).time()
    shifted = serial + 1 if epoch is _EPOCH and serial < 60 else serial  # Excel's 1900 leap-year day
    try:
        moment = epoch + timedelta(milliseconds=round(shifted * 86_400_000))
    except OverflowError:
        return serial
    if moment.time() == time(0):
        return moment.date()
    return moment


def _text_of(node) -> str:
    """The text of an ``<si>``/``<is>``: its ``<t>`` and rich-text runs, not phonetic hints."""
    direct = node.find(_T)
    if direct is not None and len(node) == 1:
        return direct.text or ""
    parts = []
    for child in node:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            t = child.find(_T)
            if t is not None:
                parts.append(t.text or "")
    return "".join(parts)


class _SharedStrings:
    """The shared strings, read once: UTF-8 in an anonymous temporary file, offsets in memory."""

    def __init__(self, zf: zipfile.ZipFile):
        self._file = tempfile.TemporaryFile(prefix="xl-strings-")
        self._fd = self._file.fileno()
        self._offsets = array.array("Q", [0])
        part = next((p for _rid, typ, p in part_relations(zf, workbook_part(zf)) if typ.endswith("/sharedStrings")),
                    None)
        if part is None or part not in zf.NameToInfo:
            return
        from lxml import etree

        buf, pos, offsets = [], 0, self._offsets
        with zf.open(part) as fh:
            for _, si in etree.iterparse(fh, events=("end",), tag=_SI, huge_tree=True):
                data = _text_of(si).encode("utf-8")
                buf.append(data)
                pos += len(data)
                offsets.append(pos)
                _clear(si)
                if len(buf) >= 65536:
                    self._file.write(b"".join(buf))
                    buf = []
        self._file.write(b"".join(buf))
        self._file.flush()
        self._fd = self._file.fileno()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self._offsets) - 1:
            raise IndexError(i)
        a, b = self._offsets[i], self._offsets[i + 1]
        return os.pread(self._fd, b - a, a).decode("utf-8") if b > a else ""

    def close(self) -> None:
        self._file.close()


def _date_formats(zf: zipfile.ZipFile) -> dict[int, str]:
    """{cell format index: "date" | "duration"} for the formats that show numbers as dates or times."""
    part = next((p for _rid, typ, p in part_relations(zf, workbook_part(zf)) if typ.endswith("/styles")), None)
    if part is None or part not in zf.NameToInfo:
        return {}
    from lxml import etree

    root = etree.fromstring(zf.read(part), etree.XMLParser(resolve_entities=False, no_network=True))
    custom = {int(n.get("numFmtId")): n.get("formatCode", "") for n in root.iterfind(f"{{{_NS}}}numFmts/{{{_NS}}}numFmt")}
    out: dict[int, str] = {}
    xfs = root.find(f"{{{_NS}}}cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else ()):
        fid = int(xf.get("numFmtId") or 0)
        kind = _format_kind(custom[fid]) if fid in custom else (
            "date" if fid in _DATE_BUILTINS else "duration" if fid in _DURATION_BUILTINS else None)
        if kind:
            out[i] = kind
    return out


def _format_kind(code: str) -> str | None:
    """Whether a custom number format shows a date/time ("date"), an elapsed time ("duration") or neither.

    The first section only; quoted text, escaped characters and ``[...]`` (colours, locales) do not
    count, except an elapsed-time ``[h]``/``[m]``/``[s]``.
    """
    quoted = escaped = False
    depth = 0
    bracket = ""
    am_pm = False
    for ch in code:
        if escaped:
            escaped = False
            continue
        if quoted:
            quoted = ch != '"'
            continue
        if ch in "\\_":
            escaped = True
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return None
        elif ch == "[":
            depth += 1
            bracket = ""
        elif ch == "]":
            depth = max(0, depth - 1)
            if bracket and set(bracket.lower()) <= set("hms") and len(set(bracket.lower())) == 1:
                return "duration"
        elif depth:
            bracket += ch
        elif ch in "aA":
            am_pm = True
        elif ch in "dmhysDMHYS" or (am_pm and ch in "pP/"):
            return "date"
    return None


def _survey(zf: zipfile.ZipFile, part: str) -> tuple[int | None, int | None, list]:
    """(first row with a value, last such row, merged ranges), 0-based like calamine, from one quick pass."""
    first = last = None
    merges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    with zf.open(part) as fh:
        tail = b""
        while True:
            chunk = fh.read(_READ)
            data = tail + chunk
            cut = data.rfind(b"</") if chunk else len(data)
            region, tail = (data[:cut], data[cut:]) if cut > 0 else (b"", data)
            if region:
                starts = [(m.start(), int(m.group(1))) for m in _ROW_TAG.finditer(region)]
                for k, (pos, r) in enumerate(starts):
                    end = starts[k + 1][0] if k + 1 < len(starts) else len(region)
                    if first is None and _HAS_VALUE.search(region, pos, end):
                        first = r - 1
                        break
                for k in range(len(starts) - 1, -1, -1):
                    pos, r = starts[k]
                    end = starts[k + 1][0] if k + 1 < len(starts) else len(region)
                    if _HAS_VALUE.search(region, pos, end):
                        last = max(last if last is not None else -1, r - 1)
                        break
                if b"mergeCell" in region:
                    for m in _MERGE.finditer(region):
                        c1, r1 = col_index(m.group(1)) - 1, int(m.group(2)) - 1
                        c2, r2 = (col_index(m.group(3)) - 1, int(m.group(4)) - 1) if m.group(3) else (c1, r1)
                        merges.append(((r1, c1), (r2, c2)))
            if not chunk:
                break
    return first, last, merges
