"""The carrier-correction loop: a number without any record is surfaced ("请核对物流商或单号") in the
store, the Tracking Log and the exception cases; Kuaidi100's corrections and the format check show in
the Binding Table; a re-bind or a 转投 (handed to another carrier) tracks the new number and links the two.
The provider is the independent Kuaidi100 peer (tests/kuaidi100_peer.py) over real HTTP."""

from datetime import timedelta

import openpyxl
import pytest

from kuaidi100_peer import CUSTOMER, KEY, Kuaidi100Peer
from push_helpers import NOW, make_desk
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.tracking.kuaidi100 import Kuaidi100Client
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
    log_rows = [t for t in sheet_texts(desk.workbook("tracking")) if "WB00000000" in t]
    assert any(CHECK_CARRIER_OR_NUMBER in t for t in log_rows)
