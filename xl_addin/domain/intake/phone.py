"""Receiver phone numbers: accept what people type, reject what a courier cannot call.

Validity comes from ``phonenumbers`` (Google's allocation metadata), so
unallocated blocks (140, 141, 174 …) and wrong local-number lengths
(0755-1234567) are caught without a hand-made pattern going stale.

Policy decisions:
- Service numbers are rejected: 95xxx short numbers, and 400/800 hotlines
  (phonenumbers classes them as shared-cost / toll-free). A hotline reaches a
  company's call centre, not the person who signs for the parcel.
- A Chinese-style extension (转123, 分机123, ext 123) is split off before
  checking. It is kept on a fixed line ("0755-86001234转123"); on a mobile it
  is dropped, since mobiles have no extensions.
- A fixed line may carry its extension after a second dash
  (``0755-86001234-123``): read as 转123.
- Several numbers in one cell (``138…/139…``, or two whole numbers separated by
  a space) are each checked; the receiver's phone is the first valid mobile
  (else the first valid number) and the others are kept and reported
  (:func:`read_phone`), so the desk knows a second number exists.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .text import INVISIBLE, cell_text

_EXTENSION = re.compile(r"(?:转|轉|分机|分機|ext\.?|extension|x(?=\d))\s*[:：]?\s*(\d{1,6})\s*$", re.IGNORECASE)
_MASK = re.compile(r"[*＊●•×?？]|\d\s*[xX]{2,}\s*\d")
_MULTI = re.compile(r"[/／、;；,，|]|\s(?:或|or)\s")
_KEEP = re.compile(r"[^\d+]")
# 0755-86001234-123: area code, local number, extension (the dash form of 转123)
_DASH_EXTENSION = re.compile(r"^((?:[(（]0\d{2,3}[)）]\s*|0\d{2,3}\s*[-－—]\s*)\d{7,8})\s*[-－—]\s*(\d{1,6})$")
_DIGIT = re.compile(r"\d")
_HK_MO_TW = {"852": "香港", "853": "澳门", "886": "台湾"}
_mobile_re: re.Pattern[str] | None = None


def _mobile_pattern() -> re.Pattern[str]:
    """Fast path: the library's own mainland mobile pattern, read from its metadata."""
    global _mobile_re
    if _mobile_re is None:
        from phonenumbers import PhoneMetadata

        pattern = PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern
        _mobile_re = re.compile(f"(?:{pattern})")
    return _mobile_re


def normalize_phone(value: object) -> tuple[str | None, str | None]:
    """Return (canonical form, None) or (None, plain-Chinese problem message)."""
    phone, problem, _ = read_phone(value)
    return phone, problem


