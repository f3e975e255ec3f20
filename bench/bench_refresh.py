"""Refresh 5,000 due waybills against the sandbox (50 ms latency) at 100 requests/s.

Prints our wall time beside the floor N / rate measured in the same run, and checks that a second
run queries nothing (final or recently checked waybills) and that the sandbox counted no
frequency-rule violation. Usage: python bench/bench_refresh.py [N] [RATE]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xl_addin.adapters.store.waybills import Binding, WaybillStore  # noqa: E402
from xl_addin.bootstrap import load_desk, store_for  # noqa: E402
from xl_addin.config import DEFAULT_CONFIG_TEXT  # noqa: E402
from xl_addin.sandbox import serve_sandbox  # noqa: E402
from xl_addin.services.desk_setup import init_desk  # noqa: E402
from xl_addin.services.tracking import refresh  # noqa: E402

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    root = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    try:
        import os

        sb = serve_sandbox(start=NOW, speed=0.0, seed=3, threads=16, faults={"latency_ms": 50})
        os.environ["KUAIDI100_BASE_URL"] = sb.base_url
        cfg = (DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1)
               .replace("requests_per_second = 1.0", f"requests_per_second = {rate}")
               .replace("concurrency = 4", "concurrency = 12"))
        init_desk(root, NOW, config_text=cfg)
        desk = load_desk(root)
        carriers = ("yuantong", "yunda", "shentong", "jd")
        with store_for(desk) as st, st.transaction():
            WaybillStore(st).insert_bindings([
                Binding(order_no=f"B{i:06d}", waybill_no=f"BN{i:010d}", carrier="圆通", carrier_code=carriers[i % 4],
                        source="auto", bound_at=NOW - timedelta(hours=6), bound_by="系统") for i in range(n)])
        # half of them are delivered already: 'normal' journeys shipped 5 days ago
        for i in range(n):
            old = i % 2 == 0
            sb.app.pin(f"BN{i:010d}", carriers[i % 4], scenario="normal",
                       shipped_at=(NOW - timedelta(days=5 if old else 0, hours=4)).isoformat())

        t0 = time.monotonic()
        r1 = refresh(desk, NOW)
        wall = time.monotonic() - t0
        floor = r1.queried / rate
        q_before = sb.app.stats["served_queries"]
        with store_for(desk) as st:
            finals = st.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE is_final = 1").fetchone()[0]
        # 40 minutes later: finals and recently checked waybills must not be queried
        later = NOW + timedelta(minutes=40)
        sb.app.clock.set(later, 0.0)
        r2 = refresh(desk, later)
        print(f"waybills due:            {n}")
        print(f"queried (run 1):         {r1.queried}  (updated {r1.updated}, not found {r1.not_found}, failed {r1.failed})")
        print(f"floor N / rate:          {floor:.2f} s")
        print(f"our wall time:           {wall:.2f} s  ({wall / floor:.3f} x floor; query phase + store + anomalies + workbook)")
        print(f"  of which query phase:  {r1.query_seconds:.2f} s  ({r1.query_seconds / floor:.3f} x floor)")
        print(f"final after run 1:       {finals}")
        print(f"queries in run 2 (+40m): {r2.queried}  (sandbox served {sb.app.stats['served_queries'] - q_before})")
        print(f"sandbox violations:      {sb.app.stats['violations']} "
              f"(30-min {sb.app.stats['violations_30min']}, 48/day {sb.app.stats['violations_48_per_day']})")
        sb.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
