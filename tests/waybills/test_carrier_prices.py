"""The price and transit table lives in the Binding Table's 运价与时效 sheet: filled on first use, then the truth."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.workbook.books import CARRIERS_SHEET, RATES_SHEET
from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.domain.waybills.carriers import CarrierRowsError, load_default_carriers
from xl_addin.domain.waybills.rates import apply_rates, rate_rows_for, rates_from_rows
from xl_addin.domain.waybills.selection import OrderForShipping, Selection, select_carrier
from xl_addin.services.waybills import Books, CarrierTableError, WaybillPolicy, allocate, load_carriers

CN = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CN)


def order(no, province="江苏省", tags=(), weight=1):
    return OrderRecord(order_no=no, status="confirmed", check_status="ok",
                       fields={"order_no": no, "weight_kg": weight, "normalized": {"province": province, "tags": list(tags)}})


@pytest.fixture()
def desk(tmp_path):
    from xl_addin.services.desk.setup import init_desk

    init_desk(tmp_path, T0)
    d = load_desk(tmp_path)
    with store_for(d) as store, store.transaction():
        OrderRecords(store).save([order("P1"), order("P2", "广东省", weight=3)], T0)
    return d


def _append_rows(path, schema, rows):
    """Type rows into a sheet under its last row, as a person would (the product's own cell writer)."""
    from xl_addin.adapters.workbook.xml_patch import write_cells

    table = read_sheet(path, schema)
    start = max([table.header_row, *(r.row for r in table.rows)]) + 1
    cells = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            cells[(start + i, table.columns[key])] = value
    write_cells(path, table.sheet, table.header_row, {}, cells, backup_dir=None, append_table_rows=True)
    return start


def test_rows_from_the_defaults_price_exactly_like_the_builtin_tables():
    defaults = load_default_carriers()
    rows = rate_rows_for(defaults)
    assert {r.carrier_code for r in rows} == {c.code for c in defaults}
    sheet_carriers = apply_rates(defaults, rows)
    cases = [("浙江省", ()), ("江苏省", ("冷链",)), ("新疆维吾尔自治区", ("大件",)), ("广东省", ("加急",)),
             ("北京市", ("贵重",)), ("四川省", ("加急", "保价")), ("上海市", ())]
    for province, tags in cases:
        for weight in (1, 3.2, 60):
            o = OrderForShipping("X", province, tags, weight)
            a, b = select_carrier(o, defaults, "浙江省"), select_carrier(o, sheet_carriers, "浙江省")
            assert isinstance(a, Selection) and isinstance(b, Selection), (province, tags, weight)
            assert (a.carrier.code, a.freight, a.transit_days) == (b.carrier.code, b.freight, b.transit_days)


def test_bad_rate_rows_name_the_sheet_row_and_column():
    rows = [(2, {"carrier_code": "SF", "service": "标准", "dest_group": "同省", "first_weight_price": 12,
                 "additional_price": 2, "transit_days": 1}),
            (3, {"carrier_code": "XX", "service": "express", "dest_group": "全国", "first_weight_price": 10,
                 "additional_price": 1, "transit_days": 2}),
            (4, {"carrier_code": "SF", "service": "飞机", "dest_group": "火星", "first_weight_price": "贵",
                 "additional_price": -1, "transit_days": 1.5}),
            (5, {"carrier_code": "SF", "service": "standard", "dest_group": "same", "first_weight_price": 11,
                 "additional_price": 2, "transit_days": 1})]
    with pytest.raises(CarrierRowsError) as info:
        rates_from_rows(rows, ["SF", "JD"])
    found = {(p.column, p.message.split("」")[1]) for p in info.value.problems}
    assert ("carrier_code", "第3行「物流商代码") in found
    for col in ("service", "dest_group", "first_weight_price", "additional_price", "transit_days"):
        assert any(c == col and "第4行" in m for c, m in found), col
    assert any("第5行" in p.message and "与第2行重复" in p.message for p in info.value.problems)
    assert all(p.message.startswith("「运价与时效」") for p in info.value.problems)
    # English aliases and a blank 保价 row read fine
    ok = rates_from_rows([(2, {"carrier_code": "sf", "service": "Cold chain", "dest_group": "Remote",
                               "first_weight_price": "¥20", "additional_price": "9", "transit_days": "3"}),
                          (3, {"carrier_code": "SF", "service": "insured", "dest_group": "邻省",
                               "first_weight_price": 3})], ["SF"])
    assert [(r.service, r.dest_group, r.first_weight_price, r.transit_days) for r in ok] == [
        ("cold_chain", "remote", Decimal("20"), 3), ("insured", "neighbour", Decimal("3"), None)]


def test_first_allocate_fills_the_sheet_then_the_sheet_decides(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    path = desk.workbook("bindings")
    with store_for(desk) as store:
        first = allocate(store, T0, policy=policy, books=books)
        assert not first.problems and len(first.bindings) == 2
        rates = read_sheet(path, RATES_SHEET, sheet_name=RATES_SHEET.name).rows
        assert len(rates) == len(rate_rows_for(load_default_carriers())) > 100
        sf = next(r.values for r in rates if r.values["carrier_code"] == "SF" and r.values["service"] == "标准"
                  and r.values["dest_group"] == "全国")
        assert sf["first_weight_price"] == 18 and sf["additional_price"] == 8 and sf["transit_days"] == 2
        assert any(r.values["service"] == "保价" for r in rates)
        # a carrier the desk adds only in the sheets: qualified, with prices that make it cheapest
        _append_rows(path, CARRIERS_SHEET, [{"carrier_code": "ZJS", "name": "宅急送", "kuaidi100_code": "zhaijisong",
                                             "short_code": "ZJS", "qualified": "是", "services": "标准"}])
        _append_rows(path, RATES_SHEET, [{"carrier_code": "ZJS", "service": "标准", "dest_group": g,
                                          "first_weight_price": 1, "additional_price": 0.5, "transit_days": 4}
                                         for g in ("同省", "邻省", "全国", "偏远")])
        carriers = load_carriers(books)
        zjs = next(c for c in carriers if c.code == "ZJS")
        assert zjs.price_for("standard", "national").first == Decimal("1")
        assert len(read_sheet(path, RATES_SHEET, sheet_name=RATES_SHEET.name).rows) == len(rates) + 4  # not refilled
        with store.transaction():
            OrderRecords(store).save([order("P3", "广东省", weight=3)], T0)
        r = allocate(store, T0 + timedelta(minutes=5), policy=policy, books=books)
        [b] = r.bindings
        assert b.carrier_code == "ZJS" and b.waybill_no.startswith("ZJS20261126")
        assert b.est_freight == "2.0"  # 1 + 2 extra kg × 0.5
        assert b.expected_delivery is not None


def test_bad_rows_stop_allocate_with_exit_2(desk, capsys):
    from xl_addin.entrypoints.cli import main

    books = Books.for_desk(desk)
    path = desk.workbook("bindings")
    load_carriers(books)  # fills both sheets
    row = _append_rows(path, RATES_SHEET, [{"carrier_code": "NOPE", "service": "标准", "dest_group": "全国",
                                            "first_weight_price": 5, "additional_price": 1, "transit_days": "三"}])
    with pytest.raises(CarrierTableError) as info:
        load_carriers(books)
    cols = {p["column"] for p in info.value.problems}
    assert cols == {"carrier_code", "transit_days"}
    assert all(f"第{row}行" in p["message"] for p in info.value.problems)
    capsys.readouterr()
    assert main(["allocate", "--desk", str(desk.root), "--json", "--now", T0.isoformat()]) == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert "运价与时效" in err["message"] and f"第{row}行" in err["message"] and "时效(工作日)" in err["message"]
    with store_for(desk) as store:
        assert {r.order_no: r.status for r in OrderRecords(store).all()} == {"P1": "confirmed", "P2": "confirmed"}
