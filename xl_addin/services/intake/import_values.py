"""An exported cell as the Order Confirmation column expects it, and the comparable form that decides
whether a source sent "the same order" again (the importer's value rules, without files or the store)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime
from typing import Any

NOT_COMPARED = ("channel", "received_at")  # when/where it arrived is not the order's content
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                 "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y-%m-%dT%H:%M:%S")
_FORCED_TEXT = re.compile(r'^="([^"]*)"$')  # exports write ="0012345" so Excel keeps leading zeros
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def coerce(value: object, kind: str) -> object:
    """A source cell as the Order Confirmation column expects it; text that is not a clean value stays text."""
    from xl_addin.adapters.workbook.schema import DATE, DATETIME, INT, MONEY, NUMBER

    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        m = _FORCED_TEXT.match(text)
        if m:
            text = m.group(1).strip()
        if not text:
            return None
        if kind in (INT, NUMBER, MONEY):
            plain = unicodedata.normalize("NFKC", text).replace(",", "")
            if _NUMBER.match(plain):
                number = float(plain)
                return int(number) if number.is_integer() and abs(number) < 2**53 else number
        if kind in (DATETIME, DATE):
            for fmt in _DATE_FORMATS:
                try:
                    return datetime.strptime(text, fmt)
                except ValueError:
                    continue
        return text
    if kind not in (INT, NUMBER, MONEY, DATE, DATETIME) and isinstance(value, (int, float)):
        return str(value)  # an order number or phone read as a number goes back to text
    return value


def canon(value: object, key: str) -> str:
    """The comparable form: what a person would call 'the same value'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip()
    if key == "receiver_phone":
        digits = re.sub(r"\D", "", text)
        return re.sub(r"^(0086|86)(?=1\d{10}$)", "", digits)
    if _NUMBER.match(text) and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def source_fingerprint(values: dict[str, Any]) -> str:
    data = {k: canon(v, k) for k, v in values.items() if k not in NOT_COMPARED}
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:20]


def shown_value(value: object) -> str:
    if value is None or value == "":
        return "（空）"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
