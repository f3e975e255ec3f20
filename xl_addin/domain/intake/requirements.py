"""Special requirements that carry a value: a declared value (保价5000元) and a temperature range (2-8℃).

:func:`read_values` finds them in the requirement text before the tag list is
read, returns the value, the tag it implies (保价, 冷链) and the text with the
value taken out, so "保价5000元" is one understood requirement and not a tag
plus an unknown "5000元".

Declared value: 保价 / 声明价值 / 保额 / insured / declared value followed by an
amount (5000, 5,000, 5千, 0.5万, ¥5000, 5000元/块); a bare amount before 的保价
("5000元保价") too. Temperature: a range "2-8℃", "2~8度", "2至8°C", a limit
"-18℃以下", "零下18度". Any temperature at or below 8 ℃ is cold chain; above
that (常温 15–25 ℃) only the range is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from .text import fold

_AMOUNT = r"[¥￥]?\s*(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万|千|k|w)?\s*(?:元|块|rmb|cny)?"
_DECLARED = re.compile(
    r"(?:足额)?(?:保价|保价金额|保价运输|声明价值|申报价值|保额|insured(?:\s*value)?|declared\s*value|insurance)"
    r"\s*[:：为是]?\s*" + _AMOUNT
)
_DECLARED_BEFORE = re.compile(_AMOUNT.replace(r"(?:元|块|rmb|cny)?", r"(?:元|块|rmb|cny)") + r"\s*(?:的)?保价")
_DEGREE = r"\s*(?:℃|°c|°|度|摄氏度)"
_NUMBER = r"(零下|负|-|−)?\s*(\d+(?:\.\d+)?)"
_RANGE = re.compile(_NUMBER + r"\s*(?:" + _DEGREE + r")?\s*(?:-|~|～|至|到|—|–)\s*" + _NUMBER + _DEGREE)
_LIMIT = re.compile(_NUMBER + _DEGREE + r"\s*(以下|以内|之下|以上)?")
_MULTIPLIER = {None: 1, "千": 1000, "k": 1000, "万": 10000, "w": 10000}
COLD_CHAIN_AT_OR_BELOW = 8.0
_NEGATION = ("不需要", "不需", "不用", "无需", "无须", "不要", "不", "无", "别", "免")


@dataclass(frozen=True)
class RequirementValues:
    rest: str  # the text with the values taken out
    tags: tuple[str, ...] = ()  # tags the values imply, in order of appearance
    declared_value: Decimal | None = None  # yuan
    temperature: str | None = None  # "2-8℃", "≤-18℃"


def _signed(sign: str | None, number: str) -> float:
    return -float(number) if sign else float(number)


def _degrees(value: float) -> str:
    return f"{value:g}"


@lru_cache(maxsize=32768)
def read_values(text: str) -> RequirementValues:
    """Declared value and temperature found in one requirement text (folded: NFKC, lower case)."""
    folded = fold(text)
    if not any(ch.isdigit() for ch in folded):
        return RequirementValues(text)
    found: list[tuple[int, str]] = []
    declared = None
    rest = folded
    m = _DECLARED.search(rest) or _DECLARED_BEFORE.search(rest)
    if m and rest[:m.start()].rstrip().endswith(_NEGATION):
        m = None  # 无需保价5000元: understood by the tag list as a negation, no value
    if m:
        declared = (Decimal(m.group(1).replace(",", "")) * _MULTIPLIER[m.group(2)]).quantize(Decimal("0.01"))
        found.append((m.start(), "保价"))
        rest = rest[:m.start()] + " " + rest[m.end():]
    temperature = None
    r = _RANGE.search(rest)
    if r:
        low, high = sorted((_signed(r.group(1), r.group(2)), _signed(r.group(3), r.group(4))))
        temperature = f"{_degrees(low)}-{_degrees(high)}℃"
        coldest = high
    else:
        r = _LIMIT.search(rest)
        if r:
            value = _signed(r.group(1), r.group(2))
            bound = {"以上": "≥"}.get(r.group(3) or "", "≤" if r.group(3) else "")
            temperature = f"{bound}{_degrees(value)}℃"
            coldest = value if bound != "≥" else float("inf")
    if r:
        if coldest <= COLD_CHAIN_AT_OR_BELOW:
            found.append((r.start(), "冷链"))
        rest = rest[:r.start()] + " " + rest[r.end():]
    tags = tuple(dict.fromkeys(tag for _, tag in sorted(found)))
    if declared is None and temperature is None:
        return RequirementValues(text)
    return RequirementValues(rest, tags, declared, temperature)
