"""Working-day arithmetic for expected delivery dates, across 2026 holidays and the uncovered 2027."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from xl_addin.domain.waybills.calendar import (
    DeliveryDate, add_working_days, calendar_covers, calendar_warning, expected_delivery, is_working_day,
    last_covered_year,
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
    # 31 Dec (1), 1 Jan is New Year's Day (a fixed statutory date), 2–3 Jan weekend, 4 Jan (2), 5 Jan (3)
    assert across.date == D(2027, 1, 5)
    assert across.estimated is True
    assert "2027" in across.warning and "估算" in across.warning and "chinesecalendar" in across.warning


def test_uncovered_year_falls_back_to_weekends_and_fixed_dates():
    year = last_covered_year() + 1
    assert calendar_covers(year) is False and calendar_covers(last_covered_year()) is True
    monday = next(D(year, 3, d) for d in range(1, 8) if D(year, 3, d).weekday() == 0)
    r = add_working_days(monday, 5)  # a plain week: Monday + 5 = next Monday
    assert (r.date - monday).days == 7 and r.estimated
    assert is_working_day(D(year, 10, 1)) == (False, False)
    assert is_working_day(D(year, 5, 2)) == (False, False)


def test_2027_not_yet_in_the_calendar_canary():
    """Canary: fails on purpose once chinesecalendar covers 2027.

    Then upgrade the project's pin, drop the 2027 expectations here, and check
    the year-end test above still holds with official dates.
    """
    assert not calendar_covers(2027), "chinesecalendar 已收录 2027 年: 请更新本测试和依赖版本"
    r = add_working_days(D(2027, 1, 4), 1)
    assert r == DeliveryDate(D(2027, 1, 5), True, r.warning) and r.warning


def test_doctor_style_warning():
    text = calendar_warning(D(2026, 11, 27))
    assert text is not None
    assert "缺少 2027 年" in text and "xl-logistics 新版本" in text and "pip install -U chinesecalendar" not in text
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
