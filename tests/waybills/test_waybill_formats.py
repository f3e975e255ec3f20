"""Waybill number formats per carrier, S10 check digits, suggestions, and our own numbers."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from xl_addin.domain.waybills.carriers import load_default_carriers
from xl_addin.domain.waybills.formats import check_waybill, normalize_waybill, s10_check_digit, suggest_carriers
from xl_addin.domain.waybills.numbering import MAX_SERIAL, SerialExhausted, format_waybill, parse_own_waybill

CARRIERS = load_default_carriers()

VALID = [
    ("SF", "SF1234567890123"),
    ("SF", "123456789012"),  # older 12-digit SF number
    ("JD", "JDVA12345678901"),
    ("JD", "JD0123456789012"),
    ("JT", "JT1234567890123"),
    ("YTO", "YT1234567890123"),
    ("DEPPON", "DPK123456789012"),
    ("ZTO", "73123456789012"),
    ("ZTO", "78123456789012"),
    ("STO", "77123456789012"),
    ("STO", "771234567890123"),
    ("YUNDA", "312345678901234"),
    ("YUNDA", "462345678901234"),
    ("EMS", "1123456789012"),
    ("EMS", "RB123456785GB"),
    ("EMS", "EE123456785CN"),
]


@pytest.mark.parametrize(("carrier", "number"), VALID)
def test_valid_numbers_pass_for_their_carrier(carrier, number):
    assert check_waybill(number, carrier, CARRIERS) == []
    assert carrier in suggest_carriers(number, CARRIERS)


@pytest.mark.parametrize(("carrier", "number"), [
    ("SF", "SF123456789012"),  # one digit short
    ("JD", "JD12345678901"),
    ("JT", "JT12345678901234"),
    ("YTO", "YT123456789012"),
    ("DEPPON", "DP1234567890123"),
    ("ZTO", "79123456789012"),  # 79 is not a ZTO prefix
    ("ZTO", "77123456789012"),  # that is STO
    ("STO", "7712345678901"),
    ("YUNDA", "512345678901234"),
    ("EMS", "112345678901"),
])
def test_wrong_numbers_are_format_errors(carrier, number):
    problems = check_waybill(number, carrier, CARRIERS)
    assert [p.code for p in problems] == ["WAYBILL_FORMAT"]
    assert problems[0].severity == "error" and problems[0].column == "waybill_no"


def test_mismatch_suggests_the_carrier_it_looks_like():
    [problem] = check_waybill("JDVA12345678901", "SF", CARRIERS)
    assert problem.code == "WAYBILL_FORMAT"
    assert "京东物流(JD)" in problem.message and "顺丰速运" in problem.message
    [problem] = check_waybill("77123456789012", "中通", CARRIERS)  # carrier named in Chinese
    assert "申通快递(STO)" in problem.message


def test_s10_check_digit_rule():
    assert s10_check_digit("12345678") == 5  # the protocol's example, RB123456785GB
    assert s10_check_digit(12345678) == 5
    assert s10_check_digit("47312482") == 9  # RR473124829GB
    assert s10_check_digit("00000000") == 5  # sum 0: 11 − 0 = 11 → 5
    assert s10_check_digit("00000008") == 0  # 8×7 = 56 ≡ 1: 11 − 1 = 10 → 0
    assert s10_check_digit("00000001") == 4  # 7 ≡ 7: 11 − 7 = 4
    with pytest.raises(ValueError):
        s10_check_digit("1234567")
    with pytest.raises(ValueError):
        s10_check_digit("1234567A")


def test_s10_wrong_check_digit_is_its_own_problem():
    [problem] = check_waybill("RB123456784GB", "EMS", CARRIERS)
    assert problem.code == "WAYBILL_CHECK_DIGIT"
    assert "应为 5" in problem.message
    assert suggest_carriers("RB123456784GB", CARRIERS) == []
    assert [p.code for p in check_waybill("RB123456785GB", "SF", CARRIERS)] == ["WAYBILL_FORMAT"]


def test_normalisation_of_pasted_and_typed_numbers():
    assert normalize_waybill("  sf 1234 5678 90123\t") == "SF1234567890123"
    assert normalize_waybill("ＳＦ１２３４５６７８９０１２３") == "SF1234567890123"
    assert normalize_waybill("'773123456789012") == "773123456789012"
    assert normalize_waybill(773123456789012.0) == "773123456789012"  # Excel number cell
    assert normalize_waybill("JT\u200b1234567890123") == "JT1234567890123"
    assert normalize_waybill(None) == ""
    assert check_waybill(" ｊｔ 1234567890123 ", "J&T", CARRIERS) == []


def test_missing_number_and_unknown_carrier():
    assert [p.code for p in check_waybill("  ", "SF", CARRIERS)] == ["WAYBILL_MISSING"]
    assert [p.code for p in check_waybill("SF1234567890123", "闪送", CARRIERS)] == ["CARRIER_UNKNOWN"]


def test_digit_formats_overlap_so_suggestions_are_lists():
    # A 13-digit number fits EMS; a 12-digit one fits old SF; suggestions never claim certainty.
    assert suggest_carriers("1123456789012", CARRIERS) == ["EMS"]
    assert suggest_carriers("123456789012", CARRIERS) == ["SF"]
    assert suggest_carriers("XYZ", CARRIERS) == []


def test_own_numbers_valid_for_the_carrier_with_that_short_code():
    assert check_waybill("JD20261126000001", "JD", CARRIERS) == []
    assert check_waybill("ZT20261126000001", "ZTO", CARRIERS) == []
    assert check_waybill("DPK20261126000042", "德邦", CARRIERS) == []
    assert suggest_carriers("YD20261126000001", CARRIERS) == ["YUNDA"]
    [problem] = check_waybill("JD20261126000001", "SF", CARRIERS)
    assert problem.code == "WAYBILL_FORMAT" and "京东物流(JD)" in problem.message
    # impossible date: not one of ours
    assert [p.code for p in check_waybill("SF20261332000001", "SF", CARRIERS)] == ["WAYBILL_FORMAT"]
    # the company's own prefix is valid for any carrier when numbering = "company"
    assert check_waybill("XL20261126000001", "SF", CARRIERS, own_prefixes=("XL",)) == []
    assert check_waybill("XL20261126000001", "SF", CARRIERS) != []


def test_format_and_parse_own_numbers():
    day = date(2026, 11, 26)
    assert format_waybill("JD", day, 1) == "JD20261126000001"
    assert format_waybill("DPK", day, 999_999) == "DPK20261126999999"
    assert parse_own_waybill("JD20261126000001") == ("JD", day, 1)
    assert parse_own_waybill("DPK20261126999999").serial == MAX_SERIAL
    assert parse_own_waybill("JD2024102800001") is None  # the procedure's 5-digit example is not ours
    assert parse_own_waybill("JD20260230000001") is None  # 30 February
    assert parse_own_waybill("JD20261126000000") is None
    assert parse_own_waybill("") is None


def test_serial_exhaustion_is_an_error_not_a_wrap_around():
    with pytest.raises(SerialExhausted, match="已用完"):
        format_waybill("JD", date(2026, 11, 26), 1_000_000)
    with pytest.raises(ValueError):
        format_waybill("JD", date(2026, 11, 26), 0)
    with pytest.raises(ValueError):
        format_waybill("jd1", date(2026, 11, 26), 1)
    assert issubclass(SerialExhausted, ValueError)


def test_domain_package_stays_pure_and_light():
    code = (
        "import sys\n"
        "import xl_addin.domain.waybills.formats, xl_addin.domain.waybills.selection, "
        "xl_addin.domain.waybills.calendar, xl_addin.domain.waybills.numbering\n"
        "bad = {'openpyxl', 'requests', 'sqlite3', 'http.client', 'smtplib', 'xlwings', 'pandas', 'chinese_calendar'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# JD labels carry "-package-of-packages-" after the base number (e.g. the first of three parcels).
@pytest.mark.parametrize("written", ["JDVA12345678901-1-1-", "JDVA12345678901-1-3-", "jdva12345678901-2-3",
                                     "JDVA12345678901-12-120-", " JD0123456789012-1-1- "])
def test_jd_package_suffix_is_accepted_as_the_base_number(written):
    base = normalize_waybill(written)
    assert base in ("JDVA12345678901", "JD0123456789012")
    assert check_waybill(written, "JD", CARRIERS) == []


@pytest.mark.parametrize("written", ["JDVA12345678901-1-", "JDVA12345678901--1-1-", "JDVA1234567890-1-1-",
                                     "SF1234567890123-1-1-", "JDVA12345678901-a-1-"])
def test_other_dash_forms_are_not_cut_down(written):
    assert normalize_waybill(written) == written.upper()
    assert check_waybill(written, "JD", CARRIERS) != []
