"""Receiver phone normalisation: what people type vs. what a courier can call."""

import random

import phonenumbers
import pytest

from xl_addin.domain.intake import normalize_phone, read_phone


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("13800138000", "13800138000"),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),  # Excel numeric cell
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("86 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("（+86）13800138000", "13800138000"),
        ("17012345678", "17012345678"),  # virtual operator block
        ("16512345678", "16512345678"),
        ("0755-86001234", "0755-86001234"),
        ("(0755) 8600 1234", "0755-86001234"),
        ("010-65529988", "010-65529988"),
        ("+86 10 6552 9988", "010-65529988"),
        ("0571-87654321转123", "0571-87654321转123"),
        ("0571-87654321-分机 123", "0571-87654321转123"),
        ("0571 87654321 ext. 8", "0571-87654321转8"),
        ("13800138000转1", "13800138000"),  # mobiles have no extension: dropped
        ("+852 2123 4567", "+852 2123 4567"),
        ("00852 9123 4567", "+852 9123 4567"),
        ("+853 6612 3456", "+853 6612 3456"),
        ("+886 912 345 678", "+886 912 345 678"),
        ("+886-2-2345-6789", "+886 2 2345 6789"),
        ("13800138000/13900139000", "13800138000"),  # the first mobile; the other: see read_phone
        # extension after a second dash (0xx-xxxxxxxx-xxx)
        ("0755-86001234-123", "0755-86001234转123"),
        ("010-65529988-8001", "010-65529988转8001"),
        ("(0571)87654321-6", "0571-87654321转6"),
    ],
)
def test_accepts_what_people_type(raw, canonical):
    assert normalize_phone(raw) == (canonical, None)


@pytest.mark.parametrize(
    "raw, words",
    [
        ("138****8000", "打码"),
        ("138xxxx8000", "打码"),
        ("1380013800", "11位"),
        ("138001380001", "11位"),
        ("14012345678", "140"),
        ("14112345678", "141"),
        ("14412345678", "144"),
        ("14812345678", "148"),
        ("16012345678", "160"),
        ("16312345678", "163"),
        ("17412345678", "174"),
        ("17912345678", "179"),
        ("12345678901", "123"),
        ("0755-1234567", "位数"),  # Shenzhen needs 8-digit local numbers
        ("86001234", "区号"),
        ("95588", "热线"),
        ("400-820-8820", "热线"),
        ("800-820-8820", "热线"),
        ("+1 650 253 0000", "国家"),
        ("电话找前台", "非数字"),
        ("+852 123", "香港"),
        (1.38e10 + 0.5, "小数"),
        ("13800138000/138****0000", "打码"),
    ],
)
def test_rejects_what_cannot_be_called(raw, words):
    canonical, problem = normalize_phone(raw)
    assert canonical is None
    assert words in problem


def test_empty_value_is_reported_not_crashing():
    assert normalize_phone(None)[0] is None
    assert normalize_phone("  ")[1]


def test_fast_mobile_path_agrees_with_phonenumbers():
    """The metadata-derived fast path must say what the full library says."""
    rng = random.Random(7)
    for _ in range(3000):
        number = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        ours = normalize_phone(number)[0] is not None
        try:
            theirs = phonenumbers.is_valid_number(phonenumbers.parse(number, "CN"))
        except phonenumbers.NumberParseException:
            theirs = False
        assert ours == theirs, number


def test_naive_pattern_would_be_wrong_but_ours_is_not():
    # 1[3-9]\d{9} accepts unallocated 140/174 blocks; we must not.
    assert normalize_phone("14012345678")[0] is None
    assert normalize_phone("19912345678")[0] == "19912345678"


def test_invisible_characters_pasted_from_chat_are_ignored():
    assert normalize_phone("\u200b138 0013 8000\ufeff") == ("13800138000", None)


@pytest.mark.parametrize(
    "raw, phone, others",
    [
        ("13800138000 13900139000", "13800138000", ("13900139000",)),
        ("13800138000/13900139000", "13800138000", ("13900139000",)),
        ("13800138000 / 0755-86001234", "13800138000", ("0755-86001234",)),
        ("0755-86001234 13800138000", "13800138000", ("0755-86001234",)),  # a mobile is preferred
        ("0755-86001234/010-65529988", "0755-86001234", ("010-65529988",)),
        ("13800138000 14012345678", "13800138000", ("14012345678",)),  # the unallocated one is kept as written
        ("138 0013 8000", "13800138000", ()),  # spaces inside one number do not split it
        ("0755 86001234", "0755-86001234", ()),
    ],
)
def test_two_numbers_in_one_cell_take_the_first_mobile_and_keep_the_other(raw, phone, others):
    assert read_phone(raw) == (phone, None, others)


@pytest.mark.parametrize("raw", ["0755-1234567-123", "0755-86001234-1234567", "14012345678 14112345678",
                                 "0755-86001234-12-3"])
def test_dash_extension_and_multi_number_forms_still_reject_bad_numbers(raw):
    phone, problem, _ = read_phone(raw)
    assert phone is None and problem


def test_check_order_says_which_number_it_took():
    from xl_addin.domain.intake import check_order

    row = {"order_no": "A1", "customer": "某公司", "goods_name": "T恤", "quantity": 1, "receiver": "张三",
           "receiver_phone": "13800138000 13900139000", "address": "浙江省杭州市西湖区文三路100号"}
    result = check_order(row)
    assert result.normalized["phone"] == "13800138000"
    assert result.normalized["phone_other"] == ["13900139000"]
    [note] = [p for p in result.problems if p.code == "PHONE_SECOND_NUMBER"]
    assert note.severity == "warning" and "13900139000" in note.message
    single = check_order({**row, "receiver_phone": "13800138000"})
    assert not [p for p in single.problems if p.code.startswith("PHONE")]
