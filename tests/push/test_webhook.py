"""Chat-robot webhook and SMS gateway against a real HTTP endpoint on 127.0.0.1: each message exactly once."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from xl_addin.adapters.notify.base import OutgoingMessage
from xl_addin.adapters.notify.sms import HttpSmsGateway, SmsChannel
from xl_addin.adapters.notify.webhook import dingtalk_sign
from xl_addin.adapters.store import open_store
from xl_addin.config import Settings
from xl_addin.desk import Desk
from xl_addin.domain.notifications import Recipient
from xl_addin.domain.tracking.events import TrackingEvent, china_tz
from xl_addin.domain.tracking.status import SubStatus
from xl_addin.services.notify.notifications import build_notifier

CN = china_tz()
SECRET = "SEC0123456789abcdef"


class Robot:
    """A tiny robot endpoint: records every POST; can fail the first requests; checks DingTalk signatures."""

    def __init__(self, secret: str = "", fail_first: int = 0, fail_with: tuple[int, dict] = (500, {})):
        self.received: list[dict] = []
        self.secret, self.fail_left, self.fail_with = secret, fail_first, fail_with
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = parse_qs(urlsplit(self.path).query)
                status, answer = 200, {"errcode": 0, "errmsg": "ok"}
                if robot.secret and not robot.signature_ok(query):
                    answer = {"errcode": 310000, "errmsg": "sign not match"}
                elif robot.fail_left > 0:
                    robot.fail_left -= 1
                    status, answer = robot.fail_with
                else:
                    robot.received.append({"path": self.path, "body": raw, "headers": dict(self.headers)})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=tok123"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def signature_ok(self, query) -> bool:
        ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
        expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest())
        return bool(ts) and sign == expected.decode()  # parse_qs already url-decoded it

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        return [json.loads(r["body"])["text"]["content"] for r in self.received]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CN)


def ev(sub: SubStatus, when: datetime, waybill: str = "YT7000000000001") -> TrackingEvent:
    return TrackingEvent(waybill, "yuantong", when, sub.zh, sub.main, sub)


@pytest.fixture
def notifier_for(tmp_path):
    stores = []

    def make(env):
        settings = Settings()
        settings.notifications.enabled = True
        store = open_store(tmp_path / "state.sqlite3")
        stores.append(store)
        n = build_notifier(Desk(tmp_path, settings), store, env=env)
        n.policy = dataclasses.replace(n.policy, inrun_wait_seconds=0.0)
        return n

    yield make
    for s in stores:
        s.close()


def test_dingtalk_sign_matches_the_documented_recipe():
    # HMAC-SHA256(key=secret, "timestamp\nsecret"), base64, url-encoded
    expected = base64.b64encode(hmac.new(b"abc", b"1700000000000\nabc", hashlib.sha256).digest()).decode()
    assert dingtalk_sign("abc", 1700000000000) == expected.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_each_message_arrives_once_despite_reruns_and_duplicate_events(notifier_for):
    with Robot(secret=SECRET) as robot:
        env = {"XL_LOGISTICS_WEBHOOK_URL": robot.url, "XL_LOGISTICS_WEBHOOK_SECRET": SECRET}
        notifier = notifier_for(env)
        robot_rcpt = [Recipient("webhook", "群机器人")]
        picked = ev(SubStatus.IN_TRANSIT_PICKED_UP, at(3, 9))
        signed = ev(SubStatus.DELIVERED_OTHER, at(4, 14))
        notifier.offer_event(picked, robot_rcpt, at(3, 9, 1), carrier="圆通速递")
        notifier.offer_event(picked, robot_rcpt, at(3, 9, 2), carrier="圆通速递")  # the same push again
        first = notifier.send_pending(at(3, 9, 2))
        second = notifier.send_pending(at(3, 9, 3))
        notifier.offer_event(ev(SubStatus.IN_TRANSIT_ARRIVAL, at(3, 20)), robot_rcpt, at(3, 20))  # not a key node
        notifier.offer_event(signed, robot_rcpt, at(4, 14, 1), carrier="圆通速递")
        notifier.offer_event(picked, robot_rcpt, at(4, 14, 1), carrier="圆通速递")  # old push, out of order
        third = notifier.send_pending(at(4, 14, 2))
        notifier.send_pending(at(4, 15))
    assert len(first.sent) == 1 and second.sent == [] and len(third.sent) == 1
    assert robot.texts() == ["已揽收｜圆通速递 YT7000000000001｜已揽收｜2026-03-03 09:00",
                             "已签收｜圆通速递 YT7000000000001｜已签收｜2026-03-04 14:00"]
    assert all("timestamp=" in r["path"] and "sign=" in r["path"] for r in robot.received)


def test_server_errors_are_retried_with_backoff_then_sent_once(notifier_for):
    with Robot(fail_first=3, fail_with=(503, {"errmsg": "busy"})) as robot:
        notifier = notifier_for({"XL_LOGISTICS_WEBHOOK_URL": robot.url})
        notifier.offer_event(ev(SubStatus.OUT_FOR_DELIVERY_OTHER, at(3, 10)), [Recipient("webhook", "群机器人")],
                             at(3, 10))
        r1 = notifier.send_pending(at(3, 10))  # two quick tries in the run, both 503
        assert r1.sent == [] and "HTTP 503" in r1.retry_later[0][1]
        assert notifier.send_pending(at(3, 10, 1)).held == 1  # waiting for the backoff
        r2 = notifier.send_pending(at(3, 10, 3))  # third failure, then success in the same run
        r3 = notifier.send_pending(at(3, 12))
    assert len(r2.sent) == 1 and r3.sent == []
    assert len(robot.received) == 1


def test_rejected_signature_is_reported_not_retried(notifier_for):
    with Robot(secret=SECRET) as robot:
        notifier = notifier_for({"XL_LOGISTICS_WEBHOOK_URL": robot.url, "XL_LOGISTICS_WEBHOOK_SECRET": "wrong"})
        notifier.offer_event(ev(SubStatus.DELIVERED_OTHER, at(3, 10)), [Recipient("webhook", "群机器人")], at(3, 10))
        report = notifier.send_pending(at(3, 10))
        later = notifier.send_pending(at(3, 18))
    assert robot.received == [] and len(report.failed) == 1 and "310000" in report.failed[0][1]
    assert later.failed == [] and later.retry_later == []
    assert "tok123" not in report.failed[0][1]  # the token in the URL is a secret


def test_sms_gateway_fills_template_and_sends_once(notifier_for):
    with Robot() as gateway:
        env = {"XL_LOGISTICS_SMS_URL": gateway.url}
        notifier = notifier_for(env)
        rcpt = [Recipient("sms", "+86 139-0013-9000")]
        notifier.offer_event(ev(SubStatus.DELIVERED_OTHER, at(3, 11)), rcpt, at(3, 11), carrier="圆通速递")
        notifier.send_pending(at(3, 11))
        notifier.offer_event(ev(SubStatus.DELIVERED_OTHER, at(3, 11)), rcpt, at(3, 12), carrier="圆通速递")
        notifier.send_pending(at(3, 12))
    assert len(gateway.received) == 1
    body = json.loads(gateway.received[0]["body"])
    assert body["phone"] == "13900139000" and "已签收" in body["content"] and "YT7000000000001" in body["content"]
    assert len(body["client_msg_id"]) == 32


def test_sms_form_body_and_success_field():
    with Robot(fail_first=1, fail_with=(200, {"code": "E42"})) as gateway:
        channel = SmsChannel(HttpSmsGateway(gateway.url, "to=$phone&msg=$text", content_type="form",
                                            success_field="errcode", success_value="0"))
        msg = OutgoingMessage("k" * 32, "sms", "13900139000", "", "已签收 & 谢谢", "<k@x>")
        from xl_addin.adapters.notify.base import NotSent

        with pytest.raises(NotSent):
            channel.send(msg)
        channel.send(msg)
    assert parse_qs(gateway.received[0]["body"].decode()) == {"to": ["13900139000"], "msg": ["已签收 & 谢谢"]}


def test_webhook_down_is_not_sent_and_retried_later(notifier_for):
    robot = Robot()  # created (port reserved) but never started, then closed: nothing listens
    url = robot.url
    robot.server.server_close()
    notifier = notifier_for({"XL_LOGISTICS_WEBHOOK_URL": url})
    notifier.offer_event(ev(SubStatus.DELIVERED_OTHER, at(3, 10)), [Recipient("webhook", "群机器人")], at(3, 10))
    report = notifier.send_pending(at(3, 10))
    assert len(report.retry_later) == 1 and "无法连接机器人" in report.retry_later[0][1]
    assert notifier.send_pending(at(3, 10) + timedelta(hours=5)).retry_later  # still down: still retrying
