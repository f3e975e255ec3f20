"""The push-callback receiver over real HTTP on 127.0.0.1: the exact success body, signature checked
before anything is trusted, refusals (forged sign, oversized, broken JSON, wrong encoding) that
change nothing, unknown waybills acknowledged, duplicate and out-of-order pushes, carrier
correction, abort handling, /healthz, JSON-line logs."""

import json
from datetime import timedelta

import pytest
import requests

from support.push_desk import NOW, SALT, event_item, make_desk, push_form
from xl_addin.adapters.store.subscriptions import SubscriptionStore
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.bootstrap import store_for
from xl_addin.receiver import serve_receiver

ACK = '{"result":true,"returnCode":"200","message":"成功"}'


@pytest.fixture
def rx(tmp_path):
    desk = make_desk(tmp_path / "desk", 3)
    clock = {"now": NOW + timedelta(hours=1)}
    running = serve_receiver(desk, clock=lambda: clock["now"], env={"KUAIDI100_SALT": SALT}, send_interval=3600,
                             log_path=tmp_path / "receiver.jsonl")
    running.desk, running.clock, running.log_path = desk, clock, tmp_path / "receiver.jsonl"
    running.cb = running.url + "/kuaidi100/callback?desk=test"
    yield running
    running.stop()


def snapshot(desk):
    with store_for(desk) as st:
        q = lambda sql: st.conn.execute(sql).fetchall()
        return (q("SELECT event_key FROM tracking_events ORDER BY 1"),
                q("SELECT waybill_no, status, last_time, last_checked_at FROM waybill_status ORDER BY 1"),
                q("SELECT * FROM push_subscriptions ORDER BY 1"), q("SELECT COUNT(*) FROM audit_log"),
                q("SELECT COUNT(*) FROM pending_notices"))


PICKED = event_item(NOW - timedelta(hours=2), "【杭州市西湖区网点】 已揽收", "103")
TRUNK = event_item(NOW - timedelta(hours=1), "【杭州转运中心】 已发出 下一站 【成都转运中心】", "1002")


def test_signed_push_is_ingested_and_answered_exactly(rx):
    r = requests.post(rx.cb, data=push_form("WB00000000", [PICKED, TRUNK]), timeout=5)
    assert r.status_code == 200 and r.text == ACK and r.elapsed.total_seconds() < 20
    with store_for(rx.desk) as st:
        ts = TrackingStore(st)
        assert len(ts.events_for("WB00000000")) == 2
        s = ts.status("WB00000000")
        assert s["raw_code"] == "1002" and s["last_outcome"] == "push"
        sub = SubscriptionStore(st).get("WB00000000")
        assert sub.state == "accepted" and sub.pushes == 1 and sub.last_push_status == "polling"
    before = snapshot(rx.desk)
    # the same push again, and an older push arriving late: nothing beyond what is new
    assert requests.post(rx.cb, data=push_form("WB00000000", [PICKED, TRUNK]), timeout=5).text == ACK
    assert requests.post(rx.cb, data=push_form("WB00000000", [PICKED]), timeout=5).text == ACK
    after = snapshot(rx.desk)
    assert after[0] == before[0]
    assert [r[:3] for r in after[1]] == [r[:3] for r in before[1]]  # status unchanged by the older push
    # a newer push adds exactly its new node
    signed = event_item(NOW + timedelta(hours=20), "已签收，签收人：本人", "301")
    requests.post(rx.cb, data=push_form("WB00000000", [PICKED, TRUNK, signed], status="shutdown", state="3"), timeout=5)
    with store_for(rx.desk) as st:
        ts = TrackingStore(st)
        assert len(ts.events_for("WB00000000")) == 3 and ts.status("WB00000000")["is_final"]
        assert SubscriptionStore(st).get("WB00000000").state == "shutdown"


@pytest.mark.parametrize("name, make", [
    ("forged sign", lambda: dict(push_form("WB00000001", [PICKED]), sign="0" * 32)),
    ("signed with another salt", lambda: push_form("WB00000001", [PICKED], salt="guess")),
    ("no sign", lambda: {"param": push_form("WB00000001", [PICKED])["param"]}),
    ("tampered param", lambda: dict(push_form("WB00000001", [PICKED]),
                                    param=push_form("WB00000001", [PICKED])["param"].replace("揽收", "签收"))),
    ("broken JSON, correctly signed", lambda: push_form_raw('{"status":"polling","lastResult":{"nu":')),
    ("JSON that is not an object", lambda: push_form_raw('["WB00000001"]')),
    ("no param", lambda: {"sign": "ABC"}),
])
def test_refused_pushes_change_nothing(rx, name, make):
    before = snapshot(rx.desk)
    r = requests.post(rx.cb, data=make(), timeout=5)
    assert r.status_code in (400, 403) and r.text != ACK
    body = r.json()
    assert body["result"] is False and body["returnCode"] != "200"
    assert snapshot(rx.desk) == before


