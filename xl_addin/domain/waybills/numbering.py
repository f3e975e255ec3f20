"""Our own automatic waybill numbers: short code + YYYYMMDD + 6-digit serial (e.g. JD20261126000001).

The store allocates serials (unique per prefix and day); this module only
writes and reads the number. A seventh digit would break the fixed width and
could collide with another day's numbers, so exhaustion is an error, never a
wrap-around.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

MAX_SERIAL = 999_999
_SHORT_CODE = re.compile(r"[A-Z]{1,4}")
_OWN = re.compile(r"([A-Z]{1,4})(\d{8})(\d{6})")


class SerialExhausted(ValueError):
    """All 999,999 serials of one prefix and day are used."""


class OwnWaybill(NamedTuple):
    prefix: str
    day: date
    serial: int


def format_waybill(short_code: str, day: date, serial: int) -> str:
    if not isinstance(short_code, str) or not _SHORT_CODE.fullmatch(short_code):
        raise ValueError(f"单号前缀 {short_code!r} 无效: 应为 1-4 个大写英文字母")
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 1:
        raise ValueError(f"流水号 {serial!r} 无效: 应为 1 至 {MAX_SERIAL} 的整数")
    if serial > MAX_SERIAL:
        raise SerialExhausted(
            f"{short_code} 在 {day:%Y-%m-%d} 的自动单号已用完 ({MAX_SERIAL} 个): "
            "请改用物流商下发的单号, 或换用另一个单号前缀"
        )
    return f"{short_code}{day:%Y%m%d}{serial:06d}"


def parse_own_waybill(number: str) -> OwnWaybill | None:
    """(prefix, day, serial) for a number of our own shape with a real date; anything else → None."""
    match = _OWN.fullmatch(number or "")
    if not match:
        return None
    prefix, digits, serial = match.groups()
    try:
        day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    if int(serial) == 0:
        return None
    return OwnWaybill(prefix, day, int(serial))
