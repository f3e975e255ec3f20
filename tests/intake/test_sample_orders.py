"""Sample orders: deterministic, realistic, every defect kind present, and a writer whose file reopens."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import phonenumbers
import pytest
from openpyxl import load_workbook

from xl_addin.demo.sample_orders import (
    DECOY_GOODS,
    DEFECT_KINDS,
    KNOWN_TAGS,
    ORDER_COLUMNS,
    PLACES,
    SHEET_NAME,
    generate_orders,
    write_orders_xlsx,
)

KEYS = {k for k, _ in ORDER_COLUMNS} | {"_defect"}
START = datetime(2026, 11, 26, 18, 0)


@pytest.fixture(scope="module")
def orders():
    return generate_orders(200, seed=11, start=START)


def test_same_seed_same_orders_other_seed_other_orders():
    assert generate_orders(120, seed=3, start=START) == generate_orders(120, seed=3, start=START)
    assert generate_orders(120, seed=3, start=START) != generate_orders(120, seed=4, start=START)
    # no start given: still deterministic (a fixed moment, never the clock)
    assert generate_orders(30) == generate_orders(30)


def test_every_row_has_exactly_the_agreed_keys(orders):
    assert len(orders) == 200
    assert all(set(o) == KEYS for o in orders)


def test_order_numbers_unique_except_the_deliberate_duplicate(orders):
    counts = Counter(o["order_no"] for o in orders)
    repeated = {no for no, c in counts.items() if c > 1}
    dup_rows = [o for o in orders if o["_defect"] == "DUPLICATE_ORDER"]
    assert dup_rows and repeated == {o["order_no"] for o in dup_rows}
    seen = set()
    for o in orders:  # the original comes first and is itself a good row
        if o["_defect"] == "DUPLICATE_ORDER":
            assert o["order_no"] in seen
        seen.add(o["order_no"])
    assert all(re.fullmatch(r"DD\d{8}\d{6}", o["order_no"]) for o in orders)


def test_at_least_one_row_per_defect_kind_and_about_five_percent(orders):
    kinds = Counter(o["_defect"] for o in orders if o["_defect"])
    assert set(kinds) == set(DEFECT_KINDS)
    big = generate_orders(2000, seed=5, start=START)
    bad = sum(1 for o in big if o["_defect"])
    assert 80 <= bad <= 120


def test_bad_rows_off_gives_only_good_rows():
    assert all(o["_defect"] is None for o in generate_orders(300, seed=2, bad_rows=False, start=START))


def test_look_alike_goods_are_planted_as_good_rows(orders):
    names = {o["goods_name"]: o["_defect"] for o in orders if o["goods_name"] in {d[0] for d in DECOY_GOODS}}
    assert set(names) == {d[0] for d in DECOY_GOODS}
    assert set(names.values()) == {None}


def test_each_listed_defect_variant_appears_in_a_larger_sample():
    big = generate_orders(1000, seed=7, start=START)
    bad = [o for o in big if o["_defect"]]
    phones = {o["receiver_phone"] for o in bad if o["_defect"] == "PHONE_INVALID"}
    assert {"14012345678", "138****8000", "0755-1234567"} <= phones
    assert any(re.fullmatch(r"1\d{9}", p) for p in phones)
    goods = {o["goods_name"] for o in bad if o["_defect"] == "PROHIBITED_GOODS"}
    assert goods == {"仿真手枪", "手 枪", "煙花", "管制刀具", "汽油"}
    assert {o["quantity"] for o in bad if o["_defect"] == "QUANTITY_INVALID"} == {0, -2, 2.5}
    addresses = {o["address"] for o in bad if o["_defect"] in ("ADDRESS_INCOMPLETE", "ADDRESS_REVIEW")}
    assert {"朝阳区建国路88号", "北京市", "Flat 3, 12 Nathan Road, Kowloon, Hong Kong"} <= addresses


def test_good_phones_are_valid_numbers(orders):
    good = [o for o in generate_orders(600, seed=9, start=START) if o["_defect"] is None]
    landlines = 0
    for o in good:
        number = phonenumbers.parse(o["receiver_phone"], "CN")
        assert phonenumbers.is_valid_number(number), o["receiver_phone"]
        landlines += phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    assert 0 < landlines < len(good) // 4  # some landlines, mostly mobiles


def test_good_addresses_carry_province_city_district_street_and_number():
    divisions = {(p, c, d) for p, c, _, ds in PLACES for d, _ in ds}
    provinces = {p for p, _, _ in divisions}
    for o in generate_orders(400, seed=13, start=START):
        if o["_defect"] is not None:
            continue
        a = o["address"]
        match = [(p, c, d) for p, c, d in divisions
                 if a.startswith((c + d) if p == c else (p + c + d))]
        assert match, a
        rest = a[len(match[0][1] + match[0][2]) + (0 if match[0][0] == match[0][1] else len(match[0][0])):]
        assert re.search(r"(路|街|大道|道)[^\d]{0,3}\d+(号|弄)", rest), a
    # many provinces, including the municipalities written as 上海市浦东新区…
    used = {p for o in generate_orders(400, seed=13, start=START) for p in provinces if o["address"].startswith(p)}
    assert len(used) >= 20 and {"北京市", "上海市", "天津市", "重庆市"} <= used


def test_field_values_are_plausible(orders):
    good = [o for o in orders if o["_defect"] is None]
    for o in good:
        assert isinstance(o["quantity"], int) and o["quantity"] > 0
        assert o["weight_kg"] > 0 and (o["volume_m3"] is None or o["volume_m3"] > 0)
        assert START - timedelta(days=3) <= o["received_at"] <= START
        tags = [t for t in re.split("[、，,]", o["special_requirements"]) if t]
        assert set(tags) <= set(KNOWN_TAGS)
        assert o["customer"].endswith("有限公司") and 2 <= len(o["receiver"]) <= 3
        assert o["channel"] in ("电商后台", "ERP", "邮件", "电话")
    assert any(o["preferred_carrier"] for o in good) and any(not o["preferred_carrier"] for o in good)
    frozen = [o for o in good if o["goods_name"] in ("速冻水饺", "冰鲜三文鱼", "冷冻牛排", "冰淇淋")]
    assert frozen and any("冷链" in o["special_requirements"] for o in frozen)


def test_aware_start_keeps_its_zone():
    start = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
    rows = generate_orders(20, seed=1, start=start)
    assert all(o["received_at"].tzinfo is not None and o["received_at"] <= start for o in rows)


def test_written_workbook_reopens_with_headers_rows_and_real_datetimes(tmp_path, orders):
    path = write_orders_xlsx(orders, tmp_path / "orders.xlsx", title="订单确认单（演示）")
    wb = load_workbook(path)
    assert wb.sheetnames == [SHEET_NAME]
    ws = wb[SHEET_NAME]
    assert ws["A1"].value == "订单确认单（演示）" and ws["A1"].font.b
    header = [c.value for c in ws[2]]
    assert header == [label for _, label in ORDER_COLUMNS]
    assert ws.max_row == 2 + len(orders)
    first = orders[0]
    row3 = [c.value for c in ws[3]]
    assert row3[0] == first["order_no"] and row3[9] == first["address"]
    when = ws.cell(3, 13)
    assert isinstance(when.value, datetime) and when.value == first["received_at"] and when.is_date
    missing_phone = next(i for i, o in enumerate(orders) if o["receiver_phone"] == "") if any(
        o["receiver_phone"] == "" for o in orders) else None
    if missing_phone is not None:
        assert ws.cell(3 + missing_phone, 9).value is None


def test_writer_without_title_and_with_aware_times_and_awkward_text(tmp_path):
    rows = generate_orders(5, seed=1, start=datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))
    rows[0]["address"] = "  <北京市&海淀区> \x01"
    path = write_orders_xlsx(rows, tmp_path / "plain.xlsx")
    ws = load_workbook(path)[SHEET_NAME]
    assert ws["A1"].value == "订单编号" and ws.max_row == 6
    assert ws.cell(2, 10).value == "  <北京市&海淀区> "
    local = rows[0]["received_at"].astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    assert ws.cell(2, 13).value == local


def test_calamine_reads_the_same_rows(tmp_path, orders):
    from python_calamine import CalamineWorkbook

    path = write_orders_xlsx(orders, tmp_path / "orders.xlsx")
    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET_NAME).to_python()
    assert len(data) == 1 + len(orders)
    assert [r[0] for r in data[1:]] == [o["order_no"] for o in orders]
