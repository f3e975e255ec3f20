"""The weekly summary over a hand-checked small data set: every number asserted."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from xl_addin.adapters.store.store import open_store
from xl_addin.services.closing.weekly_summary import parse_week, percentile, weekly_summary, write_summary
from support.week48 import TZ, build_week48


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "state.sqlite3")
    build_week48(s)
    yield s
    s.close()


def test_percentile_and_week_parsing():
    assert percentile([48, 60, 96], 0.5) == 60 and percentile([48, 60, 96], 0.9) == pytest.approx(88.8)
    assert percentile([], 0.5) is None and percentile([5], 0.9) == 5
    assert parse_week("2026-W48") == (2026, 48)
    with pytest.raises(Exception):
        parse_week("2026-48")


def test_overview_every_number(store):
    d = weekly_summary(store, "2026-W48", tz=TZ)
    assert d["start"] == "2026-11-23T00:00:00+08:00" and d["end"] == "2026-11-30T00:00:00+08:00"
    assert d["overview"] == {
        "orders_received": 4, "orders_confirmed": 3, "orders_shipped": 4, "orders_delivered": 3,
        "on_time_delivered": 2, "with_expected_date": 3, "on_time_rate": 0.6667,
        "transit_median_hours": 60.0, "transit_p90_hours": 88.8, "exceptions_opened": 3, "exceptions_closed": 2,
        "complaints": 1, "sla_breaches_total": 3, "open_cases": 2}
    assert d["exceptions_opened_by_type"] == {"延误": 1, "丢件": 1, "破损": 1, "信息错误": 0, "其他": 0}
    assert d["exceptions_closed_by_type"] == {"延误": 1, "丢件": 0, "破损": 0, "信息错误": 1, "其他": 0}
    assert d["sla_breaches"] == {"report": 1, "claim": 1, "delay_update": 0, "wrong_info": 0, "close": 1}
    assert d["open_cases_by_age"] == {"<1天": 1, "1-3天": 0, "3-7天": 1, "≥7天": 0}


def test_compared_with_previous_week_and_four_week_average(store):
    c = weekly_summary(store, "2026-W48", tz=TZ)["compare"]
    got = {k: (v["value"], v["previous"], v["avg4"]) for k, v in c.items()}
    assert got == {
        "orders_received": (4, 1, 0.25), "orders_confirmed": (3, 1, 0.25), "orders_shipped": (4, 1, 0.25),
        "orders_delivered": (3, 1, 0.25), "on_time_rate": (0.6667, 1.0, 1.0),
        "transit_median_hours": (60.0, 72.0, 72.0), "transit_p90_hours": (88.8, 72.0, 72.0),
        "exceptions_opened": (3, 1, 0.25), "exceptions_closed": (2, 0, 0), "complaints": (1, 0, 0),
        "sla_breaches_total": (3, 0, 0), "open_cases": (2, 1, 0.25)}


def test_trend_over_five_weeks(store):
    trend = weekly_summary(store, "2026-W48", tz=TZ)["trend"]
    assert [t["week"] for t in trend] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert [t["delivered"] for t in trend] == [0, 0, 0, 1, 3]
    assert [t["shipped"] for t in trend] == [0, 0, 0, 1, 4]
    assert [t["exceptions_opened"] for t in trend] == [0, 0, 0, 1, 3]
    assert [t["on_time_rate"] for t in trend] == [None, None, None, 1.0, 0.6667]
    assert [t["transit_median_hours"] for t in trend] == [None, None, None, 72.0, 60.0]


def test_carrier_scorecard_every_number(store):
    sf, zto = weekly_summary(store, "2026-W48", tz=TZ)["carriers"]
    assert sf == {"carrier_code": "shunfeng", "carrier": "顺丰", "volume": 2, "delivered": 2, "on_time_rate": 1.0,
                  "transit_median_hours": 54.0, "exceptions": 1,
                  "exceptions_per_1000": {"延误": 500.0, "丢件": 0.0, "破损": 0.0, "信息错误": 0.0, "其他": 0.0},
                  "exceptions_per_1000_total": 500.0, "claims_count": 0, "claims_amount": "0.00",
                  "avg_response_hours": 2.0, "rank": 1, "best": True, "worst": False}
    assert zto == {"carrier_code": "zhongtong", "carrier": "中通", "volume": 2, "delivered": 1, "on_time_rate": 0.0,
                   "transit_median_hours": 96.0, "exceptions": 2,
                   "exceptions_per_1000": {"延误": 0.0, "丢件": 500.0, "破损": 500.0, "信息错误": 0.0, "其他": 0.0},
                   "exceptions_per_1000_total": 1000.0, "claims_count": 1, "claims_amount": "200.50",
                   "avg_response_hours": 4.0, "rank": 2, "best": False, "worst": True}


def test_exception_analysis(store):
    a = weekly_summary(store, "2026-W48", tz=TZ)["analysis"]
    assert a["matrix"] == [
        {"type": "丢件", "carrier": "中通", "responsible_party": "物流商", "count": 1},
        {"type": "延误", "carrier": "顺丰", "responsible_party": "天气或不可抗力", "count": 1},
        {"type": "破损", "carrier": "中通", "responsible_party": "发货方", "count": 1}]
    assert a["top_causes"] == [{"cause": "分拨中心遗失", "count": 1}, {"cause": "包装不足", "count": 1},
                               {"cause": "暴雨", "count": 1}]
    assert a["slowest_to_close"] == [
        {"case_id": "C4", "type": "信息错误", "waybill_no": "W5", "carrier": "顺丰", "hours_to_close": 168.0},
        {"case_id": "C1", "type": "延误", "waybill_no": "W1", "carrier": "顺丰", "hours_to_close": 22.0}]


def test_past_week_is_reproducible_and_report_written(store, tmp_path):
    w47 = weekly_summary(store, "2026-W47", tz=TZ)
    assert w47["overview"]["orders_delivered"] == 1 and w47["overview"]["sla_breaches_total"] == 0
    assert w47["open_cases_by_age"] == {"<1天": 0, "1-3天": 0, "3-7天": 1, "≥7天": 0}
    out = write_summary(store, "2026-W48", tmp_path / "r" / "周报.xlsx", tz=TZ, desk_name="物流部")
    twin = json.loads((tmp_path / "r" / "周报.json").read_text(encoding="utf-8"))
    assert twin["overview"] == weekly_summary(store, "2026-W48", tz=TZ)["overview"] == out["overview"]
    wb = load_workbook(out["path"])
    assert wb.sheetnames == ["概览", "物流商评分", "异常分析"]
    ov, sc = wb["概览"], wb["物流商评分"]
    assert ov["A4"].value == "接收订单" and ov["B4"].value == 4 and ov["C4"].value == 1 and ov["D4"].value == 0.25
    assert len(ov._charts) == 2 and len(sc._charts) == 1
    assert sc["B4"].value == "顺丰" and sc["B4"].fill.fgColor.rgb == "FFC6EFCE"
    assert sc["B5"].value == "中通" and sc["B5"].fill.fgColor.rgb == "FFFFC7CE"
    for ws in wb.worksheets:
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage


def test_scorecard_chart_puts_rates_on_a_second_axis(store, tmp_path):
    """Read the chart XML back: shipments as bars on one value axis, per-thousand rates as a line on another."""
    import zipfile
    from xml.etree import ElementTree as ET

    out = write_summary(store, "2026-W48", tmp_path / "周报.xlsx", tz=TZ, desk_name="物流部")
    c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    with zipfile.ZipFile(out["path"]) as z:
        charts = [ET.fromstring(z.read(n)) for n in z.namelist() if n.startswith("xl/charts/chart")]
    mixed = [x for x in charts if x.find(f".//{c}barChart") is not None and x.find(f".//{c}lineChart") is not None]
    assert len(mixed) == 1
    plot = mixed[0].find(f".//{c}plotArea")
    bar, line = plot.find(f"{c}barChart"), plot.find(f"{c}lineChart")
    bar_axes = {a.get("val") for a in bar.findall(f"{c}axId")}
    line_axes = {a.get("val") for a in line.findall(f"{c}axId")}
    value_axes = {a.find(f"{c}axId").get("val"): a for a in plot.findall(f"{c}valAx")}
    assert len(value_axes) == 2
    bar_value = (bar_axes & set(value_axes)).pop()
    line_value = (line_axes & set(value_axes)).pop()
    assert bar_value != line_value
    assert value_axes[line_value].find(f"{c}crosses").get("val") == "max"      # drawn at the right
    assert value_axes[line_value].find(f"{c}delete").get("val") == "0"
    bar_refs = [f.text for f in bar.iter(f"{c}f")]
    line_refs = [f.text for f in line.iter(f"{c}f")]
    assert any("$C$" in r for r in bar_refs)                # 发货量
    assert line_refs and not any("$C$" in r for r in line_refs)
    titles = "".join(t.text or "" for t in value_axes[line_value].iter("{http://schemas.openxmlformats.org/drawingml/2006/main}t"))
    assert "每千单" in titles
