"""The product against a Kuaidi100 stand-in written from Kuaidi100's documents (tests/support/kuaidi100_peer.py),
over real HTTP on 127.0.0.1: the peer answers subscriptions and queries and sends each scenario as a
real form-encoded, signed callback to the product's receiver; the tests then check what the product
stored, what it subscribed again and what it queried afterwards."""

import sqlite3
from datetime import timedelta

import pytest

from support.kuaidi100_peer import CUSTOMER, KEY, Kuaidi100Peer, event, push_doc
from support.push_desk import NOW, SALT, make_desk
from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
from xl_addin.adapters.store.subscriptions import NoticeQueue, SubscriptionStore
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client
from xl_addin.bootstrap import store_for
from xl_addin.receiver import serve_receiver
from xl_addin.services.push.service import subscribe_waybills
from xl_addin.services.tracking import refresh

ENV = {"KUAIDI100_SALT": SALT}
PICKED = event("2024-11-05 07:10:00", "【杭州市西湖区网点】 已揽收", code="103", name="已揽收")
TRUNK = event("2024-11-05 08:40:00", "【杭州转运中心】 已发出 下一站 【成都转运中心】", code="1002", name="干线")


@pytest.fixture
def world(tmp_path):
    desk = make_desk(tmp_path / "desk", 3)  # WB00000000 ZTO (zhongtong), WB00000001 YTO (yuantong), WB00000002 ZTO
    peer = Kuaidi100Peer().start()
    clock = {"now": NOW}
    rx = serve_receiver(desk, clock=lambda: clock["now"], env=ENV, send_interval=3600, access_log=False)
    w = type("World", (), {})()
    w.desk, w.peer, w.clock, w.rx = desk, peer, clock, rx
    w.cb = rx.url + "/kuaidi100/callback"

    def subscribe(at):
        client = Kuaidi100Client(peer.url, CUSTOMER, KEY, timeout=(2, 5))
        try:
            return subscribe_waybills(desk, at, client=client, url=w.cb, rate=None, env=ENV)
        finally:
            client.close()

    def poll(at, **kw):
        return refresh(desk, at, client_factory=lambda: Kuaidi100Client(peer.url, CUSTOMER, KEY, timeout=(2, 0.5),
                                                                         backoff_factor=0.01),
                       write_workbook=False, **kw)

    def push(number, doc, at):
        clock["now"] = at
        return peer.push(number, doc)

    w.subscribe, w.poll, w.push = subscribe, poll, push
    yield w
    rx.stop()
    peer.stop()


def audits(desk, waybill, action):
    with store_for(desk) as st:
        return [a for a in st.audit_entries("waybill", waybill) if a["action"] == action]


def test_abort_naming_the_right_carrier_switches_the_code_and_is_not_subscribed_again(world):
    world.subscribe(NOW)
    assert world.peer.subscriptions("WB00000000")[0]["company"] == "zhongtong"
    doc = push_doc("WB00000000", "zhongtong", [], status="abort", message="快递公司有误", com_new="yuantong")
    reply = world.push("WB00000000", doc, NOW + timedelta(hours=2))
    assert Kuaidi100Peer.acknowledged(reply)
    world.peer.polling["WB00000000"]["company"] = "yuantong"  # Kuaidi100 re-subscribed it itself
    # its copy, re-sent half an hour later because (say) our answer was lost: no second change
    assert Kuaidi100Peer.acknowledged(world.push("WB00000000", doc, NOW + timedelta(hours=2, minutes=30)))
    with store_for(world.desk) as st:
        sub = SubscriptionStore(st).get("WB00000000")
        assert sub.state == "accepted" and sub.company == "yuantong" and sub.escalated_at is None
        assert CarrierCorrections(st).get("WB00000000").com_new == "yuantong"
    assert len(audits(world.desk, "WB00000000", "carrier_corrected")) == 1
    # not subscribed again (that would spend one of the month's four, under the wrong code)
    world.subscribe(NOW + timedelta(hours=5))
    assert len(world.peer.subscriptions("WB00000000")) == 1
    # the polling fallback asks under the corrected code
    world.poll(NOW + timedelta(hours=6), include_pushed=True)
    assert [q["com"] for q in world.peer.queries("WB00000000")] == ["yuantong"]


def test_autocheck_correction_is_audited_once_and_used_by_every_later_request(world):
    world.subscribe(NOW)
    doc = push_doc("WB00000001", "zhongtong", [PICKED], state="103", auto_check="1", com_old="yuantong",
                   com_new="zhongtong")
    for minutes in (0, 30, 60):  # the push and two re-sends of it
        assert Kuaidi100Peer.acknowledged(world.push("WB00000001", doc, NOW + timedelta(hours=1, minutes=minutes)))
    assert len(audits(world.desk, "WB00000001", "carrier_corrected")) == 1
    with store_for(world.desk) as st:
        assert len(TrackingStore(st).events_for("WB00000001")) == 1
        assert SubscriptionStore(st).get("WB00000001").pushes == 1
    # later the number stops without a record: it is subscribed again — under the corrected code
    abort = push_doc("WB00000001", "zhongtong", [], status="abort", message="3天查询无记录")
    assert Kuaidi100Peer.acknowledged(world.push("WB00000001", abort, NOW + timedelta(days=3)))
    world.peer.end("WB00000001")
    world.subscribe(NOW + timedelta(days=3, hours=3))
    assert [s["company"] for s in world.peer.subscriptions("WB00000001")] == ["yuantong", "zhongtong"]
    world.poll(NOW + timedelta(days=3, hours=4), include_pushed=True)
    assert {q["com"] for q in world.peer.queries("WB00000001")} == {"zhongtong"}


