"""Quantity, weight and volume cells → numbers, or a plain-Chinese reason they are not.

Policy: a quantity may carry a count unit ("3件", "2箱"), since back-office
exports often write it so; the number must be a positive whole number.
Weights accept kg/公斤/千克, g/克 and 斤 (converted to kg); volumes accept
m3/m³/立方米/方/cbm, and dimensions "30*20*10cm" (also x, ×, X; mm, cm, m;
bare dimensions mean cm) read as length × width × height. Bare numbers mean
kg and m³.

Plausibility ceilings (:class:`Limits`, defaults below, the desk's
``[intake]`` config can raise them): a number above its ceiling is almost
always a typo (10⁹ pieces, a weight typed in grams) and is reported with the
ceiling so the desk can correct the row or raise the ceiling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
import unicodedata
from datetime import date, datetime, time
from functools import lru_cache

_QTY = re.compile(r"(\d+(?:\.0+)?)\s*(?:件|个|箱|台|套|包|袋|瓶|盒|只|双|张|本|支|桶|卷|条|把|块|份|罐|组|片|pcs?|pieces?|units?|ctns?)?")
_WEIGHT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(kg|kgs|公斤|千克|g|克|斤)?")
_VOLUME = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(m3|立方米|立方|方|cbm)?")
_WEIGHT_FACTOR = {None: 1.0, "kg": 1.0, "kgs": 1.0, "公斤": 1.0, "千克": 1.0, "g": 0.001, "克": 0.001, "斤": 0.5}
_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_DIMENSIONS = re.compile(rf"{_NUM}\s*(mm|cm|m|毫米|厘米|米)?\s*[*x×]\s*{_NUM}\s*(mm|cm|m|毫米|厘米|米)?\s*[*x×]\s*"
                         rf"{_NUM}\s*(mm|cm|m|毫米|厘米|米)?")
_METRES = {None: 0.01, "cm": 0.01, "厘米": 0.01, "mm": 0.001, "毫米": 0.001, "m": 1.0, "米": 1.0}


@dataclass(frozen=True)
class Limits:
    """Ceilings above which a quantity, weight or volume is reported as implausible."""

    max_pieces: int = 10_000
    max_weight_kg: float = 30_000.0  # a full 17.5 m truck carries about 30 t
    max_volume_m3: float = 150.0  # a 17.5 m truck's box holds about 130–150 m³


DEFAULT_LIMITS = Limits()


def plausibility(key: str, number: float | None, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """A message when ``number`` (quantity / weight_kg / volume_m3) is above its ceiling, else None."""
    if number is None:
        return None
    ceiling, label, unit = {
        "quantity": (limits.max_pieces, "数量", "件"),
        "weight_kg": (limits.max_weight_kg, "重量", "公斤"),
        "volume_m3": (limits.max_volume_m3, "体积", "立方米"),
    }[key]
    if number <= ceiling:
        return None
    shown = f"{number:,.0f}" if float(number).is_integer() else f"{number:,g}"
    return (f"{label} {shown}{unit} 超过合理上限 {ceiling:,g}{unit}，很可能是填错了（多打了0或单位不对），"
            f"请与客户核对；如确实如此，可在配置 [intake] 中调高上限。")


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
    if not m and pattern is _VOLUME:
        d = _DIMENSIONS.fullmatch(_text(value))
        if d:
            return _check_measure(_cubic_metres(d), value, label, unit)
    if not m:
        hint = "，或写成长*宽*高，例如 30*20*10cm" if pattern is _VOLUME else ""
        return None, f"{label}“{value}”不是数字，请填写以{unit}为单位的正数{hint}。"
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


def _cubic_metres(m: re.Match[str]) -> float:
    """30*20*10cm → 0.006; a unit written once (at the end) applies to all three sides."""
    units = [m.group(2), m.group(4), m.group(6)]
    last = next((u for u in reversed(units) if u), None)
    volume = 1.0
    for number, u in zip((m.group(1), m.group(3), m.group(5)), units):
        volume *= float(number) * _METRES[u or last]
    return round(volume, 9)
