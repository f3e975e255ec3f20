"""check_order over whole rows: every problem code, normalised values, duplicates, tags."""

import subprocess
import sys
from datetime import datetime

import pytest

from xl_addin.domain.intake import DuplicateTracker, IntakeRules, check_order, parse_tags
from xl_addin.domain.problems import CheckResult
from support.intake_rows import codes, row

RULES = IntakeRules.default()


def test_a_clean_row_passes_with_normalised_values():
    result = check_order(row(), RULES)
    assert isinstance(result, CheckResult)
    assert result.status == "ok", result.problems
    n = result.normalized
    assert n["phone"] == "13800138000"
    assert (n["province"], n["city"], n["district"]) == ("浙江省", "杭州市", "西湖区")
    assert n["address_detail"] == "文三路100号华星大厦5楼"
    assert n["address_filled"] == []
    assert n["tags"] == ["易碎", "加急"]
    assert n["quantity"] == 2


def test_default_rules_are_used_when_none_given():
    assert check_order(row()).status == "ok"


@pytest.mark.parametrize("key", ["order_no", "customer", "goods_name", "quantity", "receiver", "receiver_phone", "address"])
@pytest.mark.parametrize("empty", [None, "", "   ", float("nan")])
def test_missing_required_field(key, empty):
    result = check_order(row(**{key: empty}), RULES)
    assert codes(result) == [("MISSING_FIELD", key)]
    assert "为空" in result.problems[0].message


def test_optional_fields_may_be_empty():
    result = check_order(row(spec=None, weight_kg=None, volume_m3="", special_requirements=None, channel=None,
                             received_at=None, customer_contact=None), RULES)
    assert result.status == "ok"
    assert result.normalized["tags"] == []


def test_empty_phone_and_address_are_missing_only_not_malformed():
    result = check_order(row(receiver_phone="", address=None), RULES)
    assert sorted(codes(result)) == [("MISSING_FIELD", "address"), ("MISSING_FIELD", "receiver_phone")]


@pytest.mark.parametrize("phone", ["138****8000", "1380013800", "14012345678", "0755-1234567", "95588", "400-820-8820"])
def test_phone_invalid(phone):
    result = check_order(row(receiver_phone=phone), RULES)
    assert codes(result) == [("PHONE_INVALID", "receiver_phone")]
    assert result.normalized["phone"] is None


@pytest.mark.parametrize("phone, canonical", [
    ("+86 138-0013-8000", "13800138000"), ("０７５５－８６００１２３４", "0755-86001234"), ("+852 2123 4567", "+852 2123 4567"),
])
def test_phone_canonical_forms(phone, canonical):
    result = check_order(row(receiver_phone=phone), RULES)
    assert result.status == "ok" and result.normalized["phone"] == canonical


def test_address_incomplete_names_the_missing_parts():
    result = check_order(row(address="浙江省杭州市文三路"), RULES)
    assert codes(result) == [("ADDRESS_INCOMPLETE", "address")]
    assert "区/县" in result.problems[0].message and "门牌号" in result.problems[0].message


def test_ambiguous_district_is_an_error_naming_the_candidates():
    result = check_order(row(address="鼓楼区中山路1号"), RULES)
    assert codes(result) == [("ADDRESS_INCOMPLETE", "address")]
    assert "南京市鼓楼区" in result.problems[0].message and "福州市鼓楼区" in result.problems[0].message


def test_filled_parts_are_a_normalisation_not_a_problem():
    result = check_order(row(address="杭州市西湖区文三路100号"), RULES)
    assert result.status == "ok"
    assert result.normalized["province"] == "浙江省"
    assert result.normalized["address_filled"] == ["province"]


@pytest.mark.parametrize("address", ["香港九龙弥敦道100号", "No. 10 Wensan Road, Xihu District, Hangzhou"])
def test_address_review_is_a_warning(address):
    result = check_order(row(address=address), RULES)
    assert codes(result) == [("ADDRESS_REVIEW", "address")]
    assert result.status == "warning"


def test_economic_zone_is_a_warning_not_an_error():
    result = check_order(row(address="江苏省苏州市工业园区星湖街328号"), RULES)
    assert codes(result) == [("ADDRESS_REVIEW", "address")]
    assert result.status == "warning"


def test_prohibited_and_restricted_goods():
    result = check_order(row(goods_name="手 槍 模型"), RULES)
    assert codes(result) == [("PROHIBITED_GOODS", "goods_name")]
    assert "手枪" in result.problems[0].message and "第1类" in result.problems[0].message
    result = check_order(row(goods_name="罗马仕充电宝 20000mAh"), RULES)
    assert codes(result) == [("RESTRICTED_GOODS", "goods_name")]
    assert result.status == "warning"


@pytest.mark.parametrize("quantity, expected", [(3, 3), (3.0, 3), ("3", 3), ("3件", 3), ("２箱", 2), (" 12 ", 12), ("1,000", 1000)])
def test_quantity_accepted(quantity, expected):
    result = check_order(row(quantity=quantity), RULES)
    assert result.status == "ok" and result.normalized["quantity"] == expected


