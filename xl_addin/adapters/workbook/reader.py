"""Read one sheet of a user's workbook into records, fast, finding columns by their headers.

Values come from python-calamine (cached formula values, dates as ``datetime``). What calamine
cannot tell — hidden rows and formulas with no cached value — comes from one streaming pass over
the sheet XML, and only the chunks that contain them are looked at closely.

Merged cells in the data area: the top-left value applies to every row of the merged range in
the top-left cell's column (a customer name merged over several order rows belongs to each of
them); other columns of a merge stay empty. Each merge is reported in ``notes``.
Values are returned as the cell holds them: numbers stored as text stay text, text stays text;
whole floats become ``int`` (Excel stores every number as a float: 13800138000.0 is 13800138000).
Empty cells are ``None``; rows whose schema columns are all empty are skipped.
"""

from __future__ import annotations

import re
from operator import itemgetter, methodcaller
from dataclasses import dataclass, field
from pathlib import Path
from itertools import chain, islice, repeat
from typing import Callable, Iterator

from xl_addin.adapters.workbook.cells import col_index, col_letter
from xl_addin.adapters.workbook.files import check_workbook_file, sheet_parts
from xl_addin.adapters.workbook.lock import hold_for_job
from xl_addin.adapters.workbook.schema import SheetSchema, header_key
from xl_addin.adapters.workbook.stream_reader import STREAM_FROM_BYTES
from xl_addin.errors import WorkbookError

HEADER_SCAN_ROWS = 10
MAX_NOTES_PER_KIND = 50
PROGRESS_EVERY = 20000


@dataclass(slots=True)
class RowRecord:
    row: int                      # 1-based Excel row number
    values: dict[str, object]     # schema key → value (None when empty)
    hidden: bool = False


@dataclass
class SheetTable:
    path: Path
    sheet: str
    header_row: int               # 1-based Excel row of the header
    columns: dict[str, int]       # schema key → 1-based column index
    missing: list[str]            # optional schema keys not in the header
    last_column: int              # 1-based index of the sheet's last column holding anything (header or data)
    rows: list[RowRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SheetStream:
    """One sheet being read chunk by chunk: the header facts first, the rows as ``chunks()`` yields them.

    Why: a 1,000,000-row sheet as one list of records does not fit the memory limit; a caller
    checks and writes a chunk, then lets it go. ``notes`` are complete before the first chunk.
    """

    path: Path
    sheet: str
    header_row: int               # 1-based Excel row of the header
    columns: dict[str, int]       # schema key → 1-based column index
    missing: list[str]            # optional schema keys not in the header
    last_column: int              # 1-based index of the sheet's last column holding anything (header or data)
    last_row: int                 # 1-based Excel row of the sheet's last row with a cell
    notes: list[str] = field(default_factory=list)
    _rows: Iterator = None        # type: ignore[assignment]
    _wb: object = None
    _merges: list = field(default_factory=list)
    _hidden: set = field(default_factory=set)
    _progress: Callable[[int, int], None] | None = None
    _chunk: int = 20000

    def chunks(self) -> Iterator[list[RowRecord]]:
        """Lists of at most ``chunk`` records in sheet order; the workbook is closed at the end."""
        try:
            yield from _records(self)
        finally:
            self.close()

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None

    def __enter__(self) -> "SheetStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_sheet(path, schema: SheetSchema, sheet_name: str | None = None,
               progress: Callable[[int, int], None] | None = None) -> SheetTable:
    """Read the schema's sheet of ``path``; ``WorkbookError`` (exit 2) when it or a required column is missing."""
    stream = iter_sheet(path, schema, sheet_name, progress=progress, chunk=PROGRESS_EVERY)
    rows: list[RowRecord] = []
    for part in stream.chunks():
        rows.extend(part)
    return SheetTable(stream.path, stream.sheet, stream.header_row, stream.columns, stream.missing,
                      stream.last_column, rows, stream.notes)


