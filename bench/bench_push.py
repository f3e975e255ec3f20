"""1,000 signed pushes from 1, 20 and 50 concurrent senders into the push receiver (waitress + SQLite, group
commit through one writer).

Beside it, in the same run and on the same server stack: a minimal receiver that only answers the success
body. The senders run in a process of their own (the same way for both receivers), so each receiver has its
process to itself; the CPU each receiving process (and the senders) spent per push is printed too. Checks no
loss (every push acknowledged, every node stored) and no duplicate node, with pushes arriving repeated and
out of order (each waybill's journey is pushed as it grows, in shuffled order). Also counts unanswered
requests (no answer within Kuaidi100's 20 s) and checks that every acknowledged push's nodes are in the
store.
Usage: python bench/bench_push.py [PUSHES] [SENDERS,SENDERS,...] [WAITRESS_THREADS]
(XL_LOGISTICS_PUSH_WRITER=thread measures the in-process writer thread instead of the writer process.)
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from xl_addin.services.desk.setup import init_desk  # noqa: E402
from xl_addin.services.push.service import WRITER_ENV, PushVerdict  # noqa: E402

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


def _fire_in_this_process(url: str, payloads: list[dict], clients: int) -> tuple[float, list[float], list[bool], int]:
    """(seconds, latencies in ms of answered requests, acknowledged per payload, unanswered count)."""
    ack = '{"result":true,"returnCode":"200","message":"成功"}'
    sessions = [requests.Session() for _ in range(clients)]

    def one(i: int) -> tuple[float | None, bool]:
        t0 = time.perf_counter()
        try:
            r = sessions[i % clients].post(url, data=payloads[i], timeout=20)  # Kuaidi100's 20 s
        except requests.RequestException:
            return None, False
        return (time.perf_counter() - t0) * 1000, r.status_code == 200 and r.text == ack

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(len(payloads))))
    lat = [ms for ms, _ in results if ms is not None]
    return time.perf_counter() - started, lat, [ok for _, ok in results], sum(ms is None for ms, _ in results)


def _sender_child(conn, url: str, payloads: list[dict], clients: int) -> None:
    cpu0 = time.process_time()
    out = _fire_in_this_process(url, payloads, clients)
    conn.send(out + (round((time.process_time() - cpu0) * 1000 / len(payloads), 3),))
    conn.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def fire(url: str, payloads: list[dict], clients: int, watch: tuple[int, ...] = ()) -> Shot:
    """The senders run in their own process (spawned, one ``requests`` session per sender thread), so the
    receiver under test has its process to itself — the same for ours and for the minimal receiver."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sender_child, args=(theirs, url, payloads, clients), name="bench-senders")
    cpu0 = [_cpu_s(pid) for pid in watch]
    proc.start()
    theirs.close()
    try:
        seconds, lat, ok, unanswered, senders_cpu = ours.recv()
    finally:
        proc.join(30)
    cpu = [round((_cpu_s(pid) - c0) * 1000 / len(payloads), 3) for pid, c0 in zip(watch, cpu0)]
    return Shot(seconds, lat, ok, unanswered, cpu, senders_cpu)


@dataclass
class Shot:
    seconds: float
    lat: list[float]
    ok: list[bool]
    unanswered: int
    cpu_ms: list[float]  # CPU ms per push of each watched process (receiver, writer child)
    senders_cpu_ms: float  # CPU ms per push of the senders' process


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def p99(values: list[float]) -> float:
    return pct(values, 0.99)


