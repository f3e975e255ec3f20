"""Waybill number formats, for numbers a person types in or pastes from a carrier.

Each carrier's number is checked against that carrier's own formats (the
carrier named on the row is the verdict). Guessing the carrier from the
number alone is only a suggestion: all-digit formats overlap between carriers.
Our own automatic numbers (short code + YYYYMMDD + 6-digit serial) are valid
for the carrier whose short code they carry, and for any carrier when the
prefix is the company's own (``own_prefixes``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from xl_addin.domain.problems import ERROR, WARNING, Problem
from xl_addin.domain.waybills.carriers import Carrier, find_carrier
from xl_addin.domain.waybills.numbering import parse_own_waybill

COLUMN = "waybill_no"
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


@dataclass(frozen=True)
class WaybillFormat:
    pattern: re.Pattern[str]
    label: str  # Chinese description used in messages
    s10: bool = False  # UPU S10 international item: has a check digit


def _f(pattern: str, label: str, s10: bool = False) -> WaybillFormat:
    return WaybillFormat(re.compile(pattern), label, s10)


# Keyed by Kuaidi100 company code (stable across desks' own carrier codes).
FORMATS: dict[str, tuple[WaybillFormat, ...]] = {
    "shunfeng": (_f(r"SF\d{13}", "SF+13位数字"), _f(r"\d{12}", "旧版12位数字")),
    "jd": (_f(r"JD[A-Z0-9]{2}\d{11}", "JD+2位字母或数字+11位数字"),),
    "jtexpress": (_f(r"JT\d{13}", "JT+13位数字"),),
    "yuantong": (_f(r"YT\d{13}", "YT+13位数字"),),
    "debangkuaidi": (_f(r"DPK\d{12}", "DPK+12位数字"),),
    "zhongtong": (_f(r"7[3-68]\d{12}", "73/74/75/76/78开头的14位数字"),),
    "shentong": (_f(r"77\d{12,13}", "77开头的14或15位数字"),),
    "yunda": (_f(r"[34]\d{14}", "3或4开头的15位数字"),),
    "ems": (
        _f(r"\d{13}", "国内13位数字"),
        _f(r"[A-Z]{2}\d{9}[A-Z]{2}", "国际邮件 2位字母+8位数字+校验位+2位字母", s10=True),
    ),
}

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_ANY_REASONABLE = re.compile(r"[A-Z0-9-]{6,32}")
# JD prints a package's label as base number + "-package-of-packages-" (JDVA12345678901-1-3-):
# the shipment is tracked and bound by the base number.
_JD_PACKAGE = re.compile(r"(JD[A-Z0-9]{2}\d{11})-\d{1,4}-\d{1,4}-?")


def normalize_waybill(text: object) -> str:
    """Strip, NFKC (full-width → ASCII), upper-case, drop inner spaces and invisible characters.

    Excel hands a typed-in all-digit number over as a float (773123456789012.0):
    integral floats become their integer digits. A leading apostrophe (Excel's
    "keep as text" mark) is dropped. A JD number written with its package
    suffix (JDVA12345678901-1-3-) becomes the base number, which is what is stored.
    """
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    s = unicodedata.normalize("NFKC", str(text)).translate(_INVISIBLE)
    s = "".join(s.split()).upper()
    s = s[1:] if s.startswith("'") else s
    return base_waybill(s)


def base_waybill(number: str) -> str:
    """A JD package label number (JDVA12345678901-1-3-) → its base number; anything else unchanged."""
    if "-" in number:
        m = _JD_PACKAGE.fullmatch(number)
        if m:
            return m.group(1)
    return number


def s10_check_digit(serial8: str | int) -> int:
    """UPU S10 check digit of an 8-digit serial: 11 − (Σ dᵢ·wᵢ mod 11), 10 → 0, 11 → 5."""
    digits = f"{serial8:08d}" if isinstance(serial8, int) else str(serial8)
    if not re.fullmatch(r"\d{8}", digits):
        raise ValueError(f"S10 序号应为8位数字, 实际为 {serial8!r}")
    check = 11 - sum(int(d) * w for d, w in zip(digits, S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(check, check)


def formats_for(carrier: Carrier) -> tuple[WaybillFormat, ...]:
    return FORMATS.get(carrier.kuaidi100_code) or FORMATS.get(carrier.code.lower(), ())


def _s10_ok(number: str) -> bool:
    return s10_check_digit(number[2:10]) == int(number[10])


def _matches(number: str, carrier: Carrier, own_prefixes: Iterable[str] = ()) -> WaybillFormat | str | None:
    """The format the number fits for this carrier ('own' for our numbers), else None."""
    own = parse_own_waybill(number)
    if own and (own.prefix == carrier.short_code or own.prefix in own_prefixes):
        return "own"
    for fmt in formats_for(carrier):
        if fmt.pattern.fullmatch(number):
            return fmt
    return None


def suggest_carriers(number: str, carriers: Iterable[Carrier]) -> list[str]:
    """Codes of the carriers whose formats the number fits (a hint; digit-only formats overlap).

    S10 numbers with a wrong check digit are not suggested; our own numbers
    suggest the carrier with that short code.
    """
    number = normalize_waybill(number)
    found = []
    for carrier in carriers:
        fmt = _matches(number, carrier)
        if fmt is None or (isinstance(fmt, WaybillFormat) and fmt.s10 and not _s10_ok(number)):
            continue
        found.append(carrier.code)
    return found


def _describe(carrier: Carrier) -> str:
    labels = [f.label for f in formats_for(carrier)]
    labels.append(f"本公司自动单号 {carrier.short_code}+日期8位+流水号6位")
    return " 或 ".join(labels)


def check_waybill(number: object, carrier_code: str, carriers: Iterable[Carrier],
                  own_prefixes: Iterable[str] = ()) -> list[Problem]:
    """Problems with a waybill number for the named carrier (empty list: fine).

    Codes: WAYBILL_MISSING, CARRIER_UNKNOWN, WAYBILL_FORMAT (with the carrier it
    looks like, if any), WAYBILL_CHECK_DIGIT (S10), WAYBILL_UNCHECKED (warning:
    no known format for this carrier).
    """
    carriers = list(carriers)
    own_prefixes = tuple(own_prefixes)
    text = normalize_waybill(number)
    if not text:
        return [Problem("WAYBILL_MISSING", ERROR, COLUMN, "物流单号为空: 请填写物流商下发的单号")]
    carrier = find_carrier(carrier_code, carriers)
    if carrier is None:
        return [Problem("CARRIER_UNKNOWN", ERROR, "carrier",
                        f"物流商 {carrier_code!r} 不在合格物流商名录中: 请先在名录中添加或改选物流商")]
    fmt = _matches(text, carrier, own_prefixes)
    if fmt == "own":
        return []
    if isinstance(fmt, WaybillFormat):
        if fmt.s10 and not _s10_ok(text):
            expected = s10_check_digit(text[2:10])
            return [Problem("WAYBILL_CHECK_DIGIT", ERROR, COLUMN,
                            f"国际邮件单号 {text} 校验位错误 (第11位应为 {expected}, 实际为 {text[10]}): "
                            "请核对是否抄错")]
        return []
    if not formats_for(carrier):
        if _ANY_REASONABLE.fullmatch(text):
            return [Problem("WAYBILL_UNCHECKED", WARNING, COLUMN,
                            f"{carrier.name} 没有登记单号格式, 无法校验 {text}: 请人工核对")]
        return [Problem("WAYBILL_FORMAT", ERROR, COLUMN,
                        f"物流单号 {text} 不像任何物流单号 (应为6-32位字母或数字): 请核对")]
    others = [c for c in suggest_carriers(text, carriers) if c != carrier.code]
    message = f"物流单号 {text} 不符合{carrier.name}的单号格式 (应为 {_describe(carrier)})"
    if others:
        names = "、".join(f"{find_carrier(c, carriers).name}({c})" for c in others)
        message += f"; 看起来像{names}的单号: 请核对物流商或单号"
    else:
        message += ": 请核对单号是否抄错"
    return [Problem("WAYBILL_FORMAT", ERROR, COLUMN, message)]