@pytest.mark.parametrize("quantity", [0, -2, 2.5, "2.5", "若干", "三件", "-1", True, datetime(2026, 1, 3)])
def test_quantity_invalid(quantity):
    assert codes(check_order(row(quantity=quantity), RULES)) == [("QUANTITY_INVALID", "quantity")]


@pytest.mark.parametrize("weight, kg", [(1.5, 1.5), ("2kg", 2.0), ("2.5 公斤", 2.5), ("500g", 0.5), ("3斤", 1.5)])
def test_weight_accepted_in_kg(weight, kg):
    result = check_order(row(weight_kg=weight), RULES)
    assert result.status == "ok" and result.normalized["weight_kg"] == pytest.approx(kg)


@pytest.mark.parametrize("weight", [0, -1.2, "重", "2吨?", float("inf")])
def test_weight_invalid(weight):
    assert codes(check_order(row(weight_kg=weight), RULES)) == [("WEIGHT_INVALID", "weight_kg")]


@pytest.mark.parametrize("volume, ok", [(0.02, True), ("0.5m³", True), ("1.2立方", True), (0, False), ("大概一箱", False)])
def test_volume(volume, ok):
    result = check_order(row(volume_m3=volume), RULES)
    assert (codes(result) == []) == ok
    if not ok:
        assert codes(result) == [("VOLUME_INVALID", "volume_m3")]


def test_special_requirement_unclear_is_a_warning_and_known_tags_are_kept():
    result = check_order(row(special_requirements="易碎，周末不送"), RULES)
    assert codes(result) == [("SPECIAL_REQUIREMENT_UNCLEAR", "special_requirements")]
    assert "周末不送" in result.problems[0].message
    assert result.normalized["tags"] == ["易碎"]


@pytest.mark.parametrize("text, tags", [
    ("易碎品，请轻拿轻放", ["易碎"]),
    ("Fragile; URGENT", ["易碎", "加急"]),
    ("cold chain / COD", ["冷链", "到付"]),
    ("冷藏、保价、防潮", ["冷链", "保价", "防潮"]),
    ("大件 贵重", ["大件", "贵重"]),
    ("不加急", []),
    ("无", []),
])
def test_tags_are_normalised(text, tags):
    assert parse_tags(text, RULES) == (tags, [])


def test_english_synonyms_match_whole_words_only():
    assert parse_tags("barcode sticker", RULES)[0] == []


def test_tag_list_is_extensible():
    rules = RULES.extended(tags={"防虫": ["防虫蛀", "insect proof"]})
    assert parse_tags("防虫蛀", rules) == (["防虫"], [])
    assert parse_tags("防虫蛀", RULES) == ([], ["防虫蛀"])


def test_duplicates_within_sheet_and_against_store():
    dups = DuplicateTracker(known={"SO-OLD-1", 20241028001})
    assert dups.check("SO1") is None  # first occurrence stays clean
    again = dups.check("  SO1 ")
    assert again.code == "DUPLICATE_ORDER" and again.column == "order_no" and "上方" in again.message
    stored = dups.check(20241028001.0)
    assert stored.code == "DUPLICATE_ORDER" and "之前确认" in stored.message
    assert dups.check(" SO-OLD-1") is not None
    assert dups.check("SO2") is None
    assert dups.check("") is None and dups.check(None) is None


def test_a_row_with_everything_wrong_reports_every_problem():
    result = check_order(row(customer="", goods_name="烟花爆竹", quantity="若干", weight_kg=-1,
                             receiver_phone="138****8000", address="朝阳区", special_requirements="看着办"), RULES)
    assert {c for c, _ in codes(result)} == {
        "MISSING_FIELD", "PHONE_INVALID", "ADDRESS_INCOMPLETE", "PROHIBITED_GOODS", "QUANTITY_INVALID",
        "WEIGHT_INVALID", "SPECIAL_REQUIREMENT_UNCLEAR",
    }
    assert all(p.message for p in result.problems)


def test_importing_the_intake_package_loads_no_data_and_no_io_modules():
    probe = ("import sys, xl_addin.domain.intake as i, xl_addin.domain.intake.divisions as d, "
             "xl_addin.domain.intake.rules as r; "
             "print(d._index is None, r._default is None, "
             "any(m in sys.modules for m in ('openpyxl','sqlite3','requests','zhconv','pandas')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "False"]


def test_odd_cell_values_never_crash():
    odd = [None, "", 0, -1, 1.5, float("nan"), float("inf"), True, datetime(2026, 1, 1), "a" * 10000, "=1+1",
           "\u200b", "＊＊＊", 12345678901234567890, 1e300]
    keys = list(row())
    for i, value in enumerate(odd):
        for key in keys:
            assert check_order(row(**{key: value}), RULES).status in ("ok", "warning", "error"), (key, value)
