"""Customer notices: key nodes, templates, quiet hours, and the exactly-once send log over a real SMTP server."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.notifications import NotificationLog
from xl_addin.config import Settings
from xl_addin.desk import Desk
from xl_addin.domain.notifications import (
    DELAY, Recipient, delay_notice, load_templates, not_before, notice_for_event, notice_key, parse_key_nodes,
    parse_quiet_hours, render,
)
from xl_addin.domain.tracking.events import TrackingEvent, china_tz
from xl_addin.domain.tracking.status import SubStatus
from xl_addin.errors import ConfigError
from xl_addin.services.notify.notifications import build_notifier
from support.net import free_port
from support.smtp import Inbox

CN = china_tz()
ALL = parse_key_nodes(["已揽收", "派件中", "已签收"])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CN)


def event(sub: SubStatus, when: datetime, waybill: str = "SF1234567890123") -> TrackingEvent:
    return TrackingEvent(waybill, "shunfeng", when, f"{sub.zh} 快递员 张三", sub.main, sub)


@pytest.fixture
def desk(tmp_path):
    settings = Settings()
    settings.notifications.enabled = True
    return Desk(tmp_path, settings)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "state.sqlite3")
    yield s
    s.close()


def fast(notifier):
    notifier.policy = dataclasses.replace(notifier.policy, inrun_wait_seconds=0.0)
    return notifier


# -- pure rules ---------------------------------------------------------------
def test_key_nodes_from_events_and_config():
    assert notice_for_event(event(SubStatus.IN_TRANSIT_PICKED_UP, at(1, 10)), ALL).node == "picked_up"
    assert notice_for_event(event(SubStatus.OUT_FOR_DELIVERY_OTHER, at(1, 10)), ALL).node == "out_for_delivery"
    assert notice_for_event(event(SubStatus.AVAILABLE_FOR_PICKUP_OTHER, at(1, 10)), ALL).node == "out_for_delivery"
    assert notice_for_event(event(SubStatus.DELIVERED_OTHER, at(1, 10)), ALL).node == "signed"
    assert notice_for_event(event(SubStatus.IN_TRANSIT_ARRIVAL, at(1, 10)), ALL) is None
    only_signed = parse_key_nodes(["签收"])
    assert notice_for_event(event(SubStatus.IN_TRANSIT_PICKED_UP, at(1, 10)), only_signed) is None
    assert parse_key_nodes(["即将派送", "延误"]) == {"out_for_delivery", "delay"}
    with pytest.raises(ValueError, match="不认识"):
        parse_key_nodes(["运输中"])


def test_templates_render_chinese_and_desk_override(tmp_path):
    notice = notice_for_event(event(SubStatus.OUT_FOR_DELIVERY_OTHER, at(1, 9, 5)), ALL, carrier="顺丰速运")
    sms = render(notice, "sms", load_templates(), desk="物流部")
    assert sms.body == "【物流部】您的包裹即将派送，顺丰速运运单号SF1234567890123，派件中，2026-03-01 09:05，请保持电话畅通。"
    mail = render(notice, "email", load_templates())
    assert mail.subject == "您的包裹正在派送（顺丰速运 SF1234567890123）" and "派件中" in mail.body
    own = tmp_path / "notification_templates.toml"
    own.write_text('[out_for_delivery.sms]\nbody = "{carrier}{waybill_no}今天送到 {unknown_field}"\n', encoding="utf-8")
    overridden = load_templates(own)
    assert render(notice, "sms", overridden).body == "顺丰速运SF1234567890123今天送到 {unknown_field}"
    assert render(notice, "email", overridden).subject == mail.subject  # untouched entries stay
    late = delay_notice("YT1", "圆通速递", expected_date=date(2026, 3, 5), reason="暴雨", at=at(2, 10))
    assert late.node == DELAY and "2026-03-05" in render(late, "sms", load_templates()).body


def test_quiet_hours():
    quiet = parse_quiet_hours("22:00-08:00")
    assert not_before(at(1, 23, 30), quiet) == at(2, 8)
    assert not_before(at(2, 3), quiet) == at(2, 8)
    assert not_before(at(2, 8), quiet) == at(2, 8)
    assert not_before(at(2, 12), quiet) == at(2, 12)
    assert not_before(at(1, 23), quiet, urgent=True) == at(1, 23)
    assert parse_quiet_hours("") is None
    with pytest.raises(ValueError):
        parse_quiet_hours("晚上十点")
    assert notice_key("sf1", "signed", "sms", "+86 138-0013-8000") == notice_key("SF1", "signed", "sms", "13800138000")


# -- exactly once over SMTP --------------------------------------------------
def test_smtp_down_then_up_sends_exactly_once(desk, store):
    port = free_port()
    env = {"XL_LOGISTICS_SMTP_URL": f"smtp://127.0.0.1:{port}?sender=desk@example.com"}
    notifier = fast(build_notifier(desk, store, env=env))
    rcpt = [Recipient("email", "Customer@Example.com")]
    signed = event(SubStatus.DELIVERED_OTHER, at(2, 15, 20))
    t0 = at(2, 15, 30)
    assert len(notifier.offer_event(signed, rcpt, t0, carrier="顺丰速运")) == 1

    down = notifier.send_pending(t0)  # nothing listens on the port yet
    assert down.sent == [] and len(down.retry_later) == 1
    assert "无法连接邮件服务器" in down.retry_later[0][1] and f"127.0.0.1:{port}" in down.retry_later[0][1]
    row = NotificationLog(store).all()[0]
    assert row.state == "pending" and row.attempts == 1 and row.last_error

    assert notifier.offer_event(signed, rcpt, t0 + timedelta(minutes=1)) == []  # duplicate push
    assert notifier.send_pending(t0 + timedelta(minutes=1)).held == 1  # backing off

    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        later = t0 + timedelta(minutes=5)
        up = notifier.send_pending(later)
        again = notifier.send_pending(later + timedelta(minutes=1))
        assert notifier.offer_event(signed, rcpt, later) == []
        notifier.send_pending(later + timedelta(hours=1))
    finally:
        ctl.stop()
    assert len(up.sent) == 1 and again.sent == []
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "您的包裹已签收（顺丰速运 SF1234567890123）"
    assert msg["To"] == "customer@example.com" and msg["From"] == "desk@example.com"
    assert msg["Message-ID"] == f"<{row.key}@xl-logistics.local>"
    assert "2026-03-02 15:20" in msg.get_content()
    assert NotificationLog(store).get(row.key).state == "sent"


def test_quiet_hours_hold_until_eight(desk, store, tmp_path):
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        notifier = fast(build_notifier(desk, store, env={"XL_LOGISTICS_SMTP_URL": f"smtp://127.0.0.1:{ctl.port}"}))
        notifier.offer_event(event(SubStatus.IN_TRANSIT_PICKED_UP, at(1, 22, 40)), [Recipient("email", "c@x.cn")],
                             at(1, 22, 45))
        night = notifier.send_pending(at(2, 7, 59))
        assert night.sent == [] and night.held == 1 and inbox.messages == []
        assert NotificationLog(store).next_release() == at(2, 8)
        morning = notifier.send_pending(at(2, 8, 0))
    finally:
        ctl.stop()
    assert len(morning.sent) == 1 and len(inbox.messages) == 1


def test_crash_mid_send_is_never_resent(desk, store):
    """A row left 'sending' by a dead sender becomes 'unknown' after the stale limit, not a second message."""
    notifier = build_notifier(desk, store, env={})
    key = notifier.offer_event(event(SubStatus.DELIVERED_OTHER, at(2, 10)), [Recipient("sms", "13800138000")],
                               at(2, 10))[0]
    log = NotificationLog(store)
    assert log.claim(log.get(key).id, at(2, 10, 1))  # the sender "crashes" right after claiming
    early = notifier.send_pending(at(2, 10, 5))
    assert early.outboxed == [] and log.get(key).state == "sending"
    late = notifier.send_pending(at(2, 10, 30))
    assert [k for k, _ in late.unknown] == [key] and late.outboxed == []
    assert log.get(key).state == "unknown"
    assert notifier.send_pending(at(2, 11)).unknown == []  # reported once, then left for a person
    assert log.requeue(key, at(2, 11), actor="王五")
    assert notifier.send_pending(at(2, 11)).outboxed == [key]


def test_notifications_off_writes_outbox_once(tmp_path, store):
    desk = Desk(tmp_path, Settings())  # enabled = false by default
    notifier = build_notifier(desk, store, env={"XL_LOGISTICS_SMTP_URL": "smtp://127.0.0.1:1"})
    rcpts = [Recipient("email", "c@x.cn"), Recipient("sms", "13800138000"), Recipient("webhook", "群机器人")]
    ev = event(SubStatus.OUT_FOR_DELIVERY_OTHER, at(1, 23))  # in quiet hours: files are written anyway
    assert len(notifier.offer_event(ev, rcpts, at(1, 23))) == 3
    first = notifier.send_pending(at(1, 23))
    notifier.offer_event(ev, rcpts, at(1, 23, 5))
    second = notifier.send_pending(at(1, 23, 5))
    assert len(first.outboxed) == 3 and first.sent == [] and second.outboxed == []
    files = sorted(p.name for p in (tmp_path / "outbox" / "notifications").iterdir())
    assert len(files) == 3 and sum(f.endswith(".eml") for f in files) == 1
    sms = json.loads(next((tmp_path / "outbox" / "notifications").glob("sms-*.json")).read_text(encoding="utf-8"))
    assert sms["recipient"] == "13800138000" and "SF1234567890123" in sms["body"]
    assert {e["action"] for e in store.audit_entries("notification")} >= {"notification.intent", "notification.sent"}


def test_bad_config_is_a_clear_error(tmp_path, store):
    settings = Settings()
    settings.notifications.quiet_hours = "十点到八点"
    with pytest.raises(ConfigError, match="免打扰"):
        build_notifier(Desk(tmp_path, settings), store, env={})