def read_phone(value: object) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(receiver's phone, problem, the other numbers written in the same cell)."""
    if value is None or isinstance(value, bool):
        return None, "电话为空，请补填收件人电话。", ()
    if isinstance(value, float) and not value.is_integer():
        return None, f"电话“{value}”不是完整的号码（单元格是带小数的数字），请改成文本格式重新填写。", ()
    text = cell_text(value)
    if not text:
        return None, "电话为空，请补填收件人电话。", ()
    if len(text) == 11 and text[0] == "1" and text.isascii() and text.isdigit() and _mobile_pattern().fullmatch(text):
        return text, None, ()  # the common case: a plain valid mobile, no parsing needed
    return _normalize_text(text)


def _split_numbers(text: str) -> list[str]:
    parts = [p.strip() for p in _MULTI.split(text) if p.strip()]
    if len(parts) == 1:
        # "13800138000 13900139000": a space splits only whole numbers (each 10+ digits),
        # never "0755 86001234" or "138 0013 8000"
        tokens = text.split()
        if len(tokens) > 1 and all(len(_DIGIT.findall(t)) >= 10 for t in tokens):
            return tokens
    return parts


@lru_cache(maxsize=65536)
def _normalize_text(raw: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    text = INVISIBLE.sub("", unicodedata.normalize("NFKC", raw)).strip()
    if _MASK.search(text):
        return None, f"电话“{raw}”是打码号码（含*或x），无法派送，请向客户要完整号码。", ()
    parts = _split_numbers(text)
    if len(parts) > 1:
        read = [(part, *_one_number(part, raw)) for part in parts]
        valid = [(part, one) for part, one, problem in read if not problem]
        if not valid:
            return None, read[0][2], ()
        chosen = next((one for _, one in valid if one[0] == "1"), valid[0][1])  # first valid mobile
        others = tuple(one if not problem else part for part, one, problem in read
                       if one != chosen or problem)
        return chosen, None, others
    return (*_one_number(text, raw), ())


def _one_number(text: str, raw: str) -> tuple[str | None, str | None]:
    extension = ""
    m = _EXTENSION.search(text)
    if m:
        extension = m.group(1)
        text = text[: m.start()].rstrip(" -－—")
    else:
        m = _DASH_EXTENSION.match(text)
        if m:
            text, extension = m.group(1), m.group(2)
    if re.search(r"[^\d\s+\-－—().（）\[\]]", text):
        return None, f"电话“{raw}”含有非数字内容，请只填写号码（分机可写成“转123”）。"
    digits = _KEEP.sub("", text)
    plus = digits.startswith("+")
    digits = digits.lstrip("+")
    if plus or digits.startswith("00"):
        digits = digits[2:] if digits.startswith("00") else digits
        for code in _HK_MO_TW:
            if digits.startswith(code):
                return _foreign("+" + digits, raw)
        if not digits.startswith("86"):
            return None, f"电话“{raw}”不是中国大陆或港澳台号码，请核对国家/地区代码。"
        digits = digits[2:]
        if not (len(digits) == 11 and digits.startswith("1")) and not digits.startswith("0"):
            digits = "0" + digits  # +86 10 6552 9988: area code written without its trunk 0
    elif digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        digits = digits[2:]  # 8613800138000: country code without the plus
    if not digits:
        return None, f"电话“{raw}”没有号码数字，请补填。"
    if digits.startswith("1"):
        return _mobile(digits, raw)
    if digits.startswith(("400", "800")) or digits.startswith("95") and len(digits) <= 6:
        return None, f"“{raw}”是客服/服务热线，不是收件人电话，请向客户要收件人本人的电话。"
    if not digits.startswith("0"):
        if len(digits) in (7, 8):
            return None, f"固定电话“{raw}”缺少区号，请写成“区号-号码”，例如 0755-86001234。"
        return None, f"电话“{raw}”位数不对（{len(digits)}位），请核对。"
    return _fixed_line(digits, extension, raw)


def _mobile(digits: str, raw: str) -> tuple[str | None, str | None]:
    if len(digits) != 11:
        return None, f"手机号“{raw}”应为11位，当前为{len(digits)}位，请核对。"
    if _mobile_pattern().fullmatch(digits):
        return digits, None
    return None, f"手机号“{raw}”的号段 {digits[:3]} 不存在或未分配，请向客户核对。"


def _fixed_line(digits: str, extension: str, raw: str) -> tuple[str | None, str | None]:
    import phonenumbers
    from phonenumbers import PhoneNumberType

    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None, f"电话“{raw}”无法识别，请核对。"
    kind = phonenumbers.number_type(number)
    if kind in (PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST, PhoneNumberType.PREMIUM_RATE,
                PhoneNumberType.UAN):
        return None, f"“{raw}”是客服/服务热线，不是收件人电话，请向客户要收件人本人的电话。"
    # number_type is UNKNOWN for a number that is not valid in CN, so no separate validity check
    if kind not in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None, f"固定电话“{raw}”的区号或位数不对，请核对（例如 0755-86001234，大城市号码为8位）。"
    nsn = str(number.national_number)
    # mainland area codes: 10 and 2x have two digits after the trunk 0, all others three
    area = 2 if nsn[0] == "2" or nsn.startswith("10") else 3
    canonical = f"0{nsn[:area]}-{nsn[area:]}"
    return (canonical + (f"转{extension}" if extension else "")), None


def _foreign(e164: str, raw: str) -> tuple[str | None, str | None]:
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None, f"电话“{raw}”无法识别，请核对。"
    region = _HK_MO_TW.get(str(number.country_code), "港澳台")
    if not phonenumbers.is_valid_number(number):
        return None, f"{region}电话“{raw}”位数或号段不对，请核对。"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL), None