def iter_sheet(path, schema: SheetSchema, sheet_name: str | None = None, *, chunk: int = 20000,
               progress: Callable[[int, int], None] | None = None,
               stream_from_bytes: int | None = STREAM_FROM_BYTES) -> SheetStream:
    """Like ``read_sheet``, but the rows come later, ``chunk`` at a time, from ``SheetStream.chunks()``.

    Header, columns and notes are known on return (and the same errors raised as ``read_sheet``).
    Only one chunk of Python row objects exists at a time; calamine keeps the sheet's cells in its
    own compact form meanwhile — unless the sheet's XML unpacks to ``stream_from_bytes`` or more
    (``stream_reader``: parsed row by row, same values; ``None`` = always calamine, 0 = always streaming).
    """
    p = check_workbook_file(path)
    hold_for_job(p)  # inside a job the workbook stays locked from this read to the job's end
    from python_calamine import CalamineWorkbook

    from xl_addin.adapters.workbook.stream_reader import StreamingWorkbook, before_reading, use_streaming

    try:
        before_reading(p)
        # a huge sheet is parsed row by row (memory independent of its length); calamine holds a sheet whole
        big = stream_from_bytes is not None and use_streaming(p, sheet_name, stream_from_bytes)
        wb = StreamingWorkbook(p) if big else CalamineWorkbook.from_path(str(p))
    except WorkbookError:
        raise
    except Exception as exc:  # calamine raises its own family for password/zip/xml problems
        raise unreadable(p, None, exc) from None
    try:
        stream = _open(p, wb, schema, sheet_name)
    except BaseException:
        wb.close()
        raise
    stream._wb, stream._progress, stream._chunk = wb, progress, max(1, int(chunk))
    return stream


def _open(p: Path, wb, schema: SheetSchema, sheet_name: str | None) -> SheetStream:
    metas = [m for m in wb.sheets_metadata if str(m.typ).endswith("WorkSheet")]
    worksheets = [m.name for m in metas]
    hidden_sheets = {m.name for m in metas if not str(m.visible).endswith("Visible")}
    if sheet_name is not None:
        if sheet_name not in worksheets:
            raise WorkbookError(f"没有名为「{sheet_name}」的工作表（现有：{'、'.join(worksheets)}）",
                                "请检查工作表名称", path=str(p))
        candidates = [sheet_name]
    elif schema.name in worksheets:
        candidates = [schema.name]
    else:
        # visible sheets first: a hidden decoy or an old copy never wins over the sheet staff see
        candidates = [n for n in worksheets if n not in hidden_sheets] + [n for n in worksheets if n in hidden_sheets]
    best = None  # (missing required, name, header)
    chosen = None  # (name, sheet, top, rest, header) of the first sheet whose header has every required column
    also: list[str] = []  # other sheets that would match as well
    for name in candidates:
        sheet, top, rest, facts = _load(p, wb, name)
        header = _find_header(top, schema)
        missing_required = [c for c in schema.required if c.key not in header[1]]
        if not missing_required and header[1]:
            if chosen is None:
                chosen = (name, sheet, top, rest, header, facts)
                if len(candidates) == 1:
                    break
            else:
                also.append(name)
            continue
        if best is None or len(header[1]) > len(best[2][1]):
            best = (missing_required, name, header)
    if chosen is not None:
        name = chosen[0]
        rivals = [n for n in also if n not in hidden_sheets]
        if rivals and name not in hidden_sheets:
            listed = "、".join(f"「{n}」" for n in [name, *rivals])
            raise WorkbookError(f"有 {1 + len(rivals)} 个工作表都有订单表头（{listed}），不知道该读哪一个，未读取",
                                "请用 --sheet 指定工作表（台账的订单确认单也可在 xl-logistics.toml 的 [intake] "
                                f"order_sheet 写明），或把要处理的工作表改名为「{schema.name}」", path=str(p))
        stream = _prepare(p, *chosen, schema)
        if len(worksheets) > 1:
            skipped = [n for n in also if n in hidden_sheets]
            note = f"读取的是工作表「{name}」" + ("（隐藏的工作表）" if name in hidden_sheets else "")
            if skipped:
                note += f"；隐藏的工作表{'、'.join(f'「{n}」' for n in skipped)}也有订单表头，未读取"
            stream.notes.insert(0, note)
        return stream
    if best is None:
        raise WorkbookError("工作簿里没有工作表", "请确认文件内容", path=str(p))
    missing_required, name, header = best
    labels = "、".join(c.label for c in (missing_required or schema.required)) or "（任何已知列）"
    where = f"第{header[0] + 1}行的表头" if header[1] else f"前{HEADER_SCAN_ROWS}行"
    raise WorkbookError(f"工作表「{name}」{where}缺少必填列：{labels}",
                        "请在表头加上这些列（中文列名或英文别名均可）后重试", path=str(p))


