"""The Kuaidi100 sandbox: deterministic journeys, simulated clock, frequency rules, push with retries."""

import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from xl_addin.adapters.providers import kuaidi100 as k
from xl_addin.sandbox import SandboxApp, serve_sandbox
from xl_addin.sandbox.journeys import SCENARIOS, build_journey

CHINA = timezone(timedelta(hours=8))
START = datetime(2024, 11, 5, 12, 0, tzinfo=CHINA)
FINAL_CODE = {"normal": {"301", "303"}, "delayed": {"301", "303"}, "locker": {"304"}, "rejected_returned": {"4"},
              "damaged": {"209"}, "lost": {"2"}, "stalled_after_pickup": {"103"}, "stalled_in_transit": {"1002"}}


def test_journeys_are_deterministic_per_seed_and_waybill():
    a = build_journey("YT100200300", "yuantong", seed=1, start=START)
    b = build_journey("YT100200300", "yuantong", seed=1, start=START)
    assert [(n.at, n.context) for n in a.nodes] == [(n.at, n.context) for n in b.nodes] and a.phone == b.phone
    others = {build_journey("YT100200300", "yuantong", seed=s, start=START).shipped_at for s in range(2, 8)}
    assert len(others) > 1


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_tells_its_story(scenario):
    j = build_journey("ZT7312345678", "zhongtong", seed=3, start=START, scenario=scenario,
                      origin_text="广东省惠州市", dest_text="四川省成都市双流区")
    if scenario == "no_record":
        assert j.nodes == []
        return
    assert j.nodes[-1].code in FINAL_CODE[scenario]
    assert j.nodes[0].code == "103" and j.origin.city == "惠州市" and j.dest.city == "成都市"
    assert all(a.at < b.at for a, b in zip(j.nodes, j.nodes[1:]))
    assert (j.final_at is not None) == (scenario in ("normal", "delayed", "locker", "rejected_returned"))
    if scenario == "normal":  # long haul goes through a middle hub
        assert sum("转运中心】 已收入" in n.context for n in j.nodes) >= 3


def test_shipped_date_from_waybill_number_else_before_start():
    j = build_journey("JD2024102800001", "jd", seed=0, start=START)
    assert j.shipped_at.date() == datetime(2024, 10, 28).date()
    h = build_journey("YT555666777", "yuantong", seed=0, start=START, window_hours=48)
    assert START - timedelta(hours=48) <= h.shipped_at <= START


def test_scenario_mix_is_configurable():
    only_lost = {build_journey(f"YT{i:09d}", "yuantong", seed=0, start=START, mix={"lost": 1}).scenario
                 for i in range(20)}
    assert only_lost == {"lost"}


@pytest.fixture
def sandbox():
    with serve_sandbox(speed=0, start=START, seed=5) as sb:
        yield sb


def _client(sb):
    return k.Kuaidi100Client(sb.base_url, sb.customer, sb.key, timeout=(1, 1), retries=0)


def test_clock_reveals_events_and_order_asc(sandbox):
    base = sandbox.base_url
    j = requests.post(base + "/_sandbox/waybills", json={"num": "YT7000000001", "com": "yuantong",
                                                         "scenario": "normal", "shipped_at": "2024-11-05T09:00:00"}).json()
    c = _client(sandbox)
    first = c.query("yuantong", "YT7000000001")
    visible_now = [n for n in j["nodes"] if datetime.fromisoformat(n["at"]) <= START]
    assert first.kind == "ok" and len(first.events) == len(visible_now) < len(j["nodes"])
    r = requests.post(base + "/_sandbox/clock", json={"advance_days": 6}).json()
    assert datetime.fromisoformat(r["now"]) == START + timedelta(days=6)
    later = c.query("yuantong", "YT7000000001")
    assert len(later.events) == len(j["nodes"]) and later.ischeck
    form = k.build_query("yuantong", "YT7000000001", customer=sandbox.customer, key=sandbox.key, order="asc")
    body = requests.post(base + k.QUERY_PATH, data=form).json()
    times = [d["ftime"] for d in body["data"]]
    assert times == sorted(times) and body["routeInfo"]["from"]["name"] and body["state"] in ("301", "303")