def push_form_raw(param: str) -> dict:
    import hashlib

    return {"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest().upper()}


def test_oversized_wrong_encoding_and_methods(rx):
    before = snapshot(rx.desk)
    big = push_form("WB00000001", [PICKED])
    big["param"] = big["param"] + " " * 300_000
    r = requests.post(rx.cb, data=big, timeout=10)
    assert r.status_code == 413 and r.json()["result"] is False
    r = requests.post(rx.cb, json=push_form("WB00000001", [PICKED]), timeout=5)
    assert r.status_code == 415 and r.json()["result"] is False
    r = requests.post(rx.cb, data=b"\xff\xfe\x00garbage", headers={"Content-Type": "application/x-www-form-urlencoded"},
                      timeout=5)
    assert r.status_code == 400 and r.text != ACK
    assert requests.get(rx.cb, timeout=5).status_code == 405
    assert requests.post(rx.url + "/other", data={"a": "b"}, timeout=5).status_code == 404
    assert snapshot(rx.desk) == before


def test_unknown_waybill_is_acknowledged_logged_and_changes_nothing(rx):
    before = snapshot(rx.desk)
    r = requests.post(rx.cb, data=push_form("ZZ99999999", [PICKED]), timeout=5)
    assert r.status_code == 200 and r.text == ACK  # so the provider stops retrying
    assert snapshot(rx.desk) == before
    rx.flush_log()  # lines are buffered (written at least every half second)
    lines = [json.loads(l) for l in rx.log_path.read_text(encoding="utf-8").splitlines()]
    hit = [l for l in lines if l.get("waybill_no") == "ZZ99999999"]
    assert hit and hit[-1]["outcome"] == "unknown_waybill" and hit[-1]["event"] == "push"
    assert all("sign" not in l and SALT not in json.dumps(l) for l in lines)


def test_carrier_correction_is_honoured_and_audited(rx):
    form = push_form("WB00000002", [PICKED], com="yuantong",
                     extra={"autoCheck": "1", "comOld": "zhongtong", "comNew": "yuantong"})
    assert requests.post(rx.cb, data=form, timeout=5).text == ACK
    with store_for(rx.desk) as st:
        assert SubscriptionStore(st).get("WB00000002").company == "yuantong"
        assert TrackingStore(st).events_for("WB00000002")[0].carrier_code == "yuantong"
        audit = st.audit_entries("waybill", "WB00000002")
    assert any(a["action"] == "carrier_corrected" and a["detail"]["com_new"] == "yuantong" for a in audit)


def test_abort_no_record_resubscribes_once_then_escalates(rx):
    abort = push_form("WB00000001", [], status="abort", extra={"message": "3天查询无记录"})
    assert requests.post(rx.cb, data=abort, timeout=5).text == ACK
    rx.clock["now"] = NOW + timedelta(hours=1, minutes=30)  # Kuaidi100 re-sends it: a copy, not a second abort
    assert requests.post(rx.cb, data=abort, timeout=5).text == ACK
    with store_for(rx.desk) as st:
        sub = SubscriptionStore(st).get("WB00000001")
        assert sub.state == "retry" and sub.resubscribes == 1 and sub.escalated_at is None
        assert sub.pushes == 1
        # it is subscribed again once its time comes
        assert "WB00000001" in [w for w, _c, _o in SubscriptionStore(st).to_subscribe(NOW + timedelta(hours=3))]
        with st.transaction():
            SubscriptionStore(st).answered("WB00000001", "accepted", "200", "", "", NOW + timedelta(hours=3))
    rx.clock["now"] = NOW + timedelta(days=3, hours=3)  # the new subscription's own abort, days later
    assert requests.post(rx.cb, data=abort, timeout=5).text == ACK
    with store_for(rx.desk) as st:
        sub = SubscriptionStore(st).get("WB00000001")
        assert sub.state == "abort" and sub.escalated_at is not None
        assert not SubscriptionStore(st).kept_by_push(NOW + timedelta(hours=4), timedelta(hours=24)) & {"WB00000001"}


def test_healthz_reports_store_and_queue(rx):
    r = requests.get(rx.url + "/healthz", timeout=5)
    assert r.status_code == 200
    doc = r.json()
    assert doc["status"] == "ok" and doc["store"] == "ok" and "pending_notices" in doc
