"""Status vocabulary, Kuaidi100 code mapping, tracking events (pure domain)."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from xl_addin.domain.tracking.events import (
    TrackingEvent, china_tz, extract_courier, extract_outlet, kuaidi100_event, make_event_key, parse_carrier_time,
)
from xl_addin.domain.tracking.status import (
    UNKNOWN, KeyNode, MainStatus, SubStatus, display_zh, is_final, key_node, map_kuaidi100, refine_by_context,
)

ALL_CODES = ["1", "101", "102", "103", "0", "1001", "1002", "1003", "5", "501", "3", "301", "302", "303", "304",
             "6", "4", "401", "14", "7", "2"] + [str(c) for c in range(201, 211)] + ["8", "10", "11", "12", "13"]


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_documented_code_is_mapped(code):
    main, sub = map_kuaidi100(code)
    assert main is not MainStatus.UNKNOWN and sub.main is main
    assert map_kuaidi100(int(code)) == (main, sub)  # string or int, same answer
    assert main.zh and sub.zh


@pytest.mark.parametrize("code,expected", [
    ("304", (MainStatus.DELIVERED, SubStatus.DELIVERED_OTHER)),
    ("1", (MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_PICKED_UP)),
    ("0", (MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_OTHER)),
    ("14", (MainStatus.DELIVERY_FAILURE, SubStatus.DELIVERY_FAILURE_REJECTED)),
    ("6", (MainStatus.EXCEPTION, SubStatus.EXCEPTION_RETURNING)),
    ("4", (MainStatus.EXCEPTION, SubStatus.EXCEPTION_RETURNED)),
    ("209", (MainStatus.EXCEPTION, SubStatus.EXCEPTION_DAMAGE)),
    ("501", (MainStatus.AVAILABLE_FOR_PICKUP, SubStatus.AVAILABLE_FOR_PICKUP_OTHER)),
    ("8", (MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_CUSTOMS_PROCESSING)),
    ("12", (MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_CUSTOMS_RELEASED)),
    ("101", (MainStatus.INFO_RECEIVED, SubStatus.INFO_RECEIVED)),
])
def test_selected_mappings(code, expected):
    assert map_kuaidi100(code) == expected


@pytest.mark.parametrize("code", [None, "", "9", "99", "305", "abc", "-1", True, "1.5"])
def test_unknown_codes_are_unknown_never_in_transit(code):
    assert map_kuaidi100(code) == UNKNOWN
    assert UNKNOWN[0].zh == "未知状态"


def test_is_final_and_key_nodes():
    assert is_final(*map_kuaidi100("304")) and is_final(*map_kuaidi100("4")) and is_final(*map_kuaidi100("401"))
    # 210 销单 (the sender cancelled) is a problem for a person, not the end like 401 已销单
    assert not is_final(*map_kuaidi100("210")) and map_kuaidi100("210")[0] is MainStatus.EXCEPTION
    assert not is_final(*map_kuaidi100("6")) and not is_final(*map_kuaidi100("0")) and not is_final(*UNKNOWN)
    assert is_final("Delivered", "Delivered_Other")  # plain strings from the store work too
    assert key_node(*map_kuaidi100("103")) is KeyNode.PICKED_UP
    assert key_node(*map_kuaidi100("5")) is KeyNode.OUT_FOR_DELIVERY
    assert key_node(*map_kuaidi100("501")) is KeyNode.OUT_FOR_DELIVERY
    assert key_node(*map_kuaidi100("301")) is KeyNode.SIGNED and KeyNode.SIGNED.zh == "已签收"
    assert key_node(*map_kuaidi100("0")) is None and key_node(*map_kuaidi100("4")) is None
    assert display_zh(*map_kuaidi100("14")) == "收件人拒收"


def test_refine_by_context_only_sharpens_problems():
    assert refine_by_context(*map_kuaidi100("2"), "快件遗失，已登记理赔")[1] is SubStatus.EXCEPTION_LOST
    assert refine_by_context(*map_kuaidi100("208"), "外包装破损")[1] is SubStatus.EXCEPTION_DAMAGE
    assert refine_by_context(*map_kuaidi100("0"), "快件遗失")[1] is SubStatus.IN_TRANSIT_OTHER


def test_carrier_time_is_china_time_unless_told():
    t = parse_carrier_time("2022-01-13 18:52:32")
    assert t.utcoffset() == timedelta(hours=8)
    assert t.astimezone(timezone.utc).hour == 10
    utc = parse_carrier_time("2022-01-13 18:52:32", timezone.utc)
    assert utc.utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        parse_carrier_time("yesterday")


@pytest.mark.parametrize("text,outlet,courier", [
    ("【广东省惠州市公司】 已揽收", "广东省惠州市公司", None),
    ("【成都双流营业部】 派件员：李四 电话：13912345678 正在为您派件", "成都双流营业部", "李四 13912345678"),
    ("快递员 张三 13800001111 已揽收", None, "张三 13800001111"),
    ("【苏州转运中心】 已发出 下一站 【无锡转运中心公司】", "苏州转运中心", None),
    ("您的快件由派件员（王五，13712341234）派送", None, "王五 13712341234"),
    ("到达 杭州转运中心", "杭州转运中心", None),
])
def test_outlet_and_courier_extraction(text, outlet, courier):
    assert extract_outlet(text) == outlet
    assert extract_courier(text) == courier


def test_event_key_is_stable_across_zone_and_whitespace():
    t = datetime(2022, 1, 10, 14, 25, 24, tzinfo=china_tz())
    k1 = make_event_key("yt123", t, "【广东省惠州市公司】  已揽收")
    k2 = make_event_key("YT123", t.astimezone(timezone.utc), "【广东省惠州市公司】 已揽收")
    assert k1 == k2
    assert k1 != make_event_key("YT123", t + timedelta(seconds=1), "【广东省惠州市公司】 已揽收")
    e = kuaidi100_event({"ftime": "2022-01-10 14:25:24", "context": "【广东省惠州市公司】 已揽收", "statusCode": "1",
                         "status": "揽收", "areaCode": "CN441300000000", "areaName": "广东,惠州市"}, "YT123", "yuantong")
    assert e.event_key == k1 and e.outlet == "广东省惠州市公司" and e.sub_status is SubStatus.IN_TRANSIT_PICKED_UP
    assert e.with_source("push").event_key == k1  # the same node from a push is the same row


def test_event_requires_aware_time_and_known_source():
    with pytest.raises(ValueError):
        TrackingEvent("X", "yuantong", datetime(2022, 1, 1), "ctx")
    with pytest.raises(ValueError):
        TrackingEvent("X", "yuantong", datetime(2022, 1, 1, tzinfo=timezone.utc), "ctx", source="fax")


def test_event_without_code_uses_status_name_then_stays_unknown():
    named = kuaidi100_event({"time": "2022-01-10 14:25:24", "context": "x", "status": "在途"}, "X", "yuantong")
    assert named.sub_status is SubStatus.IN_TRANSIT_OTHER
    bare = kuaidi100_event({"time": "2022-01-10 14:25:24", "context": "x"}, "X", "yuantong")
    assert bare.status is MainStatus.UNKNOWN and bare.is_unknown


def test_domain_imports_nothing_heavy():
    code = ("import sys, xl_addin.domain.tracking.status, xl_addin.domain.tracking.events;"
            "bad=[m for m in ('requests','openpyxl','sqlite3','http.client','xlwings','smtplib') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name, main, node", [
    # Kuaidi100's advanced-state names, as pushes carry them when the account sends names without codes
    ("已下单", MainStatus.INFO_RECEIVED, None),
    ("待揽收", MainStatus.INFO_RECEIVED, None),
    ("已揽收", MainStatus.IN_TRANSIT, "picked_up"),
    ("揽收", MainStatus.IN_TRANSIT, "picked_up"),
    ("到达派件城", MainStatus.IN_TRANSIT, None),
    ("投柜或驿站", MainStatus.AVAILABLE_FOR_PICKUP, "out_for_delivery"),
    ("投柜或站签收", MainStatus.DELIVERED, "signed"),
    ("已销单", MainStatus.EXCEPTION, None),
    ("销单", MainStatus.EXCEPTION, None),
])
def test_state_names_without_codes(name, main, node):
    from xl_addin.domain.tracking.events import kuaidi100_event
    from xl_addin.domain.tracking.status import key_node

    ev = kuaidi100_event({"time": "2024-11-05 10:00:00", "context": "x", "status": name}, "YT1234567890", "yuantong")
    assert ev.status is main, name
    assert (key_node(ev.status, ev.sub_status).value if key_node(ev.status, ev.sub_status) else None) == node


def test_cancelled_by_sender_stays_open_while_waybill_cancelled_is_final():
    from xl_addin.domain.tracking.events import kuaidi100_event

    by_name = lambda n: kuaidi100_event({"time": "2024-11-05 10:00:00", "context": "x", "status": n}, "YT1", "yuantong")
    assert not is_final(by_name("销单").status, by_name("销单").sub_status)
    assert is_final(by_name("已销单").status, by_name("已销单").sub_status)
