"""The types a workbook schema is declared with.

A schema is declared once per surface (see ``books.py``) and drives the
templates, the header matching of readers and which cells writers may touch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Who writes a column:
USER = "user"        # the staff's data; the product reads it and never writes it
PRODUCT = "product"  # the product's own results; written on every run
SHARED = "shared"    # staff fill it in (e.g. confirmation outcome); the product may also write it

# Value types
TEXT = "text"
INT = "int"
NUMBER = "number"
MONEY = "money"
DATE = "date"
DATETIME = "datetime"
PHONE = "phone"  # text that people often type as a number


def header_key(text: object) -> str:
    """How a header cell is compared: NFKC, case-folded, with spaces, underscores and brackets' spacing removed."""
    s = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return re.sub(r"[\s_\-]+", "", s)


@dataclass(frozen=True)
class Column:
    key: str                      # field name in code, e.g. "order_no"
    label: str                    # Chinese header, e.g. "订单编号"
    aliases: tuple[str, ...] = () # English (or other) headers accepted on reading
    type: str = TEXT
    required: bool = False
    owner: str = USER
    choices: tuple[str, ...] = () # dropdown values
    width: float = 14.0
    help: str = ""                # shown as the cell's input message
    number_format: str | None = None

    def header_keys(self) -> set[str]:
        return {header_key(self.label), header_key(self.key), *(header_key(a) for a in self.aliases)}


@dataclass(frozen=True)
class SheetSchema:
    name: str                     # sheet name, e.g. "订单确认单"
    table: str                    # Excel Table display name (ASCII), e.g. "Orders"
    columns: tuple[Column, ...]
    title: str | None = None      # optional title row above the header
    problem_column: str | None = None  # key of the column whose non-OK value marks a problem row
    problem_values: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    @property
    def written(self) -> tuple[Column, ...]:
        """Columns the product may write (its own and shared ones)."""
        return tuple(c for c in self.columns if c.owner != USER)


@dataclass(frozen=True)
class BookSchema:
    key: str                      # "orders", "bindings", "tracking", "exceptions"
    filename: str                 # default file name in a desk
    title: str                    # Chinese name of the record, e.g. 《订单确认单》
    sheets: tuple[SheetSchema, ...] = field(default_factory=tuple)

    def sheet(self, name: str) -> SheetSchema:
        for s in self.sheets:
            if s.name == name or s.table == name:
                return s
        raise KeyError(name)
