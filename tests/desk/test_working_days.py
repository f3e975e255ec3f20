"""Working-day arithmetic for expected delivery dates, across 2026 holidays and the computed (estimated) 2027."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from xl_addin.domain.waybills.calendar import (
    DeliveryDate, add_working_days, calendar_covers, calendar_warning, expected_delivery, is_working_day,
    holidays_publishes, last_covered_year,
)
from xl_addin.domain.waybills.carriers import find_carrier, load_default_carriers

D = date


def official(start: date, n: int) -> date:
    r = add_working_days(start, n)
    assert r.estimated is False and r.warning is None, r
    return r.date


def test_official_2026_adjusted_working_days_are_known():
    # State Council 2026 notice: Spring Festival 15–23 Feb, make-up days Sat 14 Feb and Sat 28 Feb;
    # National Day 1–7 Oct, make-up days Sun 20 Sep and Sat 10 Oct.
    for day in (D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)):
        assert is_working_day(day) == (True, True), day
    for day in (D(2026, 2, 16), D(2026, 2, 23), D(2026, 10, 1), D(2026, 10, 7)):
        assert is_working_day(day) == (False, True), day


def test_golden_week_2026():
    assert official(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert official(D(2026, 9, 30), 3) == D(2026, 10, 10)  # Saturday 10 Oct is a working day
    assert official(D(2026, 10, 2), 0) == D(2026, 10, 8)  # shipped in the holiday: next working day
    assert official(D(2026, 10, 3), 2) == D(2026, 10, 9)
    assert official(D(2026, 9, 19), 1) == D(2026, 9, 20)  # Sunday 20 Sep is a working day
    assert official(D(2026, 10, 10), 1) == D(2026, 10, 12)


def test_spring_festival_2026():
    assert official(D(2026, 2, 13), 1) == D(2026, 2, 14)  # Saturday make-up day
    assert official(D(2026, 2, 14), 1) == D(2026, 2, 24)  # nine days off, 15–23 Feb
    assert official(D(2026, 2, 12), 4) == D(2026, 2, 25)
    assert official(D(2026, 2, 27), 1) == D(2026, 2, 28)


def test_plain_weeks_and_zero_days():
    assert official(D(2026, 11, 27), 1) == D(2026, 11, 30)  # Friday → Monday
    assert official(D(2026, 11, 26), 0) == D(2026, 11, 26)
    assert official(datetime(2026, 11, 28, 15, 0), 0) == D(2026, 11, 30)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 11, 26), -1)


def test_year_end_2026_to_2027_is_estimated_with_a_warning():
    inside = add_working_days(D(2026, 12, 29), 2)
    assert inside == DeliveryDate(D(2026, 12, 31), False, None)  # never looked into 2027
    across = add_working_days(D(2026, 12, 30), 3)
    # 31 Dec (1), 1 Jan is New Year's Day, 2–3 Jan weekend, 4 Jan (2), 5 Jan (3)
    assert across.date == D(2027, 1, 5)
    assert across.estimated is True
    assert "2027" in across.warning and "估算" in across.warning and "chinesecalendar" in across.warning


def test_uncovered_year_is_computed_from_the_holiday_law():
    year = last_covered_year() + 1
    assert calendar_covers(year) is False and calendar_covers(last_covered_year()) is True
    monday = next(D(year, 3, d) for d in range(1, 8) if D(year, 3, d).weekday() == 0)
    r = add_working_days(monday, 5)  # a plain week: Monday + 5 = next Monday
    assert (r.date - monday).days == 7 and r.estimated
    assert is_working_day(D(year, 10, 1)) == (False, False)
    assert is_working_day(D(year, 5, 2)) == (False, False)
    assert is_working_day(monday) == (True, False)


# 2027 from the holiday law as revised in 2025 (国务院令第793号, 全国年节及纪念日放假办法): 春节 is
# 除夕 to 初三 (4 days), 清明, 劳动节 1–2 May, 国庆 1–3 Oct; a holiday on a Saturday or Sunday is given
# back on the next working day (第六条). Lunar dates 2027: 除夕 Fri 5 Feb, 初一 Sat 6 Feb, 清明 Mon 5 Apr.

def test_spring_festival_2027_is_not_promised_inside_the_break():
    assert is_working_day(D(2027, 2, 5)) == (False, False)  # 除夕
    for day in range(6, 11):  # 初一–初三 (6–8 Feb), and 9–10 Feb given back for the weekend 6–7 Feb
        assert is_working_day(D(2027, 2, day))[0] is False, day
    r = add_working_days(D(2027, 2, 4), 1)  # shipped Thursday before 除夕
    assert r.date == D(2027, 2, 11) and r.estimated is True
    assert add_working_days(D(2027, 2, 3), 1).date == D(2027, 2, 4)  # an ordinary Thursday still counts


def test_qingming_2027_is_a_holiday():
    assert is_working_day(D(2027, 4, 5)) == (False, False)
    assert add_working_days(D(2027, 4, 2), 1).date == D(2027, 4, 6)  # Friday → Tuesday, not Monday 清明
    assert is_working_day(D(2027, 4, 6)) == (True, False)


def test_weekend_holidays_2027_are_given_back():
    # 劳动节 1–2 May 2027 is Saturday–Sunday: Monday 3 and Tuesday 4 May off
    assert [is_working_day(D(2027, 5, d))[0] for d in range(3, 6)] == [False, False, True]
    # 国庆 1–3 Oct 2027 is Friday–Sunday: 2 and 3 Oct given back on 4 and 5 Oct
    assert add_working_days(D(2027, 9, 30), 1).date == D(2027, 10, 6)


def test_2027_not_yet_in_the_calendar_canary():
    """Canary: fails on purpose once chinesecalendar or holidays carries the official 2027 arrangement.

    Then upgrade the project's pin, replace the computed 2027 expectations above
    with the State Council's notice (make-up working days included), and check
    the year-end test still holds with official dates.
    """
    assert not calendar_covers(2027), "chinesecalendar 已收录 2027 年: 请更新本测试和依赖版本"
    assert not holidays_publishes(2027), "holidays 已收录 2027 年调休: 请更新本测试和依赖版本"
    assert holidays_publishes(2026)  # the check itself works: 2026's 调休 are in the package
    r = add_working_days(D(2027, 1, 4), 1)
    assert r == DeliveryDate(D(2027, 1, 5), True, r.warning) and r.warning


def test_doctor_style_warning():
    text = calendar_warning(D(2026, 11, 27))
    assert text is not None
    assert "缺少 2027 年" in text and "xl-logistics 新版本" in text and "pip install" not in text
    assert calendar_warning(D(2025, 6, 1)) is None  # 2025 and 2026 both covered


def test_expected_delivery_uses_the_carrier_promise():
    carriers = load_default_carriers()
    sf = find_carrier("SF", carriers)
    # SF express to a national destination promises 1 working day; standard promises 2
    assert expected_delivery(datetime(2026, 9, 30, 18, 0), sf, "express", "national").date == D(2026, 10, 8)
    assert expected_delivery(D(2026, 9, 30), sf, "standard", "national").date == D(2026, 10, 9)
    # insured has no row of its own: the standard promise applies
    assert expected_delivery(D(2026, 9, 30), sf, "insured", "national").date == D(2026, 10, 9)
    zto = find_carrier("ZTO", carriers)
    late = expected_delivery(D(2026, 12, 28), zto, "standard", "remote")  # 5 working days
    assert late.date == D(2027, 1, 5) and late.estimated  # 29, 30, 31 Dec, (1 Jan off), 4, 5 Jan
    broken = dataclasses.replace(zto, transit_days={})
    with pytest.raises(ValueError, match="承诺时效"):
        expected_delivery(D(2026, 12, 28), broken, "standard", "remote")
