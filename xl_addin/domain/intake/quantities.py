"""Quantity, weight and volume cells → numbers, or a plain-Chinese reason they are not.

Policy: a quantity may carry a count unit ("3件", "2箱"), since back-office
exports often write it so; the number must be a positive whole number.
Weights accept kg/公斤/千克, g/克 and 斤 (converted to kg); volumes accept
m3/m³/立方米/方/cbm. Bare numbers mean kg and m³.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from functools import lru_cache

_QTY = re.compile(r"(\d+(?:\.0+)?)\s*(?:件|个|箱|台|套|包|袋|瓶|盒|只|双|张|本|支|桶|卷|条|把|块|份|罐|组|片|pcs?|pieces?|units?|ctns?)?")
_WEIGHT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(kg|kgs|公斤|千克|g|克|斤)?")
_VOLUME = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(m3|立方米|立方|方|cbm)?")
_WEIGHT_FACTOR = {None: 1.0, "kg": 1.0, "kgs": 1.0, "公斤": 1.0, "千克": 1.0, "g": 0.001, "克": 0.001, "斤": 0.5}


def _text(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower().replace(",", "")


def parse_quantity(value: object) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or isinstance(value, (datetime, date, time)):
        return None, f"数量“{value}”不是数字，请填写正整数。"
    if isinstance(value, int):
        number: float = value
    elif isinstance(value, float):
        number = value
    else:
        return _quantity_text(str(value))
    return _check_quantity(number, value)


@lru_cache(maxsize=4096)
def _quantity_text(value: str) -> tuple[int | None, str | None]:
    m = _QTY.fullmatch(_text(value))
    if not m:
        return None, f"数量“{value}”不是正整数，请填写件数，例如 3。"
    return _check_quantity(float(m.group(1)), value)


def _check_quantity(number: float, value: object) -> tuple[int | None, str | None]:
    if not math.isfinite(number) or number <= 0:
        return None, f"数量“{value}”必须大于0，请填写正整数。"
    if not float(number).is_integer():
        return None, f"数量“{value}”不是整数，请填写整件数（如 3）。"
    return int(number), None


def _parse_measure(value: object, pattern: re.Pattern[str], label: str, unit: str
                   ) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or isinstance(value, (datetime, date, time)):
        return None, f"{label}“{value}”不是数字，请填写以{unit}为单位的正数。"
    if isinstance(value, (int, float)):
        return _check_measure(float(value), value, label, unit)
    return _measure_text(str(value), pattern, label, unit)


@lru_cache(maxsize=4096)
def _measure_text(value: str, pattern: re.Pattern[str], label: str, unit: str) -> tuple[float | None, str | None]:
    m = pattern.fullmatch(_text(value))
    if not m:
        return None, f"{label}“{value}”不是数字，请填写以{unit}为单位的正数。"
    factor = _WEIGHT_FACTOR if pattern is _WEIGHT else {}
    return _check_measure(float(m.group(1)) * factor.get(m.group(2), 1.0), value, label, unit)


def _check_measure(number: float, value: object, label: str, unit: str) -> tuple[float | None, str | None]:
    if not math.isfinite(number) or number <= 0:
        return None, f"{label}“{value}”必须大于0，请填写以{unit}为单位的正数。"
    return number, None


def parse_weight(value: object) -> tuple[float | None, str | None]:
    """Kilograms."""
    return _parse_measure(value, _WEIGHT, "重量", "公斤")


def parse_volume(value: object) -> tuple[float | None, str | None]:
    """Cubic metres."""
    return _parse_measure(value, _VOLUME, "体积", "立方米")