def test_a_resent_abort_is_one_abort(world):
    world.subscribe(NOW)
    abort = push_doc("WB00000002", "zhongtong", [], status="abort", message="3天查询无记录")
    for minutes in (0, 30, 60, 90):  # Kuaidi100 did not get our answer: three re-sends, half an hour apart
        assert Kuaidi100Peer.acknowledged(world.push("WB00000002", abort, NOW + timedelta(days=3, minutes=minutes)))
    world.peer.end("WB00000002")
    with store_for(world.desk) as st:
        sub = SubscriptionStore(st).get("WB00000002")
        assert sub.state == "retry" and sub.resubscribes == 1 and sub.escalated_at is None
    assert len(audits(world.desk, "WB00000002", "subscription.resubscribe")) == 1
    assert audits(world.desk, "WB00000002", "subscription.escalated") == []
    world.subscribe(NOW + timedelta(days=3, hours=3))
    assert len(world.peer.subscriptions("WB00000002")) == 2  # subscribed again exactly once


def test_501_after_an_abort_is_the_monthly_limit_and_the_waybill_is_polled(world):
    world.subscribe(NOW)
    world.peer.month_subscriptions["WB00000001"] = 4  # this month's four are spent (earlier rounds)
    abort = push_doc("WB00000001", "yuantong", [], status="abort", message="3天查询无记录")
    assert Kuaidi100Peer.acknowledged(world.push("WB00000001", abort, NOW + timedelta(days=3)))
    world.peer.end("WB00000001")
    res = world.subscribe(NOW + timedelta(days=3, hours=3))
    assert world.peer.subscriptions("WB00000001")[-1]["number"] == "WB00000001"  # asked once more: 501
    assert res.limited == 1
    with store_for(world.desk) as st:
        sub = SubscriptionStore(st).get("WB00000001")
        assert sub.state == "limit" and sub.return_code == "501"
    asked = len(world.peer.subscriptions("WB00000001"))
    world.subscribe(NOW + timedelta(days=3, hours=6))  # not asked again this month
    assert len(world.peer.subscriptions("WB00000001")) == asked
    world.poll(NOW + timedelta(days=3, hours=7))  # polled instead, without "refresh now"
    assert world.peer.queries("WB00000001")


def test_a_501_not_followed_by_pushes_hands_the_waybill_back_to_polling_within_hours(world):
    world.peer.month_subscriptions["WB00000000"] = 4  # spent by another system: 501 on our first try
    world.subscribe(NOW)
    with store_for(world.desk) as st:
        assert SubscriptionStore(st).get("WB00000000").state == "duplicate"
    world.poll(NOW + timedelta(hours=1))
    assert world.peer.queries("WB00000000") == []  # the first push may still come
    world.poll(NOW + timedelta(hours=5))
    assert world.peer.queries("WB00000000")  # none came: polled after 4 hours, not 24


@pytest.mark.parametrize("fault", ["busy 502", "server error 501", "HTTP 500", "read timeout"])
def test_a_resent_query_counts_against_the_frequency_rules(world, fault):
    number = "WB00000000"
    if fault == "busy 502":
        world.peer.answers[number] = [{"result": False, "returnCode": "502", "message": "服务器繁忙"}] * 3
    elif fault == "server error 501":
        world.peer.answers[number] = [{"result": False, "returnCode": "501", "message": "服务器错误"}] * 3
    elif fault == "HTTP 500":
        world.peer.http_errors[number] = [500, 500, 500]
    else:
        world.peer.delay[number] = 1.5  # longer than the client's read timeout
    world.poll(NOW)
    # one query reached the service; re-sending it at once would be a second within 30 minutes
    assert len(world.peer.queries(number)) == 1
    with store_for(world.desk) as st:
        assert len(TrackingStore(st).status(number)["recent_checks"]) == 1
    world.peer.delay.clear()
    world.poll(NOW + timedelta(minutes=20))
    assert len(world.peer.queries(number)) == 1  # the 30-minute guard saw it
    world.poll(NOW + timedelta(minutes=31))
    assert len(world.peer.queries(number)) == 2


