"""Sanity of the workbook declarations: other modules rely on these keys and labels."""

import re

import pytest

from xl_addin.adapters.workbook import books
from xl_addin.adapters.workbook.books import ALL_BOOKS, BINDINGS, EXCEPTIONS, ORDERS, TRACKING, book
from xl_addin.adapters.workbook.schema import (
    DATE, DATETIME, INT, MONEY, NUMBER, PHONE, PRODUCT, SHARED, TEXT, USER, header_key,
)

ALL_SHEETS = [(b, s) for b in ALL_BOOKS for s in b.sheets]
SHEET_IDS = [s.table for _, s in ALL_SHEETS]


def _resolve(sheet, header):
    """Which column a header text names (None when none)."""
    hits = {c.key for c in sheet.columns if header_key(header) in c.header_keys()}
    assert len(hits) <= 1, f"{header!r} names several columns: {hits}"
    return hits.pop() if hits else None


def test_book_lookup_by_key():
    assert [b.key for b in ALL_BOOKS] == ["orders", "bindings", "tracking", "exceptions"]
    assert book("orders") is ORDERS and book("exceptions") is EXCEPTIONS
    with pytest.raises(KeyError):
        book("invoices")


def test_file_names_are_the_desk_names():
    assert [b.filename for b in ALL_BOOKS] == [
        "订单确认单.xlsx", "物流单号绑定表.xlsx", "实时物流跟踪记录表.xlsx", "异常订单处理台账.xlsx"]


def test_sheet_and_table_names():
    expected = {
        "orders": [("订单确认单", "Orders"), ("满意度回访", "FollowUps")],
        "bindings": [("绑定表", "Bindings"), ("合格物流商名录", "Carriers"), ("运价与时效", "CarrierRates"),
                     ("绑定历史", "BindingHistory")],
        "tracking": [("跟踪总览", "TrackingOverview"), ("节点明细", "TrackingNodes"), ("人工录入", "ManualNodes")],
        "exceptions": [("异常台账", "ExceptionCases"), ("处理历史", "CaseHistory")],
    }
    assert {b.key: [(s.name, s.table) for s in b.sheets] for b in ALL_BOOKS} == expected
    tables = [s.table for _, s in ALL_SHEETS]
    assert len(tables) == len(set(tables))
    for _, s in ALL_SHEETS:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s.table)
        assert len(s.name) <= 31 and not set(s.name) & set("[]:*?/\\")


def test_orders_columns_and_required():
    keys = [c.key for c in ORDERS.sheet("Orders").columns]
    user = ["order_no", "customer", "goods_name", "spec", "quantity", "weight_kg", "volume_m3", "receiver",
            "receiver_phone", "address", "special_requirements", "channel", "received_at", "customer_contact",
            "preferred_carrier"]
    shared = ["confirmation", "confirmed_by", "confirmed_at", "confirm_channel"]
    product = ["check_status", "problems", "phone_normalized", "province", "city", "district", "address_detail",
               "tags", "declared_value", "checked_at", "confirm_deadline", "order_status", "waybill_no"]
    assert keys == user + shared + product
    sheet = ORDERS.sheet("订单确认单")
    assert {c.key for c in sheet.required} == {
        "order_no", "customer", "goods_name", "quantity", "receiver", "receiver_phone", "address"}
    assert all(sheet.column(k).owner == USER for k in user)
    assert all(sheet.column(k).owner == SHARED for k in shared)
    assert all(sheet.column(k).owner == PRODUCT for k in product)
    assert sheet.column("preferred_carrier").choices == (
        "顺丰", "京东物流", "中通", "圆通", "申通", "韵达", "EMS", "极兔", "德邦")
    assert sheet.column("check_status").choices == ("通过", "有问题", "待复核")
    assert sheet.problem_column == "check_status"
    assert {c.key for c in sheet.written} == set(shared + product)


@pytest.mark.parametrize("header,key", [
    ("订单号", "order_no"), ("Order ID", "order_no"), ("order_no", "order_no"), ("ORDER NUMBER", "order_no"),
    ("Consignee", "receiver"), ("Mobile", "receiver_phone"), ("Shipping Address", "address"),
    ("SKU name", "goods_name"), ("Qty", "quantity"), ("重量（kg）", "weight_kg"), ("体积(m3)", "volume_m3"),
    ("Customer Name", "customer"), ("special requirements", "special_requirements"),
    ("收货人 电话", "receiver_phone"), ("Tracking Number", "waybill_no"),
])
def test_orders_headers_people_type(header, key):
    assert _resolve(ORDERS.sheet("Orders"), header) == key


