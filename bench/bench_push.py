"""1,000 signed pushes from 20 concurrent clients into the push receiver (waitress + SQLite ingestion).

Beside it, in the same run and on the same server stack: a minimal receiver that only answers the
success body. Checks no loss (every push acknowledged, every node stored) and no duplicate node,
with pushes arriving repeated and out of order (each waybill's journey is pushed as it grows, in
shuffled order). Usage: python bench/bench_push.py [PUSHES] [CLIENTS]
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from bench.harness import Figure, print_table  # noqa: E402
from xl_addin.adapters.store.waybills import Binding, WaybillStore  # noqa: E402
from xl_addin.bootstrap import load_desk, store_for  # noqa: E402
from xl_addin.config import DEFAULT_CONFIG_TEXT  # noqa: E402
from xl_addin.receiver.app import CallbackApp  # noqa: E402
from xl_addin.receiver.server import serve_app, serve_receiver  # noqa: E402
from xl_addin.services.desk_setup import init_desk  # noqa: E402
from xl_addin.services.push import PushVerdict  # noqa: E402

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)
SALT = "bench-salt"
PER_WAYBILL = 4
CONTEXTS = ["【杭州市西湖区网点】 已揽收", "【杭州转运中心】 已发出 下一站 【南京转运中心】",
            "【南京转运中心】 已收入", "【南京转运中心】 已发出 下一站 【成都转运中心】"]
CODES = ["103", "1002", "1002", "1002"]


def forms(n_pushes: int) -> list[dict]:
    """Each waybill pushed PER_WAYBILL times as its journey grows (1, 2, 3, 4 nodes), shuffled."""
    out = []
    for w in range(n_pushes // PER_WAYBILL):
        for k in range(1, PER_WAYBILL + 1):
            items = []
            for j in range(k):
                t = (NOW + timedelta(hours=j)).strftime("%Y-%m-%d %H:%M:%S")
                items.append({"time": t, "ftime": t, "context": CONTEXTS[j], "location": "", "statusCode": CODES[j]})
            doc = {"status": "polling", "message": "", "lastResult": {
                "message": "ok", "nu": f"BP{w:010d}", "com": "zhongtong", "status": "200", "ischeck": "0",
                "state": CODES[k - 1], "data": items[::-1]}}
            param = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            out.append({"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest().upper()})
    random.Random(7).shuffle(out)
    return out


def fire(url: str, payloads: list[dict], clients: int) -> tuple[float, list[float], int]:
    """(seconds, per-request latencies in ms, acknowledged count)."""
    ack = '{"result":true,"returnCode":"200","message":"成功"}'
    sessions = [requests.Session() for _ in range(clients)]

    def one(i: int) -> tuple[float, bool]:
        t0 = time.perf_counter()
        r = sessions[i % clients].post(url, data=payloads[i], timeout=20)
        return (time.perf_counter() - t0) * 1000, r.status_code == 200 and r.text == ack

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(len(payloads))))
    return time.perf_counter() - started, [ms for ms, _ in results], sum(ok for _, ok in results)


def p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        init_desk(tmp / "desk", NOW, config_text=DEFAULT_CONFIG_TEXT)
        desk = load_desk(tmp / "desk")
        waybills = n // PER_WAYBILL
        with store_for(desk) as st, st.transaction():
            WaybillStore(st).insert_bindings([
                Binding(order_no=f"BO{i:06d}", waybill_no=f"BP{i:010d}", carrier="中通", carrier_code="ZTO",
                        source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统") for i in range(waybills)])
        payloads = forms(n)

        minimal = serve_app(CallbackApp(lambda form: PushVerdict("ingested", True)), threads=8)
        try:
            fire(minimal.url + "/kuaidi100/callback", payloads[:50], clients)  # warm up
            base_s, base_lat, base_ok = fire(minimal.url + "/kuaidi100/callback", payloads, clients)
        finally:
            minimal.stop()

        rx = serve_receiver(desk, clock=lambda: NOW + timedelta(days=1), env={"KUAIDI100_SALT": SALT},
                            threads=8, send_interval=3600, access_log=False, notify=False)
        try:
            ours_s, ours_lat, ours_ok = fire(rx.url + "/kuaidi100/callback", payloads, clients)
        finally:
            rx.stop()
        with store_for(desk) as st:
            events = st.conn.execute("SELECT COUNT(*), COUNT(DISTINCT event_key) FROM tracking_events").fetchone()
        expected = waybills * PER_WAYBILL
        print(f"{n} pushes, {clients} concurrent clients, {waybills} waybills × {PER_WAYBILL} growing pushes (shuffled)")
        print(f"acknowledged: ours {ours_ok}/{n}, minimal {base_ok}/{n}; nodes stored {events[0]} "
              f"(distinct {events[1]}, expected {expected})")
        print_table([
            Figure("pushes per second", "/s", round(n / ours_s, 1), round(n / base_s, 1), "minimal receiver"),
            Figure("p99 latency", "ms", round(p99(ours_lat), 1), round(p99(base_lat), 1), "minimal receiver",
                   max_value=20000),
            Figure("acknowledged", "pushes", ours_ok, n, "sent", equal=True),
            Figure("nodes stored (no loss, no duplicate)", "nodes", events[0], expected, "expected", equal=True),
        ], title="push receiver")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