def run_level(tmp: Path, n: int, clients: int, threads: int) -> list[Figure]:
    root = tmp / f"desk-{clients}"
    init_desk(root, NOW, config_text=DEFAULT_CONFIG_TEXT)
    desk = load_desk(root)
    waybills = n // PER_WAYBILL
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([
            Binding(order_no=f"BO{i:06d}", waybill_no=f"BP{i:010d}", carrier="中通", carrier_code="ZTO",
                    source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统") for i in range(waybills)])
    payloads = forms(n)
    url = "/kuaidi100/callback"

    minimal = serve_app(CallbackApp(lambda form: PushVerdict("ingested", True)), threads=threads)
    try:
        fire(minimal.url + url, payloads[:50], clients)  # warm up
        base = fire(minimal.url + url, payloads, clients, watch=(os.getpid(),))
        base_s, base_lat, base_ok, base_lost = base.seconds, base.lat, base.ok, base.unanswered
    finally:
        minimal.stop()

    rx = serve_receiver(desk, clock=lambda: NOW + timedelta(days=1),
                        env={"KUAIDI100_SALT": SALT, WRITER_ENV: os.environ.get(WRITER_ENV, "process")},
                        threads=threads, send_interval=3600, access_log=False, notify=False)
    try:
        writer = rx.service._push_writer
        child = getattr(getattr(writer, "_proc", None), "pid", None)
        shot = fire(rx.url + url, payloads, clients, watch=(os.getpid(),) + ((child,) if child else ()))
        ours_s, ours_lat, ours_ok, ours_lost = shot.seconds, shot.lat, shot.ok, shot.unanswered
        batches = (writer.batches, writer.largest_batch) if writer else (0, 0)
    finally:
        rx.stop()
    # every acknowledged push's nodes are stored: per waybill, at least as many nodes as the longest acked push
    need: dict[str, int] = {}
    for form, ok in zip(payloads, ours_ok):
        if ok:
            last = json.loads(form["param"])["lastResult"]
            need[last["nu"]] = max(need.get(last["nu"], 0), len(last["data"]))
    with store_for(desk) as st:
        events = st.conn.execute("SELECT COUNT(*), COUNT(DISTINCT event_key) FROM tracking_events").fetchone()
        have = dict(st.conn.execute("SELECT waybill_no, COUNT(*) FROM tracking_events GROUP BY waybill_no").fetchall())
    acked_missing = sum(1 for w, k in need.items() if have.get(w, 0) < k)
    acked = sum(ours_ok)
    print(f"\n{clients} concurrent senders, {n} pushes ({waybills} waybills × {PER_WAYBILL} growing pushes, shuffled), "
          f"waitress threads {threads}; writer {rx.service.writer_mode}, batches {batches[0]} (largest {batches[1]})")
    print(f"  ours:    {n / ours_s:7.1f}/s  p50 {pct(ours_lat, .5):7.1f} ms  p99 {p99(ours_lat):7.1f} ms  "
          f"acked {acked}/{n}  unanswered {ours_lost}")
    print(f"  minimal: {n / base_s:7.1f}/s  p50 {pct(base_lat, .5):7.1f} ms  p99 {p99(base_lat):7.1f} ms  "
          f"acked {sum(base_ok)}/{n}  unanswered {base_lost}")
    print(f"  CPU per push: receiving process ours {shot.cpu_ms[0]:.3f} ms"
          + (f" + writer process {shot.cpu_ms[1]:.3f} ms" if len(shot.cpu_ms) > 1 else "")
          + f", minimal {base.cpu_ms[0]:.3f} ms; senders {shot.senders_cpu_ms:.3f} / {base.senders_cpu_ms:.3f} ms;"
          f" load average {os.getloadavg()[0]:.2f}")
    print(f"  nodes stored {events[0]} (distinct {events[1]}); waybills with an acknowledged push whose nodes "
          f"are missing: {acked_missing}")
    return [
        Figure(f"{clients} senders: pushes per second", "/s", round(n / ours_s, 1), round(n / base_s, 1),
               "minimal receiver"),
        Figure(f"{clients} senders: time for all pushes (rate ≥ 0.8×)", "s", round(ours_s, 2), round(base_s, 2),
               "minimal receiver", max_ratio=1.25),
        Figure(f"{clients} senders: p99 latency", "ms", round(p99(ours_lat), 1), round(p99(base_lat), 1),
               "minimal receiver", max_ratio=2.0, max_value=20000),
        Figure(f"{clients} senders: unanswered", "pushes", ours_lost, base_lost, "minimal receiver"),
        Figure(f"{clients} senders: acknowledged", "pushes", acked, n, "sent", equal=True),
        Figure(f"{clients} senders: acked but not stored", "waybills", acked_missing, 0, "none", equal=True),
        Figure(f"{clients} senders: duplicate nodes", "nodes", events[0] - events[1], 0, "none", equal=True),
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    levels = [int(c) for c in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 20, 50]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 32  # xl-logistics serve's default
    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        figures: list[Figure] = []
        for clients in levels:
            figures += run_level(tmp, n, clients, threads)
        print()
        print_table(figures, title="push receiver")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
