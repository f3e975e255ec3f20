"""Row arithmetic for removing rows as Excel does: which row a reference moves to, formulas and ranges
adjusted (a reference to a removed row becomes ``#REF!``). Pure text work on formulas; no file access."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Iterable

from xl_addin.adapters.workbook.cells import col_index
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