def test_state_names_without_codes_reach_picked_up_and_queue_the_notice(world):
    world.subscribe(NOW)
    named = [event("2024-11-05 07:10:00", "【杭州市西湖区网点】 已揽收", name="已揽收")]
    doc = push_doc("WB00000002", "zhongtong", named, state="")
    assert Kuaidi100Peer.acknowledged(world.push("WB00000002", doc, NOW + timedelta(hours=1)))
    with store_for(world.desk) as st:
        s = TrackingStore(st).status("WB00000002")
        assert s["sub_status"] == "InTransit_PickedUp" and s["status_zh"] == "已揽收"
    world.rx.service.flush(NOW + timedelta(hours=1))  # the receiver's sender offers the key-node notice
    from xl_addin.adapters.store.notifications import NotificationLog

    with store_for(world.desk) as st:
        assert NoticeQueue(st).count() == 0
        assert {r.node for r in NotificationLog(st).all() if r.waybill_no == "WB00000002"} == {"picked_up"}


def test_updateall_re_push_stores_nothing_twice(world):
    world.subscribe(NOW)
    assert Kuaidi100Peer.acknowledged(world.push("WB00000000", push_doc("WB00000000", "zhongtong", [PICKED], state="103"),
                                                 NOW + timedelta(hours=1)))
    full = push_doc("WB00000000", "zhongtong", [PICKED, TRUNK], status="updateall", state="1002")
    assert Kuaidi100Peer.acknowledged(world.push("WB00000000", full, NOW + timedelta(hours=5)))
    with store_for(world.desk) as st:
        assert len(TrackingStore(st).events_for("WB00000000")) == 2
        assert TrackingStore(st).status("WB00000000")["raw_code"] == "1002"
        assert SubscriptionStore(st).get("WB00000000").state == "accepted"


def snapshot(desk):
    with store_for(desk) as st:
        q = lambda sql: st.conn.execute(sql).fetchall()
        return (q("SELECT event_key FROM tracking_events ORDER BY 1"), q("SELECT * FROM push_subscriptions ORDER BY 1"),
                q("SELECT COUNT(*) FROM audit_log"), q("SELECT * FROM carrier_corrections"))


@pytest.mark.parametrize("forge", ["another salt", "no sign", "tampered"])
def test_forged_pushes_change_nothing(world, forge):
    world.subscribe(NOW)
    before = snapshot(world.desk)
    doc = push_doc("WB00000001", "zhongtong", [PICKED], auto_check="1", com_old="yuantong", com_new="zhongtong")
    if forge == "another salt":
        reply = world.peer.send(world.cb, doc, "guessed-salt")
    elif forge == "no sign":
        reply = world.peer.send(world.cb, doc, None)
    else:
        import json
        import urllib.parse
        import urllib.request

        from support.kuaidi100_peer import md5_upper

        param = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        sign = md5_upper(param + SALT)
        body = urllib.parse.urlencode({"param": param.replace("zhongtong", "jd"), "sign": sign}).encode()
        req = urllib.request.Request(world.cb, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.urlopen(req, timeout=10)
            reply = (200, None)
        except urllib.error.HTTPError as exc:
            reply = (exc.code, None)
    assert not Kuaidi100Peer.acknowledged(reply)
    assert snapshot(world.desk) == before


def test_a_store_error_while_looking_up_the_binding_is_not_acknowledged(world):
    """The waybill is bound but not yet tracked; the bindings cannot be read: the push must come again."""
    doc = push_doc("WB00000001", "yuantong", [PICKED], state="103")
    con = sqlite3.connect(world.desk.store_path)
    con.execute("ALTER TABLE bindings RENAME TO bindings_away")
    con.commit()
    reply = world.peer.send(world.cb, doc, SALT)
    assert not Kuaidi100Peer.acknowledged(reply) and reply[0] >= 500
    con.execute("ALTER TABLE bindings_away RENAME TO bindings")
    con.commit()
    con.close()
    with store_for(world.desk) as st:
        assert TrackingStore(st).events_for("WB00000001") == []
    assert Kuaidi100Peer.acknowledged(world.peer.send(world.cb, doc, SALT))  # the re-send is stored
    with store_for(world.desk) as st:
        assert len(TrackingStore(st).events_for("WB00000001")) == 1


@pytest.mark.slow
def test_a_held_write_lock_during_a_push_is_not_acknowledged_and_the_resend_is_stored(world):
    """Another process holds the desk's SQLite file locked (real file, real lock) while the push comes."""
    world.subscribe(NOW)
    doc = push_doc("WB00000000", "zhongtong", [PICKED], state="103")
    con = sqlite3.connect(world.desk.store_path, timeout=0, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        reply = world.push("WB00000000", doc, NOW + timedelta(hours=1))
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert not Kuaidi100Peer.acknowledged(reply)
    with store_for(world.desk) as st:
        assert TrackingStore(st).events_for("WB00000000") == []
    assert Kuaidi100Peer.acknowledged(world.push("WB00000000", doc, NOW + timedelta(hours=1, minutes=30)))
    with store_for(world.desk) as st:
        assert len(TrackingStore(st).events_for("WB00000000")) == 1