def test_other_books_keys():
    def keys(b, t):
        return [c.key for c in b.sheet(t).columns]
    assert keys(ORDERS, "FollowUps") == ["order_no", "signed_at", "due_at", "contacted_at", "contacted_by",
                                         "goods_intact", "speed_satisfied", "score", "comment", "followup_status"]
    assert keys(BINDINGS, "Bindings") == [
        "order_no", "waybill_no", "carrier", "carrier_code", "source", "bound_at", "bound_by",
        "expected_delivery", "expected_estimated", "service", "est_freight", "selection_reason",
        "carrier_check", "carrier_corrected", "corrected_at", "corrected_by",
        "review_status", "reviewed_by", "reviewed_at", "note"]
    assert keys(BINDINGS, "Carriers") == ["carrier_code", "name", "kuaidi100_code", "short_code", "qualified",
                                          "services", "transit_days", "contact", "phone", "note"]
    assert keys(BINDINGS, "BindingHistory") == ["order_no", "old_waybill", "new_waybill", "changed_at",
                                                "changed_by", "reason"]
    assert keys(TRACKING, "TrackingOverview") == [
        "order_no", "waybill_no", "carrier", "status", "last_node", "last_node_time", "outlet",
        "next_node_planned", "next_node_actual", "anomaly", "anomaly_reason", "last_checked", "next_check"]
    assert keys(TRACKING, "TrackingNodes") == ["waybill_no", "order_no", "node_name", "planned_time",
                                               "actual_time", "outlet", "status_note", "evidence", "source"]
    assert keys(TRACKING, "ManualNodes") == ["waybill_no", "node_name", "actual_time", "outlet", "status_note",
                                             "evidence", "entered_by", "ingested"]
    cases = keys(EXCEPTIONS, "ExceptionCases")
    assert cases[:4] == ["case_id", "order_no", "waybill_no", "type"] and cases[-3:] == [
        "case_status", "sla_status", "sla_detail"]
    assert len(cases) == 35
    assert keys(EXCEPTIONS, "CaseHistory") == ["case_id", "changed_at", "changed_by", "field", "old_value",
                                               "new_value", "note"]


def test_ownership_where_it_matters():
    manual = TRACKING.sheet("ManualNodes")
    assert [c.key for c in manual.written] == ["ingested"]
    assert all(c.owner == PRODUCT for c in TRACKING.sheet("TrackingOverview").columns)
    ledger = EXCEPTIONS.sheet("ExceptionCases")
    assert ledger.column("sla_status").owner == PRODUCT and ledger.column("case_id").owner == PRODUCT
    assert ledger.column("responsible_party").choices == ("物流商", "发货方", "客户", "海关", "天气或不可抗力", "其他")
    assert ledger.column("claim_amount").number_format == "¥#,##0.00"
    assert BINDINGS.sheet("Bindings").column("est_freight").number_format == "¥#,##0.00"


@pytest.mark.parametrize("bk,sheet", ALL_SHEETS, ids=SHEET_IDS)
def test_sheet_declaration_is_consistent(bk, sheet):
    keys = [c.key for c in sheet.columns]
    labels = [c.label for c in sheet.columns]
    assert len(keys) == len(set(keys)), "duplicate column key"
    assert len(labels) == len(set(labels)), "duplicate label"
    owner_of_key = {}
    for c in sheet.columns:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c.key)
        assert c.owner in (USER, PRODUCT, SHARED)
        assert c.type in (TEXT, INT, NUMBER, MONEY, DATE, DATETIME, PHONE)
        assert 4 <= c.width <= 60
        assert c.help and len(c.help) <= 255 and len(c.label) <= 32, c.key
        for hk in c.header_keys():
            assert hk, c.key
            assert owner_of_key.setdefault(hk, c.key) == c.key, f"header {hk!r} names {owner_of_key[hk]} and {c.key}"
        if c.type == DATETIME:
            assert c.number_format == "yyyy-mm-dd hh:mm", c.key
        if c.type == DATE:
            assert c.number_format == "yyyy-mm-dd", c.key
        if c.type == MONEY:
            assert c.number_format == "¥#,##0.00", c.key
        if c.choices:
            assert all(isinstance(v, str) and v.strip() == v and v for v in c.choices)
            assert len(set(c.choices)) == len(c.choices)
            assert not any("," in v or '"' in v for v in c.choices)
            assert len(",".join(c.choices)) <= 255  # Excel's limit for an inline list
    if sheet.problem_column:
        col = sheet.column(sheet.problem_column)
        assert set(sheet.problem_values) <= set(col.choices)
        assert col.owner == PRODUCT


def test_open_choices_name_real_dropdowns():
    by_table = {s.table: s for _, s in ALL_SHEETS}
    for table, key in books.OPEN_CHOICES:
        assert by_table[table].column(key).choices
