"""The sandbox behaves like Kuaidi100 where the product depends on it: 501 for the fifth subscription of a
month, ``autoCheck``/``comOld``/``comNew`` on every push, carrier corrections pushed both ways the service
does them, ``updateall`` for a full re-push, re-sends half an hour apart, and the phone and destination
the desk sends instead of invented ones. Pushes are caught by a plain http.server receiver."""

import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from xl_addin.sandbox import serve_sandbox

CHINA = timezone(timedelta(hours=8))
START = datetime(2024, 11, 5, 12, 0, tzinfo=CHINA)
SALT = "s-salt"


class Catcher:
    """Records every callback and answers what ``answer`` says (the success JSON by default)."""

    def __init__(self):
        self.forms: list[dict] = []
        self.answer_ok = True
        catcher = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                catcher.forms.append({k: v[0] for k, v in parse_qs(raw).items()})
                body = (b'{"result":true,"returnCode":"200","message":"\xe6\x88\x90\xe5\x8a\x9f"}' if catcher.answer_ok
                        else b'{"result":false,"returnCode":"500","message":"busy"}')
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def params(self):
        out = []
        for f in self.forms:
            assert f["sign"] == hashlib.md5((f["param"] + SALT).encode()).hexdigest().upper()
            out.append(json.loads(f["param"]))
        return out


@pytest.fixture
def env():
    sb = serve_sandbox(start=START, speed=0.0, seed=5)
    c = Catcher()
    yield sb, c
    sb.stop()
    c.server.shutdown()


def subscribe(sb, url, number, com, *, phone=None, to=None):
    param = {"company": com, "number": number, "key": sb.key,
             "parameters": {"callbackurl": url, "salt": SALT, "resultv2": "4", **({"phone": phone} if phone else {})}}
    if to:
        param["to"] = to
    return requests.post(sb.base_url + "/poll", data={"schema": "json", "param": json.dumps(param)}, timeout=5).json()


def query(sb, number, com, phone=None):
    param = json.dumps({"com": com, "num": number, "resultv2": "4", **({"phone": phone} if phone else {})})
    sign = hashlib.md5((param + sb.key + sb.customer).encode()).hexdigest().upper()
    return requests.post(sb.base_url + "/poll/query.do", data={"customer": sb.customer, "param": param, "sign": sign},
                         timeout=5).json()


def test_fifth_subscription_of_a_month_is_answered_501_like_already_polling(env):
    sb, c = env
    answers = []
    for _ in range(5):
        answers.append(subscribe(sb, c.url, "YT100000001", "yuantong"))
        sb.app.subscriptions["YT100000001"].status = "abort"  # the service stopped it each time
    assert [a["returnCode"] for a in answers] == ["200"] * 4 + ["501"]
    assert answers[-1]["message"] == "POLL:重复订阅" and answers[-1]["result"] is False
    sb.app.clock.set(datetime(2024, 12, 1, 9, 0, tzinfo=CHINA))  # a new month: allowed again
    assert subscribe(sb, c.url, "YT100000001", "yuantong")["returnCode"] == "200"


def test_every_push_carries_autocheck_comold_comnew(env):
    sb, c = env
    sb.app.pin("YT100000002", "yuantong", scenario="normal", shipped_at=START.isoformat())
    subscribe(sb, c.url, "YT100000002", "yuantong")
    sb.app.push_due(START + timedelta(days=1))
    doc = c.params()[-1]
    assert (doc["autoCheck"], doc["comOld"], doc["comNew"]) == ("0", "", "")
    assert doc["status"] == "polling" and doc["lastResult"]["nu"] == "YT100000002"


def test_autocheck_correction_then_queries_under_the_old_code_find_nothing(env):
    sb, c = env
    sb.app.pin("ZT100000003", "zhongtong", scenario="normal", shipped_at=START.isoformat())
    subscribe(sb, c.url, "ZT100000003", "zhongtong")
    sb.app.clock.set(START + timedelta(days=1))
    sb.app.correct_carrier("ZT100000003", "yuantong", "autocheck")
    sb.app.push_due(START + timedelta(days=1))
    doc = c.params()[-1]
    assert (doc["status"], doc["autoCheck"], doc["comOld"], doc["comNew"]) == ("polling", "1", "zhongtong", "yuantong")
    assert doc["lastResult"]["com"] == "yuantong" and doc["lastResult"]["data"]
    assert query(sb, "ZT100000003", "zhongtong")["returnCode"] == "500"
    assert query(sb, "ZT100000003", "yuantong")["status"] == "200"


def test_abort_naming_comnew_and_the_service_keeps_tracking_under_it(env):
    sb, c = env
    sb.app.pin("ZT100000004", "zhongtong", scenario="normal", shipped_at=START.isoformat())
    subscribe(sb, c.url, "ZT100000004", "zhongtong")
    sb.app.clock.set(START + timedelta(days=1))
    sb.app.correct_carrier("ZT100000004", "jtexpress", "abort")
    sb.app.push_due(START + timedelta(days=1))
    doc = c.params()[-1]
    assert (doc["status"], doc["autoCheck"], doc["comOld"], doc["comNew"]) == ("abort", "0", "", "jtexpress")
    sub = sb.app.subscriptions["ZT100000004"]
    assert sub.status == "polling" and sub.com == "jtexpress"  # re-subscribed by the service itself
    # it is still being polled: our subscribing again is a 501
    assert subscribe(sb, c.url, "ZT100000004", "jtexpress")["returnCode"] == "501"


def test_updateall_re_pushes_everything(env):
    sb, c = env
    sb.app.pin("YT100000005", "yuantong", scenario="normal", shipped_at=START.isoformat())
    subscribe(sb, c.url, "YT100000005", "yuantong")
    sb.app.push_due(START + timedelta(days=1))
    first = c.params()[-1]
    sb.app.repush_all("YT100000005")
    sb.app.push_due(START + timedelta(days=1))
    again = c.params()[-1]
    assert again["status"] == "updateall" and again["lastResult"]["data"] == first["lastResult"]["data"]


def test_unanswered_push_is_sent_again_three_times_half_an_hour_apart(env):
    sb, c = env
    sb.app.pin("YT100000006", "yuantong", scenario="normal", shipped_at=START.isoformat())
    subscribe(sb, c.url, "YT100000006", "yuantong")
    c.answer_ok = False
    t = START + timedelta(days=1)
    sb.app.push_due(t)
    sub = sb.app.subscriptions["YT100000006"]
    assert sub.next_push_at == t + timedelta(minutes=30)
    for i in range(3):
        sb.app.push_due(t + timedelta(minutes=30 * (i + 1)))
    assert len(c.forms) == 4 and len({f["param"] for f in c.forms}) == 1  # the same push, re-sent 3 times
    sb.app.push_due(t + timedelta(minutes=150))
    assert len(c.forms) == 4  # given up on this change


def test_an_unpinned_waybill_takes_the_desks_phone_and_destination(env):
    sb, c = env
    answer = subscribe(sb, c.url, "SF1000000007", "shunfeng", phone="13912345678", to="四川省成都市双流区")
    assert answer["returnCode"] == "200"
    j = sb.app.journey("shunfeng", "SF1000000007")
    assert j.phone == "13912345678" and j.dest.city == "成都市"
    sb.app.clock.set(START + timedelta(days=2))
    body = query(sb, "SF1000000007", "shunfeng", phone="5678")  # the last 4 digits, as the desk sends them
    assert body.get("returnCode") != "408"
    assert query(sb, "SF1000000007", "shunfeng", phone="0000").get("returnCode") == "408"