def test_resultv2_levels_shape_the_body(sandbox):
    sandbox.app.pin("YT7000000002", "yuantong", scenario="locker", shipped_at="2024-10-20T09:00:00")
    def body(v):
        form = k.build_query("yuantong", "YT7000000002", resultv2=v, customer=sandbox.customer, key=sandbox.key)
        sandbox.app.clock.advance(timedelta(hours=1))  # stay within the frequency rule
        return requests.post(sandbox.base_url + k.QUERY_PATH, data=form).json()
    plain, one, four = body(""), body("1"), body("4")
    assert "areaName" not in plain["data"][0] and plain["state"] == "3"
    assert one["data"][0]["status"] and "statusCode" not in one["data"][0] and one["state"] == "3"
    assert four["state"] == "304" and four["data"][0]["statusCode"] == "304" and "routeInfo" in four


def test_frequency_rules_counted_and_lock_stops_updates(sandbox):
    app = sandbox.app
    app.pin("YT7000000003", "yuantong", scenario="normal", shipped_at="2024-11-05T09:00:00")
    c = _client(sandbox)
    c.query("yuantong", "YT7000000003")
    c.query("yuantong", "YT7000000003")  # within 30 simulated minutes
    stats = requests.get(sandbox.base_url + "/_sandbox/stats").json()
    assert stats["violations_30min"] == 1 and stats["violations"] == 1
    for _ in range(48):
        app.clock.advance(timedelta(minutes=20))
        c.query("yuantong", "YT7000000003")
    stats = requests.get(sandbox.base_url + "/_sandbox/stats").json()
    assert stats["locked_numbers"] == 1 and stats["violations_48_per_day"] == 1
    assert "YT7000000003" in requests.get(sandbox.base_url + "/_sandbox/state").json()["locked"]
    frozen = len(c.query("yuantong", "YT7000000003").events)
    app.clock.advance(timedelta(hours=10))
    assert len(c.query("yuantong", "YT7000000003").events) == frozen  # locked: no updates
    app.clock.advance(timedelta(hours=15))
    assert len(c.query("yuantong", "YT7000000003").events) > frozen  # lock lifted after 24 h


def test_faults_via_control_endpoint_and_latency(sandbox):
    r = requests.post(sandbox.base_url + "/_sandbox/faults", json={"latency_ms": 120, "error_rate": 1.0})
    assert r.json()["faults"]["latency_ms"] == 120
    import time
    t = time.monotonic()
    out = _client(sandbox).query("yuantong", "YT7000000004")
    assert time.monotonic() - t >= 0.12 and out.return_code == "502"
    requests.post(sandbox.base_url + "/_sandbox/faults", json={"reset": True})
    assert _client(sandbox).query("yuantong", "YT7000000004").return_code != "502"


