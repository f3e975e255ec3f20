"""Python values → SpreadsheetML cell XML, and Excel cell references.

Text is always written as an inline string: an inline string can never be a formula, so
outside text beginning with = + - @ (or a tab/CR) stays text whatever it says.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

EXCEL_MAX_TEXT = 32767
MAX_COLUMN = 16384

# Builtin number formats Excel localises (zh-CN: 2024/1/2, 2024/1/2 3:04, 3:04:05).
DATE_FMT_ID = 14
DATETIME_FMT_ID = 22
TIME_FMT_ID = 21

_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_LETTERS: list[str] = [""]


def col_letter(index: int) -> str:
    """1 → A, 27 → AA (cached: the writer asks for the same few columns a million times)."""
    while len(_LETTERS) <= index:
        n, s = len(_LETTERS), ""
        while n:
            n, rem = divmod(n - 1, 26)
            s = chr(65 + rem) + s
        _LETTERS.append(s)
    return _LETTERS[index]


def col_index(letters: str | bytes) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def split_ref(ref: str) -> tuple[int, int]:
    """'C12' → (12, 3)."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    row, col = int(m.group(2)), col_index(m.group(1))
    if not (1 <= row <= 1_048_576 and 1 <= col <= MAX_COLUMN):
        raise ValueError(f"cell reference outside the sheet (past XFD1048576): {ref!r}")
    return row, col


def safe_text(value: str) -> str:
    """Text Excel will show as given: illegal XML characters dropped, ``_xHHHH_`` look-alikes
    protected (Excel would decode them), cut at Excel's 32,767-character cell limit."""
    if _ILLEGAL_XML.search(value):
        value = _ILLEGAL_XML.sub("", value)
    if "_x" in value:
        value = _ESCAPE_LIKE.sub(r"_x005F_\1", value)
    return value[:EXCEL_MAX_TEXT]


def excel_serial(value: date | datetime | time, date1904: bool = False) -> float | int:
    """A date/datetime/time as Excel's serial number. Aware datetimes keep their own wall-clock time."""
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - (_EPOCH_1904 if date1904 else _EPOCH_1900)
        days = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
        return int(days) if days == int(days) else round(days, 10)
    if isinstance(value, date):
        return (datetime(value.year, value.month, value.day) - (_EPOCH_1904 if date1904 else _EPOCH_1900)).days
    if isinstance(value, time):
        return round((value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400, 10)
    raise TypeError(value)


def date_kind(value: object) -> int | None:
    """The builtin number format a value needs to show as a date/time (None for other values)."""
    if isinstance(value, datetime):
        return DATETIME_FMT_ID
    if isinstance(value, date):
        return DATE_FMT_ID
    if isinstance(value, time):
        return TIME_FMT_ID
    return None


def _number(value: float | int | Decimal) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} into a cell")
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


_TEXT_CARE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x")


def cell_xml(ref: str, value: object, style: int | None, prefix: str = "", date1904: bool = False) -> str:
    """One ``<c>`` element. ``None`` gives an empty cell that keeps its style (or nothing when unstyled)."""
    s = f' s="{style}"' if style else ""
    c = prefix + "c"
    if type(value) is str:  # the common case first: a million of these per run
        text = value
        if len(text) > EXCEL_MAX_TEXT or _TEXT_CARE.search(text):
            text = escape(safe_text(text), {"\r": "&#13;"})
        return (f'<{c} r="{ref}"{s} t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">{text}'
                f"</{prefix}t></{prefix}is></{c}>")
    if value is None:
        return f'<{c} r="{ref}"{s}/>' if s else ""
    if isinstance(value, bool):
        return f'<{c} r="{ref}"{s} t="b"><{prefix}v>{int(value)}</{prefix}v></{c}>'
    if isinstance(value, (int, float, Decimal)):
        return f'<{c} r="{ref}"{s}><{prefix}v>{_number(value)}</{prefix}v></{c}>'
    if isinstance(value, (date, time)):
        return f'<{c} r="{ref}"{s}><{prefix}v>{_number(excel_serial(value, date1904))}</{prefix}v></{c}>'
    if isinstance(value, timedelta):
        return f'<{c} r="{ref}"{s}><{prefix}v>{_number(value.total_seconds() / 86400)}</{prefix}v></{c}>'
    text = escape(safe_text(str(value)), {"\r": "&#13;"})
    return (f'<{c} r="{ref}"{s} t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">{text}'
            f"</{prefix}t></{prefix}is></{c}>")
