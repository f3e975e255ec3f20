"""CSV exports: decode (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030), find the delimiter, keep row numbers.

Why decode the whole file first: Chinese back offices export GBK as often as UTF-8 and say
neither; a strict UTF-8 decode fails fast on GBK bytes, and GB18030 (a superset of GBK) is the
fallback. A file neither accepts is refused by name rather than read as mojibake.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from xl_addin.errors import WorkbookError

from .table import ExportTable

ENCODINGS = ("utf-8", "gb18030")
_DELIMITERS = ",\t;|"
csv.field_size_limit(2**31 - 1)  # very long cells are data, not an attack on the parser


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """(text, encoding name shown to people)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError as exc:
            raise _undecodable(path, f"有 UTF-8 标记但第 {exc.start} 字节不是 UTF-8") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise _undecodable(path, "有 UTF-16 标记但内容无法解码") from None
    if b"\x00" in data[:4096]:
        raise _undecodable(path, "含有空字节，像是二进制文件")
    for enc in ENCODINGS:
        try:
            return data.decode(enc), {"utf-8": "UTF-8", "gb18030": "GBK/GB18030"}[enc]
        except UnicodeDecodeError:
            continue
    raise _undecodable(path, "既不是 UTF-8 也不是 GBK/GB18030 编码")


def _undecodable(path: Path, why: str) -> WorkbookError:
    return WorkbookError(f"无法识别文件编码（{why}）",
                         "请在后台重新导出为 UTF-8 或 GBK 编码的 CSV，或导出为 .xlsx", path=str(path))


def _delimiter(text: str) -> str:
    sample = "\n".join(text[:65536].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        counts = {d: first.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_csv_export(path: Path) -> ExportTable:
    from xl_addin.adapters.workbook.limits import check_text_lines

    data = path.read_bytes()
    check_text_lines(path, data)  # a 20 MB single line is refused before the parser sees it
    text, encoding = decode(data, path)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[object]]] = []
    try:
        for number, record in enumerate(reader, 1):
            cells = [c if c.strip() else None for c in record]
            if any(c is not None for c in cells):
                rows.append((number, cells))
    except csv.Error as exc:
        raise WorkbookError(f"CSV 格式错误（第 {reader.line_num} 行附近：{exc}）",
                            "请检查引号是否成对，或在后台重新导出", path=str(path)) from None
    notes = [f"按 {encoding} 编码读取，分隔符为 {'制表符' if delimiter == chr(9) else repr(delimiter)}"]
    return ExportTable(path, "csv", rows, encoding=encoding, notes=notes)
