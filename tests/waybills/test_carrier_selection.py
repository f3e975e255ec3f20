"""Carrier choice: customer's carrier, tags, price, disqualified carriers, overrides; the carrier list itself."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from xl_addin.domain.problems import Problem
from xl_addin.domain.waybills.carriers import (
    CarrierRowsError, carriers_from_rows, find_carrier, load_default_carriers,
)
from xl_addin.domain.waybills.regions import normalize_province, province_group
from xl_addin.domain.waybills.selection import (
    OrderForShipping, Override, Selection, select_carrier, select_carriers,
)

SHIPPER = "浙江省"


@pytest.fixture()
def carriers():
    return load_default_carriers()


def choose(carriers, **kw) -> Selection | Problem:
    kw.setdefault("order_no", "SO-1")
    kw.setdefault("destination_province", "浙江省")
    return select_carrier(OrderForShipping(**kw), carriers, SHIPPER)


def disqualify(carriers, code):
    return [dataclasses.replace(c, qualified=False) if c.code == code else c for c in carriers]


# --- the default list ----------------------------------------------------------------------

def test_default_list_has_the_nine_carriers_with_kuaidi100_codes(carriers):
    codes = {c.code: (c.kuaidi100_code, c.short_code, c.kuaidi100_needs_phone) for c in carriers}
    assert codes == {
        "SF": ("shunfeng", "SF", True), "JD": ("jd", "JD", False), "ZTO": ("zhongtong", "ZT", True),
        "YTO": ("yuantong", "YT", False), "STO": ("shentong", "ST", False), "YUNDA": ("yunda", "YD", False),
        "EMS": ("ems", "EMS", False), "JT": ("jtexpress", "JT", False), "DEPPON": ("debangkuaidi", "DPK", False),
    }
    for c in carriers:
        assert c.qualified and "standard" in c.services
        assert set(c.prices) == {"same", "neighbour", "national", "remote"}
        assert all(isinstance(p.first, Decimal) for p in c.prices.values())
        for group in c.prices:
            for service in c.services:
                assert c.promised_days(service, group) is not None


@pytest.mark.parametrize(("text", "code"), [
    ("顺丰", "SF"), ("SF Express", "SF"), ("京东快递", "JD"), ("jd", "JD"), ("中通快递", "ZTO"),
    ("ZTO Express", "ZTO"), ("圆通", "YTO"), ("申通", "STO"), ("韵达", "YUNDA"), ("中国邮政", "EMS"),
    ("J&T Express", "JT"), ("极兔", "JT"), ("德邦物流", "DEPPON"), ("ｄｅｐｐｏｎ", "DEPPON"),
])
def test_carriers_found_by_the_names_people_write(carriers, text, code):
    assert find_carrier(text, carriers).code == code


def test_province_groups_relative_to_the_shipper():
    assert normalize_province("广西壮族自治区") == "广西"
    assert normalize_province("Zhejiang") == "浙江"
    assert province_group("杭州所在的浙江省", SHIPPER) is None  # not a province name
    assert province_group("浙江", SHIPPER) == "same"
    assert province_group("上海市", SHIPPER) == "neighbour"
    assert province_group("福建省", SHIPPER) == "neighbour"
    assert province_group("北京市", SHIPPER) == "national"
    assert province_group("新疆维吾尔自治区", SHIPPER) == "remote"
    assert province_group("西藏自治区", "四川省") == "remote"  # remote beats neighbour
    assert province_group("新疆", "新疆") == "same"
    assert province_group("香港特别行政区", SHIPPER) is None
    assert province_group("上海", "广东") == "national"  # the shipper province is configurable


def test_rows_from_a_sheet_with_json_cells_and_chinese_words():
    rows = [{
        "code": "sf2", "name": "顺丰同城", "short_code": "SFT", "qualified": "是", "services": "标准、冷链",
        "prices": '{"same": [10, 2], "national": [20, 5]}',
        "transit_days": '{"standard": {"same": 1, "national": 2}}', "kuaidi100_code": "shunfeng",
    }]
    [c] = carriers_from_rows(rows)
    assert c.code == "SF2" and c.qualified and c.services == {"standard", "cold_chain"}
    assert c.price_for("cold_chain", "national").first == Decimal(20)
    assert c.promised_days("cold_chain", "same") == 1  # no own row: the standard row


def test_bad_rows_are_all_reported_with_row_and_field():
    rows = [
        {"code": "A", "name": "甲", "services": "standard", "prices": {"same": [1, 1]},
         "transit_days": {"standard": {"same": 1}}},
        {"code": "B", "name": "", "services": "飞行", "prices": {"far": [1, "x"]},
         "transit_days": {"standard": {"same": -1}}, "qualified": "maybe"},
        {"code": "A", "name": "甲2", "services": "standard", "prices": {"same": [1, 1]},
         "transit_days": {"standard": {"same": 1}}},
    ]
    with pytest.raises(CarrierRowsError) as info:
        carriers_from_rows(rows)
    text = str(info.value)
    assert isinstance(info.value, ValueError)
    for fragment in ("第2行(B) 缺少 name", "'飞行' 未知", "'far' 未知", "same = -1", "'maybe'", "第3行(A) code 与第1行(A)重复"):
        assert fragment in text, fragment
    assert all(p.code == "CARRIER_ROW" for p in info.value.problems)


# --- selection ---------------------------------------------------------------------------------

def test_cheapest_qualified_carrier_with_price_in_the_reason(carriers):
    sel = choose(carriers, destination_province="北京", weight_kg=2.3)
    # 2.3 kg billed as 3 kg, national: 韵达 7.8 + 2 × 3.5 = 14.8 beats 极兔 7 + 2 × 4 = 15.0
    assert (sel.carrier_code, sel.service, sel.freight) == ("YUNDA", "standard", Decimal("14.8"))
    assert sel.reason == "价格最低: 韵达 ¥14.8 < 极兔 ¥15.0"
    assert sel.decided_by == "rule" and sel.dest_group == "national" and sel.transit_days == 3
    assert sel.warnings == ()


def test_cold_chain_only_sf_and_jd_and_the_issue_example(carriers):
    sel = choose(carriers, tags=["冷链"], weight_kg=1)
    assert sel.carrier_code == "JD" and sel.service == "cold_chain"
    assert sel.reason == "冷链: 仅顺丰/京东可承运, 京东更便宜 ¥12.0 < ¥15.0"


def test_bulky_tag_and_overweight_go_to_bulky_freight(carriers):
    sel = choose(carriers, destination_province="广东", tags=["大件"], weight_kg=30)
    assert (sel.carrier_code, sel.service, sel.freight) == ("DEPPON", "bulky", Decimal("102.5"))
    assert "仅顺丰/京东/德邦可承运" in sel.reason
    heavy = choose(carriers, destination_province="上海", weight_kg=80)
    assert heavy.service == "bulky" and "超过 50 公斤, 按大件" in heavy.reason


def test_urgent_prefers_express_and_valuable_needs_insurance(carriers):
    sel = choose(carriers, destination_province="新疆", tags=["加急"], weight_kg=1)
    assert (sel.carrier_code, sel.service, sel.freight) == ("EMS", "express", Decimal("21.0"))
    assert sel.reason.startswith("加急: ")
    insured = choose(carriers, destination_province="上海", tags=["贵重"], weight_kg=1)
    assert insured.addons == ("insured",)
    assert insured.carrier_code == "STO" and insured.freight == Decimal("7.5")  # 5.5 + 2 insured
    no_ins = [dataclasses.replace(c, services=c.services - {"insured"}) if c.code != "SF" else c for c in carriers]
    only_sf = choose(no_ins, tags=["保价"], weight_kg=1)
    assert only_sf.carrier_code == "SF" and "仅顺丰可承运" in only_sf.reason


def test_volumetric_weight_and_missing_weight(carriers):
    sel = choose(carriers, destination_province="上海", weight_kg=1, volume_m3="0.06")  # 10 kg volumetric
    assert sel.chargeable_weight_kg == Decimal("10.0") and "体积重 10.0 公斤" in sel.reason
    guess = choose(carriers, destination_province="上海")
    assert guess.chargeable_weight_kg == Decimal(1)
    assert [w.code for w in guess.warnings] == ["WEIGHT_DEFAULTED"] and "按1公斤估算" in guess.reason
    bad = choose(carriers, weight_kg="三公斤")
    assert isinstance(bad, Problem) and bad.code == "WEIGHT_INVALID"


def test_customer_named_carrier_wins_when_qualified_and_able(carriers):
    sel = choose(carriers, destination_province="上海", weight_kg=1, preferred_carrier="顺丰速运")
    assert sel.carrier_code == "SF" and sel.reason == "客户指定" and sel.decided_by == "customer"
    urgent = choose(carriers, destination_province="上海", tags=["加急"], preferred_carrier="中通")
    assert urgent.carrier_code == "ZTO" and urgent.service == "standard" and "中通无特快" in urgent.reason


def test_customer_carrier_that_cannot_serve_is_replaced_and_said_so(carriers):
    sel = choose(carriers, tags=["冷链"], weight_kg=1, preferred_carrier="ZTO")
    assert sel.carrier_code == "JD" and sel.reason.startswith("客户指定的中通不提供冷链; 冷链: ")
    assert [w.code for w in sel.warnings] == ["PREFERRED_UNABLE"]
    unknown = choose(carriers, weight_kg=1, preferred_carrier="闪送")
    assert [w.code for w in unknown.warnings] == ["PREFERRED_UNKNOWN"] and unknown.decided_by == "rule"


def test_disqualified_carrier_is_never_chosen_by_rule_or_customer(carriers):
    without_jd = disqualify(carriers, "JD")
    sel = choose(without_jd, tags=["冷链"], weight_kg=1)
    assert sel.carrier_code == "SF" and sel.reason == "冷链: 仅顺丰可承运, 顺丰 ¥15.0"
    named = choose(without_jd, tags=["冷链"], weight_kg=1, preferred_carrier="京东")
    assert named.carrier_code == "SF" and [w.code for w in named.warnings] == ["PREFERRED_UNQUALIFIED"]
    cheapest_gone = choose(disqualify(carriers, "YUNDA"), destination_province="北京", weight_kg=2.3)
    assert cheapest_gone.carrier_code == "JT"


def test_no_carrier_fits_is_a_problem_saying_why(carriers):
    none = disqualify(disqualify(carriers, "JD"), "SF")
    problem = choose(none, tags=["冷链"], weight_kg=1)
    assert isinstance(problem, Problem) and problem.code == "NO_CARRIER" and problem.severity == "error"
    assert "冷链" in problem.message and "顺丰/京东不在合格名录中" in problem.message
    both = choose(carriers, tags=["冷链", "大件"], weight_kg=1)  # SF and JD do both
    assert both.carrier_code in {"SF", "JD"} and both.service == "cold_chain"
    overseas = choose(carriers, destination_province="台湾")
    assert isinstance(overseas, Problem) and overseas.code == "DEST_PROVINCE"


def test_override_wins_and_keeps_its_author(carriers):
    order = dict(destination_province="上海", tags=["贵重"], weight_kg=1)
    sel = choose(carriers, **order, preferred_carrier="中通", override=Override("SF", " 王主管 ", "客户VIP"))
    assert sel.carrier_code == "SF" and sel.decided_by == "override" and sel.override_author == "王主管"
    assert sel.reason == "人工指定 (王主管): 客户VIP; 规则建议为申通 ¥7.5"
    assert sel.freight == Decimal("18.0")  # neighbour 15 + insured 3
    # an override may pick a disqualified or unfit carrier: allowed, but warned
    odd = choose(disqualify(carriers, "ZTO"), tags=["冷链"], override=Override("中通", "李四"), weight_kg=1)
    assert odd.carrier_code == "ZTO"
    assert {w.code for w in odd.warnings} == {"OVERRIDE_UNQUALIFIED", "OVERRIDE_UNFIT"}
    assert choose(carriers, override=Override("SF", "")).code == "OVERRIDE_AUTHOR"
    assert choose(carriers, override=Override("闪送", "李四")).code == "OVERRIDE_UNKNOWN_CARRIER"


def test_ties_are_decided_the_same_way_every_time(carriers):
    twins = [dataclasses.replace(c, code=f"{c.code}{i}", short_name=f"{c.short_name}{i}", aliases=(),
                                 name=f"{c.name}{i}", name_en="", kuaidi100_code="")
             for i, c in enumerate(carriers[2:3] * 2)]
    sel = choose(twins, weight_kg=1)
    assert sel.carrier_code == "ZTO0" and "同价 ¥5.0, 取名录中靠前者" in sel.reason


def test_urgent_without_any_express_carrier_goes_standard_and_says_so(carriers):
    no_express = [dataclasses.replace(c, services=c.services - {"express"}) for c in carriers]
    sel = choose(no_express, destination_province="上海", tags=["加急"], weight_kg=1)
    assert sel.service == "standard" and sel.carrier_code == "JT"
    assert "加急: 无合格物流商提供特快, 按标准快递" in sel.reason


def test_selection_is_fast_enough_for_a_day_of_orders(carriers):
    import time

    orders = [OrderForShipping(f"SO-{i}", ["上海", "北京", "新疆", "广东"][i % 4], ["冷链"] if i % 5 == 0 else [],
                               weight_kg=1 + i % 7) for i in range(2000)]
    t = time.perf_counter()
    one_by_one = [select_carrier(o, carriers, SHIPPER) for o in orders]
    elapsed = time.perf_counter() - t
    assert all(isinstance(r, Selection) for r in one_by_one)
    assert elapsed < 2.0, f"{elapsed:.2f}s for 2000 orders"
    t = time.perf_counter()
    batch = select_carriers(orders, carriers, SHIPPER)
    batch_elapsed = time.perf_counter() - t
    assert batch == one_by_one  # same decisions, order numbers kept
    assert [s.order_no for s in batch] == [o.order_no for o in orders]
    assert batch_elapsed < elapsed
