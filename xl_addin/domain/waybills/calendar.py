"""Working-day arithmetic for expected delivery dates (预计送达日期).

Three sources, in this order, per year:

1. ``chinese_calendar`` (pinned): the official holidays and adjusted working
   days (调休) of every year the State Council has announced (up to 2026 in
   1.11.0). For any other year it raises ``NotImplementedError``.
2. The ``holidays`` package's China calendar (monthly releases): when it
   carries the State Council's arrangement for the year (its
   ``special_public_holidays`` hold the year's 调休 days), that is official too.
3. Otherwise the same ``holidays`` calendar *computes* the year: the lunar
   holidays (除夕, Spring Festival, Qingming, Dragon Boat, Mid-Autumn) from the
   Chinese calendar, the solar ones from the 2025 holiday law, and a day given
   back when a holiday falls on a weekend. Make-up working Saturdays cannot be
   computed, so the result is marked ``estimated`` with a Chinese warning.

A delivery date is never a crash. Both calendars are imported on first use,
not at import time.
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


@lru_cache(maxsize=None)
def _computed_year(year: int):
    """The ``holidays`` package's China calendar for one year (immutable after it is built)."""
    from holidays.countries.china import China

    return China(years=year)


@lru_cache(maxsize=None)
def holidays_publishes(year: int) -> bool:
    """True when the ``holidays`` package carries the State Council's 调休 arrangement for ``year``."""
    return year in _computed_year(year).special_public_holidays


def holidays_version() -> str:
    import holidays

    return getattr(holidays, "__version__", "?")


def is_working_day(day: _dt.date) -> tuple[bool, bool]:
    """(is a working day, known from an official arrangement rather than computed)."""
    if calendar_covers(day.year):
        return _cc().is_workday(day), True
    table = _computed_year(day.year)
    return table.is_working_day(day), holidays_publishes(day.year)


def _uncovered_warning(years: list[int]) -> str:
    listed = "、".join(str(y) for y in years)
    return (f"{listed} 年的放假和调休安排尚未收录 (chinesecalendar {calendar_version()}, holidays {holidays_version()}), "
            f"预计送达日期按农历推算的法定假日 (含除夕、春节、清明、端午、中秋) 和周末计算, 未含调休上班日, 是估算值: "
            f"国务院公布安排后请安装收录该年的 xl-logistics 新版本再重新计算（两个日历随产品固定版本发布，不要单独升级）")


def add_working_days(start: _dt.date, n: int) -> DeliveryDate:
    """The day ``n`` working days after ``start`` (``start`` itself not counted).

    ``n == 0`` gives ``start`` when it is a working day, else the next one.
    Days in years with no official arrangement yet are counted on the computed
    calendar and make the result ``estimated``.
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
    missing = [y for y in (today.year, today.year + 1) if not calendar_covers(y) and not holidays_publishes(y)]
    if not missing:
        return None
    listed = "、".join(str(y) for y in missing)
    return (f"节假日日历 chinesecalendar {calendar_version()} 只收录到 {last_covered_year()} 年, 缺少 {listed} 年 "
            f"(holidays {holidays_version()} 也未收录): 跨入该年的预计送达日期按农历推算的法定假日和周末计算, "
            f"不含调休上班日, 并标记为估算。国务院公布次年安排后 (通常在11-12月), "
            f"请安装收录该年的 xl-logistics 新版本（chinesecalendar 与 holidays 随产品固定版本发布，不要单独升级）")