def unreadable(p: Path, sheet: str | None, exc: BaseException) -> WorkbookError:
    """calamine's own errors as one Chinese line: what is wrong with which file, and what to do."""
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    where = f"工作表「{sheet}」" if sheet else "工作簿"
    if "decompress" in low or "deflate" in low or "crc" in low or "invalid stored block" in low or "zip" in low:
        what = f"{where}的压缩数据已损坏，无法解压"
    elif "password" in low or "encrypt" in low:
        what = "工作簿设置了密码（已加密），无法读取"
    elif "xml" in low or "utf" in low or "unexpected" in low or "eof" in low:
        what = f"{where}的 XML 内容已损坏"
    elif "dimension" in low or "range" in low or "cell" in low:
        what = f"{where}的单元格引用不合法"
    else:
        what = f"无法读取{where}"
    return WorkbookError(f"{what}（{text[:160]}）", "请从备份恢复，或在 Excel 里打开（它会提示修复）后另存为 .xlsx",
                         path=str(p))


def check_extent(p: Path, name: str, visit: Callable[[bytes], None] | None = None) -> None:
    """The bounded-reader checks before calamine allocates this sheet's grid (``visit``: see ``check_sheet``)."""
    import zipfile

    from xl_addin.adapters.workbook.files import rels_of, workbook_part
    from xl_addin.adapters.workbook.limits import check_sheet

    with zipfile.ZipFile(p) as zf:
        part = sheet_parts(zf).get(name)
        if part is None:
            wb_part = workbook_part(zf)
            raise WorkbookError(f"工作表「{name}」的部件不在工作簿里（{rels_of(wb_part)} 的关系指向压缩包之外或指向不存在的部件）",
                                "请在 Excel 里打开修复后另存为 .xlsx", path=str(p))
        if part not in zf.namelist():
            raise WorkbookError(f"工作表「{name}」的部件 {part} 不在工作簿里（关系指向压缩包之外或已丢失）",
                                "这不是 Excel 能保存出的文件：请从备份恢复，或在 Excel 里打开修复后另存为 .xlsx",
                                path=str(p))
        check_sheet(p, zf, part, name, visit=visit)


def _load(p: Path, wb, name: str):
    """(sheet, its first rows, an iterator over the rest, its hidden rows and uncached formulas);
    rows are padded to absolute columns."""
    facts = _SheetFacts()
    check_extent(p, name, facts.visit)  # one pass: the limits and what calamine cannot tell
    facts.visit(b"", final=True)
    try:
        sheet = wb.get_sheet_by_name(name)
        lead = sheet.start[1] if sheet.start else 0
        rows = sheet.iter_rows()
        if lead:
            pad = [""] * lead
            rows = (pad + r for r in rows)
        top = list(islice(rows, HEADER_SCAN_ROWS))
        return sheet, top, rows, (facts.hidden, facts.no_cache)
    except Exception as exc:
        raise unreadable(p, name, exc) from None


