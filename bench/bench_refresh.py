"""Refresh 5,000 due waybills against the sandbox (50 ms latency) at 100 requests/s.

Prints our wall time beside the floor N / rate measured in the same run, and checks that a second
run queries nothing (final or recently checked waybills) and that the sandbox counted no
frequency-rule violation.

The sandbox stands in for a remote service, so it runs in its own process (its CPU work would
otherwise compete with ours for one interpreter lock); ``--in-process`` puts it back in ours.
Usage: python bench/bench_refresh.py [N] [RATE] [--in-process]
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xl_addin.adapters.store.waybills import Binding, WaybillStore  # noqa: E402
from xl_addin.bootstrap import load_desk, store_for  # noqa: E402
from xl_addin.config import DEFAULT_CONFIG_TEXT  # noqa: E402
from xl_addin.services.desk.setup import init_desk  # noqa: E402
from xl_addin.services.tracking import refresh  # noqa: E402

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)
CARRIERS = ("yuantong", "yunda", "shentong", "jd")
LATENCY_MS = 50


def _pin_all(app, n: int) -> None:
    """Half of the waybills are delivered already: 'normal' journeys shipped 5 days ago."""
    for i in range(n):
        old = i % 2 == 0
        app.pin(f"BN{i:010d}", CARRIERS[i % 4], scenario="normal",
                shipped_at=(NOW - timedelta(days=5 if old else 0, hours=4)).isoformat())


def _serve_child(n: int, conn) -> None:
    """Child process: serve the sandbox until the parent says stop."""
    from xl_addin.sandbox import serve_sandbox

    sb = serve_sandbox(start=NOW, speed=0.0, seed=3, threads=16, faults={"latency_ms": LATENCY_MS})
    _pin_all(sb.app, n)
    conn.send(sb.base_url)
    conn.recv()
    sb.stop()


class _RemoteSandbox:
    """The sandbox in another process, driven through its control endpoints."""

    def __init__(self, n: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_child, args=(n, child), daemon=True)
        self._proc.start()
        while not self._conn.poll(1.0):
            if not self._proc.is_alive():
                raise SystemExit(f"sandbox process ended early (exit code {self._proc.exitcode})")
        self.base_url = self._conn.recv()

    def _call(self, what: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}/_sandbox/{what}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict:
        return self._call("stats")

    def set_clock(self, when: datetime) -> None:
        self._call("clock", {"set": when.isoformat(), "speed": 0.0})

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(timeout=10)


class _LocalSandbox:
    def __init__(self, n: int) -> None:
        from xl_addin.sandbox import serve_sandbox

        self._sb = serve_sandbox(start=NOW, speed=0.0, seed=3, threads=16, faults={"latency_ms": LATENCY_MS})
        _pin_all(self._sb.app, n)
        self.base_url = self._sb.base_url

    def stats(self) -> dict:
        return json.loads(json.dumps(self._sb.app.stats))

    def set_clock(self, when: datetime) -> None:
        self._sb.app.clock.set(when, 0.0)

    def stop(self) -> None:
        self._sb.stop()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 5000
    rate = float(args[1]) if len(args) > 1 else 100.0
    in_process = "--in-process" in sys.argv
    root = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    sb = _LocalSandbox(n) if in_process else _RemoteSandbox(n)
    try:
        os.environ["KUAIDI100_BASE_URL"] = sb.base_url
        cfg = (DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1)
               .replace("requests_per_second = 1.0", f"requests_per_second = {rate}")
               .replace("concurrency = 4", "concurrency = 12"))
        init_desk(root, NOW, config_text=cfg)
        desk = load_desk(root)
        with store_for(desk) as st, st.transaction():
            WaybillStore(st).insert_bindings([
                Binding(order_no=f"B{i:06d}", waybill_no=f"BN{i:010d}", carrier="圆通", carrier_code=CARRIERS[i % 4],
                        source="auto", bound_at=NOW - timedelta(hours=6), bound_by="系统") for i in range(n)])

        t0 = time.monotonic()
        r1 = refresh(desk, NOW)
        wall = time.monotonic() - t0
        floor = r1.queried / rate
        q_before = sb.stats()["served_queries"]
        with store_for(desk) as st:
            finals = st.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE is_final = 1").fetchone()[0]
        # 40 minutes later: finals and recently checked waybills must not be queried
        later = NOW + timedelta(minutes=40)
        sb.set_clock(later)
        r2 = refresh(desk, later)
        stats = sb.stats()
        print(f"sandbox:                 {'in this process' if in_process else 'own process'}, "
              f"{LATENCY_MS} ms latency; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"waybills due:            {n}")
        print(f"queried (run 1):         {r1.queried}  (updated {r1.updated}, not found {r1.not_found}, failed {r1.failed})")
        print(f"floor N / rate:          {floor:.2f} s")
        print(f"our wall time:           {wall:.2f} s  ({wall / floor:.3f} x floor; query phase + store + anomalies + workbook)")
        print(f"  of which query phase:  {r1.query_seconds:.2f} s  ({r1.query_seconds / floor:.3f} x floor)")
        print(f"  after the last answer: {wall - r1.query_seconds:.2f} s  (setup, anomalies, notices, workbook)")
        print(f"final after run 1:       {finals}")
        print(f"queries in run 2 (+40m): {r2.queried}  (sandbox served {stats['served_queries'] - q_before})")
        print(f"sandbox violations:      {stats['violations']} "
              f"(30-min {stats['violations_30min']}, 48/day {stats['violations_48_per_day']})")
    finally:
        sb.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
