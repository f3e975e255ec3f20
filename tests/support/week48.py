"""The weekly summary's hand-checked data set (week 2026-W48), written through the stores' own calls.

Used by tests/closing/test_weekly_summary.py (every number asserted), the LibreOffice tests and
tools/render_summary.py (the README picture)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.store import utc_iso

TZ = ZoneInfo("Asia/Shanghai")


def t(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def add_order(store, order_no, checked, confirmed=None):
    store.conn.execute(
        "INSERT INTO orders (order_no, status, check_status, checked_at, confirmed_at, updated_at) "
        "VALUES (?, 'confirmed', 'ok', ?, ?, ?)",
        (order_no, utc_iso(checked), utc_iso(confirmed) if confirmed else None, utc_iso(checked)))


def add_binding(store, order_no, waybill, carrier, code, bound, current=True):
    store.conn.execute(
        "INSERT INTO bindings (order_no, waybill_no, carrier, carrier_code, source, bound_at, bound_by, is_current) "
        "VALUES (?, ?, ?, ?, 'auto', ?, '系统', ?)", (order_no, waybill, carrier, code, utc_iso(bound), int(current)))


def add_status(store, waybill, order_no, code, status, final_at=None, expected=None):
    store.conn.execute(
        "INSERT INTO waybill_status (waybill_no, order_no, carrier_code, status, final_at, expected_delivery, "
        "is_final, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (waybill, order_no, code, status, utc_iso(final_at) if final_at else None, expected, int(final_at is not None),
         utc_iso(t(1))))


def add_event(store, waybill, when, status, sub):
    store.conn.execute(
        "INSERT INTO tracking_events (event_key, waybill_no, time, context, status, sub_status, source, ingested_at) "
        "VALUES (?, ?, ?, '', ?, ?, 'query', ?)", (f"{waybill}-{utc_iso(when)}-{sub}", waybill, utc_iso(when),
                                                   status, sub, utc_iso(when)))


def add_case(store, case_id, **fields):
    CaseStore(store).insert({"case_id": case_id, "case_status": "已结案" if fields.get("closed_at") else "处理中",
                             "source": "manual", **fields}, fields["found_at"])


def build_week48(store) -> None:
    with store.transaction():
        for o in ("O1", "O2", "O3"):
            add_order(store, o, t(23, 9), t(23, 10))
        add_order(store, "O4", t(24, 9))
        add_order(store, "O5", t(17, 9), t(17, 10))
        add_binding(store, "O1", "W1", "顺丰", "shunfeng", t(23, 10))
        add_binding(store, "O2", "W2", "顺丰", "shunfeng", t(24, 10))
        add_binding(store, "O3", "W3", "中通", "zhongtong", t(24, 11))
        add_binding(store, "O4", "W4", "中通", "zhongtong", t(25, 11))
        add_binding(store, "O5", "W5", "顺丰", "shunfeng", t(17, 11))
        add_binding(store, "O9", "W6", "顺丰", "shunfeng", t(25, 9), current=False)
        add_status(store, "W1", "O1", "shunfeng", "Delivered", t(25, 12), "2026-11-25")
        add_status(store, "W2", "O2", "shunfeng", "Delivered", t(26, 20), "2026-11-26")
        add_status(store, "W3", "O3", "zhongtong", "Delivered", t(28, 10), "2026-11-27")
        add_status(store, "W4", "O4", "zhongtong", "InTransit")
        add_status(store, "W5", "O5", "shunfeng", "Delivered", t(20, 10), "2026-11-21")
        add_event(store, "W1", t(23, 10, 30), "InfoReceived", "InfoReceived")
        add_event(store, "W1", t(23, 12), "InTransit", "InTransit_PickedUp")
        add_event(store, "W1", t(24, 12), "InTransit", "InTransit_Other")
        add_event(store, "W1", t(25, 12), "Delivered", "Delivered_Other")
        add_event(store, "W2", t(24, 8), "InTransit", "InTransit_PickedUp")
        add_event(store, "W2", t(26, 20), "Delivered", "Delivered_Other")
        add_event(store, "W3", t(24, 10), "InTransit", "InTransit_PickedUp")
        add_event(store, "W3", t(28, 10), "Delivered", "Delivered_Other")
        add_event(store, "W4", t(25, 14), "InTransit", "InTransit_PickedUp")
        add_event(store, "W5", t(17, 10), "InTransit", "InTransit_PickedUp")
        add_event(store, "W5", t(20, 10), "Delivered", "Delivered_Other")
        add_case(store, "C1", order_no="O1", waybill_no="W1", carrier_code="shunfeng", type="延误", severity="中",
                 found_at=t(23, 14), submitted_at=t(23, 14, 20), carrier_replied_at=t(23, 16), cause="暴雨",
                 new_expected=t(25, 18), customer_informed_at=t(24, 10), receiver_informed_at=t(24, 11),
                 responsible_party="天气或不可抗力", result="已按新时间送达", closed_at=t(24, 12))
        add_case(store, "C2", order_no="O3", waybill_no="W3", carrier_code="zhongtong", type="丢件", severity="高",
                 found_at=t(24, 9), submitted_at=t(24, 10), carrier_replied_at=t(24, 13), claim_started_at=t(25, 12),
                 claim_amount="200.50", cause="分拨中心遗失", responsible_party="物流商")
        add_case(store, "C3", order_no="O4", waybill_no="W4", carrier_code="zhongtong", type="破损", severity="高",
                 found_at=t(29, 20), submitted_at=t(29, 20, 10), cause="包装不足", responsible_party="发货方",
                 source="complaint")
        add_case(store, "C4", order_no="O5", waybill_no="W5", carrier_code="shunfeng", type="信息错误", severity="中",
                 found_at=t(19, 10), submitted_at=t(19, 10, 10), error_source="客户地址错误",
                 binding_checked_at=t(19, 11), address_confirmed_at=t(19, 12), corrected_address="杭州市西湖区文三路1号",
                 customer_informed_at=t(19, 13), receiver_informed_at=t(19, 13), result="已改地址重派",
                 responsible_party="客户", closed_at=t(26, 10))