class _Receiver:
    """A real push receiver on 127.0.0.1 that fails the first ``fail`` pushes."""

    def __init__(self, fail=0):
        self.forms, self.fail = [], fail
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=type(
            "Quiet", (WSGIRequestHandler,), {"log_message": lambda *a: None}))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/kuaidi100/callback?orderId=9"

    def app(self, environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        form = {k_: v[0] for k_, v in parse_qs(environ["wsgi.input"].read(size).decode()).items()}
        self.forms.append(form)
        ok = len(self.forms) > self.fail
        body = k.PUSH_ACK if ok else {"result": False, "returnCode": "500", "message": "busy"}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body, ensure_ascii=False).encode()]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_push_flow_signed_retried_and_shutdown():
    app = SandboxApp(speed=0, start=START, seed=2)
    rx = _Receiver(fail=1)
    try:
        app.pin("YT7000000005", "yuantong", scenario="normal", shipped_at="2024-11-05T09:00:00")
        sub = k.parse_subscribe_response(app._subscribe_body(k.build_subscribe(
            "yuantong", "YT7000000005", "sandbox-key", rx.url, salt="pepper")))
        assert sub.kind == "accepted"
        assert app._subscribe_body(k.build_subscribe("yuantong", "YT7000000005", "sandbox-key", rx.url))["returnCode"] == "501"
        assert app.push_due(START) == {"sent": 0, "failed": 0}  # first push 15 min..4 h later
        now = START + timedelta(hours=4)
        assert app.push_due(now) == {"sent": 0, "failed": 1}  # receiver failed
        assert app.push_due(now + timedelta(minutes=10)) == {"sent": 0, "failed": 0}  # retry waits 35 min
        assert app.push_due(now + timedelta(minutes=35)) == {"sent": 1, "failed": 0}
        out = k.parse_push(rx.forms[-1], salt="pepper")
        assert out.valid and out.status == "polling" and out.waybill_no == "YT7000000005" and out.events
        assert app.push_due(now + timedelta(hours=1)) == {"sent": 0, "failed": 0}  # nothing new yet
        end = START + timedelta(days=8)
        assert app.push_due(end)["sent"] == 1
        last = k.parse_push(rx.forms[-1], salt="pepper")
        assert last.status == "shutdown" and last.ischeck
        assert app.subscriptions["YT7000000005"].status == "shutdown"
        assert app.push_due(end + timedelta(days=1)) == {"sent": 0, "failed": 0}
        forged = dict(rx.forms[-1], sign=hashlib.md5(b"x").hexdigest().upper())
        assert not k.parse_push(forged, salt="pepper").valid
    finally:
        rx.close()


def test_unknown_paths_and_bad_control_bodies(sandbox):
    assert requests.get(sandbox.base_url + "/nope").status_code == 404
    assert requests.post(sandbox.base_url + "/_sandbox/clock", data="{bad").status_code == 400
    assert requests.get(sandbox.base_url + "/poll/query.do").json()["returnCode"] == "400"


def test_same_city_route_still_has_a_transit_story():
    j = build_journey("YT7000000009", "yuantong", seed=1, start=START, scenario="stalled_in_transit",
                      origin_text="广州", dest_text="广州")
    assert j.nodes[-1].code == "1002" and j.dest.city == j.origin.city == "广州市"
    assert "分拨中心" in j.nodes[-1].context  # the city's hub on to the district's sorting centre


@pytest.mark.parametrize("origin, dest, city, district, code", [
    ("广东省惠州市惠城区江北街道1号", "四川省成都市双流区西航港街道88号", "成都市", "双流区", "CN510116000000"),
    ("上海市浦东新区张江路1号", "浙江省温州市鹿城区五马街1号", "温州市", "鹿城区", "CN330302000000"),
    ("北京市朝阳区建国路88号", "北京市海淀区中关村大街1号", "北京市", "海淀区", "CN110108000000"),
])
def test_routes_follow_the_orders_origin_and_destination(origin, dest, city, district, code):
    j = build_journey("SF7000000001", "shunfeng", seed=3, start=START, scenario="normal",
                      origin_text=origin, dest_text=dest)
    assert j.origin.city in origin and (j.dest.city, j.dest.district, j.dest.area_code) == (city, district, code)
    first, last = j.nodes[0], j.nodes[-1]
    assert first.city.city == j.origin.city and last.city.area_code == code
    assert f"{city}{district}" in j.nodes[-2].context  # the delivery outlet is in the destination district


def test_a_query_with_from_and_to_routes_the_journey_there(sandbox):
    """Kuaidi100's query takes `from`/`to` (province/city/district text): the sandbox's journey follows them."""
    sandbox.app.clock.set(START + timedelta(days=8), 0.0)
    form = k.build_query("yuantong", "YT7000000077", customer=sandbox.customer, key=sandbox.key,
                         from_="广东省惠州市惠城区", to="四川省成都市双流区")
    body = requests.post(sandbox.base_url + k.QUERY_PATH, data=form).json()
    assert body["routeInfo"]["from"]["name"].startswith("广东,惠州市")
    assert body["routeInfo"]["to"]["name"] == "四川,成都市,双流区"
    assert any("成都市双流区" in d["context"] for d in body["data"])
