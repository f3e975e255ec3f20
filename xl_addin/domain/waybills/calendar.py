"""Working-day arithmetic for expected delivery dates (预计送达日期).

Uses ``chinese_calendar`` for official public holidays and adjusted working
days (调休). The package only knows the years the State Council has already
announced; for any other year it raises ``NotImplementedError``. Here such
days fall back to "Saturday and Sunday are off" (plus the fixed-date
statutory holidays, 1 Jan, 1–2 May, 1–3 Oct) and the result is marked
``estimated`` with a Chinese warning — a delivery date is never a crash.
The calendar is imported on first use, not at import time.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import lru_cache

from xl_addin.domain.waybills.carriers import Carrier
from xl_addin.domain.waybills.regions import GROUP_LABELS


@dataclass(frozen=True)
class DeliveryDate:
    date: _dt.date
    estimated: bool = False
    warning: str | None = None


def _cc():
    import chinese_calendar

    return chinese_calendar


@lru_cache(maxsize=None)
def calendar_covers(year: int) -> bool:
    """True when the installed calendar has the official holiday arrangement for ``year``."""
    try:
        _cc().is_workday(_dt.date(year, 1, 1))
        _cc().is_workday(_dt.date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


def calendar_version() -> str:
    return getattr(_cc(), "__version__", "?")


def last_covered_year() -> int:
    from chinese_calendar.constants import holidays

    return max(holidays).year


# Statutory holidays on fixed solar dates (全国年节及纪念日放假办法): known before the yearly
# notice, so the fallback skips them too. Lunar holidays and 调休 cannot be guessed.
FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


def is_working_day(day: _dt.date) -> tuple[bool, bool]:
    """(is a working day, known from the official calendar rather than estimated)."""
    if calendar_covers(day.year):
        return _cc().is_workday(day), True
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS, False


def _uncovered_warning(years: list[int]) -> str:
    listed = "、".join(str(y) for y in years)
    return (f"节假日日历 (chinesecalendar {calendar_version()}) 尚未收录 {listed} 年的法定节假日和调休安排, "
            f"预计送达日期只排除了周末和元旦/劳动节/国庆的固定假日, 是估算值: 安装收录该年的 xl-logistics 新版本后请重新计算")


def add_working_days(start: _dt.date, n: int) -> DeliveryDate:
    """The day ``n`` working days after ``start`` (``start`` itself not counted).

    ``n == 0`` gives ``start`` when it is a working day, else the next one.
    Days in years the calendar does not cover count Monday–Friday, minus the
    fixed-date statutory holidays (1 Jan, 1–2 May, 1–3 Oct), and make the
    result ``estimated``.
    """
    if isinstance(start, _dt.datetime):
        start = start.date()
    if n < 0:
        raise ValueError(f"工作日数应为非负整数, 实际为 {n}")
    uncovered: set[int] = set()

    def working(day: _dt.date) -> bool:
        ok, known = is_working_day(day)
        if not known:
            uncovered.add(day.year)
        return ok

    day = start
    if n == 0:
        while not working(day):
            day += _dt.timedelta(days=1)
    else:
        counted = 0
        while counted < n:
            day += _dt.timedelta(days=1)
            if working(day):
                counted += 1
    if uncovered:
        return DeliveryDate(day, True, _uncovered_warning(sorted(uncovered)))
    return DeliveryDate(day, False, None)


def expected_delivery(ship_time: _dt.datetime | _dt.date, carrier: Carrier, service: str,
                      dest_group: str) -> DeliveryDate:
    """Ship date + the carrier's promised working days for the service and destination group."""
    days = carrier.promised_days(service, dest_group)
    if days is None:
        label = GROUP_LABELS.get(dest_group, dest_group)
        raise ValueError(f"{carrier.name} 没有登记 {service} 服务到{label}的承诺时效: 请在物流商名录中补充 transit_days")
    start = ship_time.date() if isinstance(ship_time, _dt.datetime) else ship_time
    return add_working_days(start, days)


def calendar_warning(today: _dt.date) -> str | None:
    """Doctor-style notice when this or next year is missing from the calendar (``today`` is passed in)."""
    missing = [y for y in (today.year, today.year + 1) if not calendar_covers(y)]
    if not missing:
        return None
    listed = "、".join(str(y) for y in missing)
    return (f"节假日日历 chinesecalendar {calendar_version()} 只收录到 {last_covered_year()} 年, 缺少 {listed} 年: "
            f"跨入该年的预计送达日期只排除周末和固定日期假日, 并标记为估算。国务院公布次年安排后 (通常在11-12月), "
            f"请安装收录该年的 xl-logistics 新版本（chinesecalendar 随产品固定版本发布，不要单独升级）")