def _find_header(data: list[list], schema: SheetSchema) -> tuple[int, dict[str, int], list[str]]:
    """(0-based row index, {key: 1-based col}, notes) of the row in the first 10 that names most schema columns."""
    wanted: dict[str, str] = {}
    for col in schema.columns:
        for k in col.header_keys():
            wanted.setdefault(k, col.key)
    best: tuple[int, dict[str, int], list[str]] = (0, {}, [])
    for i, row in enumerate(data[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        notes: list[str] = []
        for j, cell in enumerate(row):
            if cell == "" or cell is None:
                continue
            key = wanted.get(header_key(cell))
            if key is None:
                continue
            if key in found:
                notes.append(f"第{i + 1}行 {col_letter(j + 1)}列 与 {col_letter(found[key])}列 是同一列"
                             f"「{schema.column(key).label}」，只读取 {col_letter(found[key])}列")
                continue
            found[key] = j + 1
        if len(found) > len(best[1]):
            best = (i, found, notes)
    return best


def _plain_column(col: tuple) -> list | tuple:
    """One column's values as records hold them: "" → None, whole floats → int (below 2**53).

    Why this shape: the types present are found at C speed (``set(map(type, …))``) and a column is
    walked in Python only for what it holds — an empty cell, a float; a text column without gaps
    is returned as it came.
    """
    types = set(map(type, col))
    out: list | tuple = col
    if str in types and "" in col:
        out = [None if v == "" else v for v in col]
    if float in types:
        out = [int(v) if type(v) is float and v.is_integer() and abs(v) < 2**53 else v for v in out]
    return out


def _prepare(p: Path, name: str, sheet, top: list[list], rest, header, facts, schema: SheetSchema) -> SheetStream:
    h, columns, notes = header
    header_cells = top[h]
    last_column = max((j + 1 for j, v in enumerate(header_cells) if v not in ("", None)), default=0)
    missing = [c.key for c in schema.columns if c.key not in columns]
    hidden, no_cache = facts
    # The product's new columns go after the last column holding anything anywhere in the sheet
    # (unlabelled notes, a title row, formulas without a cached value), never onto an occupied cell.
    if sheet.end:
        last_column = max(last_column, sheet.end[1] + 1)
    if no_cache:
        last_column = max(last_column, max(c for _r, c in no_cache))
    notes = list(notes)
    merges = list(sheet.merged_cell_ranges or [])
    _merge_notes(merges, h, columns, schema, notes)
    if hidden:
        shown = sorted(r for r in hidden if r > h + 1)
        if shown:
            notes.append(f"有 {len(shown)} 个隐藏行（第{'、'.join(map(str, shown[:20]))}{'…' if len(shown) > 20 else ''}行），已照常读取")
    by_col = {c: k for k, c in columns.items()}
    formula_notes = [f"第{r}行 {col_letter(c)}列 是公式且没有缓存值（按空值读取；请在 Excel 里打开并保存一次）"
                     for r, c in sorted(no_cache) if c in by_col and r > h + 1]
    notes.extend(formula_notes[:MAX_NOTES_PER_KIND])
    if len(formula_notes) > MAX_NOTES_PER_KIND:
        notes.append(f"另有 {len(formula_notes) - MAX_NOTES_PER_KIND} 个公式单元格没有缓存值")
    last_row = sheet.end[0] + 1 if sheet.end else len(top)
    return SheetStream(p, name, h + 1, columns, missing, last_column, last_row, notes,
                       _rows=chain(top, rest), _merges=merges, _hidden=hidden)


def _records(s: SheetStream) -> Iterator[list[RowRecord]]:
    """Rows after the header as RowRecords, ``s._chunk`` at a time (merged ranges filled in)."""
    h = s.header_row - 1
    keys = list(s.columns)
    idxs = [s.columns[k] - 1 for k in keys]
    width = max(idxs) + 1 if idxs else 0
    n_keys = len(keys)
    pick = itemgetter(*idxs) if len(idxs) > 1 else (lambda r, i=idxs[0]: (r[i],))
    total = max(0, s.last_row - s.header_row)
    hidden = s._hidden
    # merged ranges in a schema column: {first row: [(col, last row)]}, filled as the rows pass
    wanted_cols = set(idxs)
    starts: dict[int, list[tuple[int, int]]] = {}
    for (r1, c1), (r2, _c2) in s._merges:
        if r2 > h and c1 in wanted_cols:
            starts.setdefault(r1, []).append((c1, r2))
    active: list[tuple[int, int, object]] = []  # (col, last row, top-left value)
    chunk, size, seen = [], s._chunk, 0
    rows = s._rows
    progress = s._progress
    for i, row in enumerate(rows):
        if i in starts:
            for c1, r2 in starts.pop(i):
                active.append((c1, r2, row[c1] if c1 < len(row) else ""))
        if active:
            active = [a for a in active if a[1] >= i]
            if i > h:
                for c1, _r2, top in active:
                    if c1 >= len(row):
                        row.extend([""] * (c1 + 1 - len(row)))
                    row[c1] = top
        if i <= h:
            continue
        if len(row) < width:  # calamine rows are rectangular; pad any short one so itemgetter cannot fail
            row.extend([""] * (width - len(row)))
        chunk.append(pick(row))
        if len(chunk) >= size:
            yield _to_records(chunk, keys, n_keys, h + 2 + seen, hidden)
            seen += len(chunk)
            chunk = []
            if progress is not None:
                progress(seen, total)
    if chunk:
        yield _to_records(chunk, keys, n_keys, h + 2 + seen, hidden)
        seen += len(chunk)
    if progress is not None:
        progress(seen, seen)


def _to_records(picked: list[tuple], keys: list[str], n_keys: int, first: int, hidden: set[int]) -> list[RowRecord]:
    # Column-wise conversion: C-speed transposes and list comprehensions instead of a call per cell.
    # Records are built by C-level maps; the rare row whose schema cells are all empty is dropped after.
    cols = [_plain_column(c) for c in zip(*picked)]
    rows = list(zip(*cols))
    numbers = range(first, first + len(rows))
    out = list(map(RowRecord, numbers, map(dict, map(zip, repeat(keys), rows)), map(hidden.__contains__, numbers)))
    if rows and n_keys in map(_count_none, rows):
        out = [rec for rec, vals in zip(out, rows) if vals.count(None) != n_keys]
    return out


_count_none = methodcaller("count", None)


def _merge_notes(ranges: list, h: int, columns: dict[str, int], schema, notes: list[str]) -> None:
    """Say which merged ranges in schema columns are read as their top-left value in every row."""
    by_col = {c - 1: k for k, c in columns.items()}
    said = 0
    for (r1, c1), (r2, c2) in ranges:
        if r2 <= h or c1 not in by_col:
            continue
        if said < MAX_NOTES_PER_KIND:
            label = schema.column(by_col[c1]).label
            notes.append(f"第{max(r1, h + 1) + 1}-{r2 + 1}行 {col_letter(c1 + 1)}列（{label}）是合并单元格，"
                         f"每一行都按左上角的值读取")
        said += 1
    if said > MAX_NOTES_PER_KIND:
        notes.append(f"另有 {said - MAX_NOTES_PER_KIND} 处合并单元格")


_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\shidden="(?:1|true)"[^>]*>')
_ROW_NUM = re.compile(rb'\sr="(\d+)"')
_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_CELL_REF = re.compile(rb'\sr="([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")


class _SheetFacts:
    """Hidden rows and formula cells without a cached value, gathered from the regions the limits pass
    reads (``limits.check_sheet``): the sheet XML is inflated and walked once, not twice.

    Regions end at a whole tag; they are looked at closely up to their last ``</row>`` (a cell and
    a row tag are then whole), the rest waits for the next region. Only regions with a ``hidden="``
    or a formula tag are searched with the patterns.
    """

    def __init__(self) -> None:
        self.hidden: set[int] = set()
        self.no_cache: set[tuple[int, int]] = set()
        self._buf = b""

    def visit(self, region: bytes, final: bool = False) -> None:
        buf = self._buf + region if self._buf else region
        if final:
            cut = len(buf)
        else:
            cut = buf.rfind(b"</row>")
            if cut < 0:
                self._buf = buf
                return
            cut += 6
        if cut < len(buf):
            self._buf = buf[cut:]
            buf = buf[:cut]
        else:
            self._buf = b""
        if b'hidden="' in buf:
            for m in _HIDDEN_ROW.finditer(buf):
                rm = _ROW_NUM.search(m.group(0))
                if rm:
                    self.hidden.add(int(rm.group(1)))
        if (b"<f" in buf or b":f" in buf) and _FORMULA.search(buf):  # literal probe first
            for m in _CELL.finditer(buf):
                body = m.group(2)
                if body and _FORMULA.search(body) and not _VALUE.search(body):
                    rm = _CELL_REF.search(m.group(1))
                    if rm:
                        self.no_cache.add((int(rm.group(2)), col_index(rm.group(1))))
