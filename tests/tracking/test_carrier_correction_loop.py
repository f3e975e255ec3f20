"""The carrier-correction loop: a number without any record is surfaced ("请核对物流商或单号") in the
store, the Tracking Log and the exception cases; Kuaidi100's corrections and the format check show in
the Binding Table; a re-bind or a 转投 (handed to another carrier) tracks the new number and links the two.
The provider is the independent Kuaidi100 peer (tests/support/kuaidi100_peer.py) over real HTTP."""

from datetime import timedelta

import openpyxl
import pytest

from support.kuaidi100_peer import CUSTOMER, KEY, Kuaidi100Peer
from support.push_desk import NOW, make_desk
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client
from xl_addin.bootstrap import store_for
from xl_addin.domain.tracking.anomalies import CHECK_CARRIER_OR_NUMBER
from xl_addin.services.tracking import refresh


@pytest.fixture
def peer():
    p = Kuaidi100Peer().start()
    yield p
    p.stop()


def poll(desk, peer, at, **kw):
    return refresh(desk, at, client_factory=lambda: Kuaidi100Client(peer.url, CUSTOMER, KEY, timeout=(2, 5)), **kw)


def sheet_texts(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [" ".join(str(v) for v in row if v is not None) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def test_a_number_without_any_record_is_surfaced_not_silently_polled(tmp_path, peer):
    desk = make_desk(tmp_path / "desk", 2)  # bound 3 hours before NOW; the peer has no record of either
    poll(desk, peer, NOW + timedelta(days=1))
    with store_for(desk) as st:
        assert not [a for a in TrackingStore(st).anomalies() if a["rule"] == "no_record_check_carrier"]
    poll(desk, peer, NOW + timedelta(days=3, hours=1))
    with store_for(desk) as st:
        hits = [a for a in TrackingStore(st).anomalies() if a["rule"] == "no_record_check_carrier"]
        assert {a["waybill_no"] for a in hits} == {"WB00000000", "WB00000001"}
        assert all(a["reason"].startswith(CHECK_CARRIER_OR_NUMBER) for a in hits)
        cases = st.conn.execute("SELECT waybill_no, type FROM cases WHERE closed_at IS NULL").fetchall()
    assert ("WB00000000", "信息错误") in cases and ("WB00000001", "信息错误") in cases  # the ledger's cases
    asked = len(peer.queries("WB00000000"))
    poll(desk, peer, NOW + timedelta(days=3, hours=4))  # not asked again every run while a person is to check it
    assert len(peer.queries("WB00000000")) == asked
    poll(desk, peer, NOW + timedelta(days=4, hours=2))  # but once a day
    assert len(peer.queries("WB00000000")) == asked + 1
    log_rows = [t for t in sheet_texts(desk.workbook("tracking")) if "WB00000000" in t]
    assert any(CHECK_CARRIER_OR_NUMBER in t for t in log_rows)
    bind_rows = [t for t in sheet_texts(desk.workbook("bindings")) if "WB00000001" in t]
    assert any(CHECK_CARRIER_OR_NUMBER in t and "rebind" in t for t in bind_rows)


def binding_row(desk, waybill):
    """The Binding Table row of ``waybill`` as {header: value}."""
    wb = openpyxl.load_workbook(desk.workbook("bindings"), read_only=True)
    try:
        rows = list(wb["绑定表"].iter_rows(values_only=True))
    finally:
        wb.close()
    header_at = next(i for i, r in enumerate(rows) if "物流单号" in r)
    header = rows[header_at]
    for r in rows[header_at + 1:]:
        if waybill in r:
            return dict(zip(header, r))
    raise AssertionError(f"{waybill} not in the Binding Table")


def test_kuaidi100_correction_shows_in_the_binding_table_old_new_when_by_whom(tmp_path, peer):
    from support.kuaidi100_peer import event, push_doc
    from support.push_desk import SALT
    from xl_addin.receiver import serve_receiver
    from xl_addin.services.push.service import subscribe_waybills

    desk = make_desk(tmp_path / "desk", 2)
    clock = {"now": NOW + timedelta(hours=1)}
    rx = serve_receiver(desk, clock=lambda: clock["now"], env={"KUAIDI100_SALT": SALT}, send_interval=3600,
                        access_log=False)
    try:
        client = Kuaidi100Client(peer.url, CUSTOMER, KEY)
        subscribe_waybills(desk, NOW, client=client, url=rx.url + "/kuaidi100/callback", rate=None,
                           env={"KUAIDI100_SALT": SALT})
        client.close()
        doc = push_doc("WB00000001", "zhongtong", [event("2024-11-05 07:10:00", "【杭州】 已揽收", code="103")],
                       state="103", auto_check="1", com_old="yuantong", com_new="zhongtong")
        assert Kuaidi100Peer.acknowledged(peer.push("WB00000001", doc))
    finally:
        rx.stop()
    poll(desk, peer, NOW + timedelta(hours=2))
    row = binding_row(desk, "WB00000001")
    assert row["承运商更正"] == "圆通速递(yuantong) → 中通快递(zhongtong)"
    assert row["更正人"] == "快递100" and row["更正时间"] is not None
    assert "快递100 已更正为 中通快递(zhongtong)" in row["承运商核对"]
    untouched = binding_row(desk, "WB00000000")
    assert untouched["承运商更正"] is None and untouched["承运商核对"] is None


def test_rebind_tracks_the_new_number_and_links_the_old_one(tmp_path, peer):
    from xl_addin.services.waybills import Books, rebind

    desk = make_desk(tmp_path / "desk", 1)
    poll(desk, peer, NOW)
    with store_for(desk) as st:
        rebind(st, "O00000", "78123456789012", "张三", "物流商重新出单", NOW + timedelta(hours=1), carrier_name="ZTO",
               books=Books.for_desk(desk))
    poll(desk, peer, NOW + timedelta(hours=3))
    assert len(peer.queries("WB00000000")) == 1  # the old number is not asked again
    assert [q["com"] for q in peer.queries("78123456789012")] == ["zhongtong"]
    with store_for(desk) as st:
        assert TrackingStore(st).status("WB00000000")["replaced_by"] == "78123456789012"
        assert TrackingStore(st).status("78123456789012")["order_no"] == "O00000"


def test_a_person_corrects_the_carrier_and_every_later_request_uses_it(tmp_path, peer):
    from xl_addin.services.waybills import Books, rebind, sync_workbooks

    from xl_addin.adapters.store.waybills import Binding, WaybillStore

    desk = make_desk(tmp_path / "desk", 0)
    number = "773123456789012"  # an STO number someone bound to ZTO
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([Binding(order_no="O7", waybill_no=number, carrier="中通快递", carrier_code="ZTO",
                                                  source="manual", bound_at=NOW - timedelta(hours=3), bound_by="王五")])
    poll(desk, peer, NOW)
    with store_for(desk) as st:  # what binding does after every bind (here the row was stored directly)
        sync_workbooks(st, Books.for_desk(desk))
    row = binding_row(desk, number)
    assert "申通" in (row["承运商核对"] or "") and row["承运商更正"] is None  # suggested, with its reason
    with store_for(desk) as st:
        old, new, _sync = rebind(st, "O7", number, "李四", "单号格式为申通，已电话核实", NOW + timedelta(hours=1),
                                 carrier_name="STO", books=Books.for_desk(desk))
        assert (old.carrier_code, new.carrier_code, new.waybill_no) == ("ZTO", "STO", number)
        audit = [a for a in st.audit_entries("waybill", number) if a["action"] == "carrier_corrected"]
        assert len(audit) == 1 and audit[0]["actor"] == "李四"
    poll(desk, peer, NOW + timedelta(hours=2))
    assert [q["com"] for q in peer.queries(number)] == ["zhongtong", "shentong"]
    row = binding_row(desk, number)
    assert row["物流商代码"] == "STO" and row["更正人"] == "李四"
    assert row["承运商更正"] == "中通快递(zhongtong) → 申通快递(shentong)"


def test_forwarded_to_another_carrier_tracks_the_new_number(tmp_path, peer):
    from support.kuaidi100_peer import event, query_body

    desk = make_desk(tmp_path / "desk", 1)
    peer.answers["WB00000000"] = [query_body("WB00000000", "zhongtong", [
        event("2024-11-05 07:10:00", "【杭州】 已揽收", code="103"),
        event("2024-11-05 10:10:00", "快件已转投 顺丰速运，新单号：SF1234567890123", code="7")], state="7")]
    poll(desk, peer, NOW + timedelta(hours=2))
    poll(desk, peer, NOW + timedelta(hours=5))
    assert len(peer.queries("WB00000000")) == 1
    assert [q["com"] for q in peer.queries("SF1234567890123")] == ["shunfeng"]
    with store_for(desk) as st:
        assert TrackingStore(st).status("WB00000000")["replaced_by"] == "SF1234567890123"
        s = TrackingStore(st).status("SF1234567890123")
        assert s["forwarded_from"] == "WB00000000" and s["order_no"] == "O00000" and s["carrier_code"] == "SF"
        assert [a["action"] for a in st.audit_entries("waybill", "WB00000000")].count("tracking.forwarded") == 1


def test_rebind_to_a_number_of_another_format_suggests_carriers_with_reasons_and_binds_nothing(tmp_path, peer):
    from xl_addin.services.waybills import Books, CarrierNeeded, rebind

    desk = make_desk(tmp_path / "desk", 1)  # O00000 bound to ZTO
    peer.autonumber["773123456789012"] = ["shentong", "zhongtong"]
    client = Kuaidi100Client(peer.url, CUSTOMER, KEY)
    with store_for(desk) as st:
        with pytest.raises(CarrierNeeded) as caught:
            rebind(st, "O00000", "773123456789012", "张三", "物流商重新出单", NOW, books=Books.for_desk(desk),
                   autonumber=client.autonumber)
        assert st.conn.execute("SELECT waybill_no FROM bindings WHERE is_current = 1").fetchall() == [("WB00000000",)]
    client.close()
    exc = caught.value
    assert exc.exit_code == 2 and "申通" in exc.message and "按单号格式" in exc.message and "快递100 智能判断" in exc.message
    assert exc.commands[0].startswith("xl-logistics rebind O00000 773123456789012 --carrier STO")
    assert exc.suggestions.by_provider == ["STO", "ZTO"]
