"""Repeated order numbers, within a sheet and against orders already confirmed."""

from __future__ import annotations

import unicodedata
from typing import Iterable

from ..problems import ERROR, Problem
from .text import cell_text, is_blank


def order_key(value: object) -> str:
    """The comparable form of an order number: full width folded, spaces stripped, '.0' dropped."""
    if is_blank(value):
        return ""
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


class DuplicateTracker:
    """Feed order numbers top to bottom; the first occurrence stays clean."""

    def __init__(self, known: Iterable[object] = ()) -> None:
        self._known = {k for k in (order_key(v) for v in known) if k}
        self._seen: set[str] = set()

    def check(self, order_no: object) -> Problem | None:
        key = order_key(order_no)
        if not key:
            return None  # an empty order number is MISSING_FIELD, reported elsewhere
        if key in self._known:
            return Problem("DUPLICATE_ORDER", ERROR, "order_no",
                           f"订单编号“{key}”已在之前确认过的订单中出现，请勿重复录入；如是新订单请向客户核对编号。")
        if key in self._seen:
            return Problem("DUPLICATE_ORDER", ERROR, "order_no",
                           f"订单编号“{key}”在本表上方已出现过，请删除重复行或向客户核对编号。")
        self._seen.add(key)
        return None
