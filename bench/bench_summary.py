"""Weekly summary over a store with 1,000,000 tracking events and 100,000 waybills, beside a plain
pandas groupby over the same events loaded from the same store (same run). Floor: ours within 3×.

    .venv/bin/python -m bench.bench_summary [--waybills 100000] [--events-per 10] [--store PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 5, tzinfo=TZ)          # ten weeks of traffic ending in 2026-W48
CARRIERS = [("shunfeng", "顺丰"), ("zhongtong", "中通"), ("yuantong", "圆通"), ("jd", "京东物流"), ("yunda", "韵达")]


def build(path: Path, waybills: int, per: int, seed: int = 7) -> None:
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.adapters.store.store import open_store, utc_iso

    rnd = random.Random(seed)
    store = open_store(path)
    span = (datetime(2026, 11, 30, tzinfo=TZ) - START).total_seconds()
    b_rows, s_rows, e_rows, o_rows = [], [], [], []
    cases = []
    for i in range(waybills):
        w, o = f"W{i:07d}", f"O{i:07d}"
        code, name = CARRIERS[i % len(CARRIERS)]
        bound = START + timedelta(seconds=rnd.random() * span)
        o_rows.append((o, "confirmed", "ok", utc_iso(bound - timedelta(hours=2)), utc_iso(bound - timedelta(hours=1)),
                       utc_iso(bound)))
        b_rows.append((o, w, name, code, "auto", utc_iso(bound), "系统"))
        t = bound + timedelta(hours=rnd.uniform(2, 12))
        hours = rnd.uniform(24, 120)
        delivered = t + timedelta(hours=hours)
        for k in range(per):
            when = t + timedelta(hours=hours * k / (per - 1))
            status = "InTransit" if k < per - 1 else "Delivered"
            e_rows.append((f"{w}-{k}", w, code, utc_iso(when), "到达某网点", status, status + "_Other", "query",
                           utc_iso(when)))
        expected = (bound + timedelta(days=3)).astimezone(TZ).date().isoformat()
        s_rows.append((w, o, code, "Delivered", utc_iso(delivered), expected, 1, utc_iso(delivered)))
        if i % 50 == 0:
            cases.append({"case_id": f"C{i:07d}", "order_no": o, "waybill_no": w, "carrier_code": code,
                          "type": rnd.choice(["延误", "丢件", "破损", "信息错误", "其他"]), "severity": "中",
                          "found_at": t + timedelta(hours=30), "submitted_at": t + timedelta(hours=30, minutes=rnd.randint(5, 50)),
                          "cause": rnd.choice(["暴雨", "漏揽", "分拨积压"]), "responsible_party": "物流商",
                          "case_status": "处理中", "source": "anomaly"})
    with store.transaction():
        c = store.conn
        c.executemany("INSERT INTO orders (order_no, status, check_status, checked_at, confirmed_at, updated_at) "
                      "VALUES (?,?,?,?,?,?)", o_rows)
        c.executemany("INSERT INTO bindings (order_no, waybill_no, carrier, carrier_code, source, bound_at, bound_by) "
                      "VALUES (?,?,?,?,?,?,?)", b_rows)
        c.executemany("INSERT INTO waybill_status (waybill_no, order_no, carrier_code, status, final_at, "
                      "expected_delivery, is_final, updated_at) VALUES (?,?,?,?,?,?,?,?)", s_rows)
        c.executemany("INSERT INTO tracking_events (event_key, waybill_no, carrier_code, time, context, status, "
                      "sub_status, source, ingested_at) VALUES (?,?,?,?,?,?,?,?,?)", e_rows)
        cs = CaseStore(store)
        for case in cases:
            cs.insert(case, case["found_at"])
    store.conn.execute("ANALYZE")
    store.close()


def ours(path: str) -> dict:
    from xl_addin.adapters.store.store import open_store
    from xl_addin.services.closing.weekly_summary import weekly_summary

    with open_store(Path(path)) as store:
        data = weekly_summary(store, "2026-W48", tz=TZ)
    return {"delivered": data["overview"]["orders_delivered"], "median": data["overview"]["transit_median_hours"]}


def pandas_baseline(path: str) -> dict:
    """The plain way: load every event, group by waybill for first move and delivery, group by carrier."""
    import sqlite3

    import pandas as pd

    conn = sqlite3.connect(path)
    ev = pd.read_sql_query("SELECT waybill_no, carrier_code, time, status FROM tracking_events", conn)
    conn.close()
    ev["time"] = pd.to_datetime(ev["time"], utc=True)
    moving = ev[~ev["status"].isin(["NotFound", "InfoReceived", "Unknown"])]
    first = moving.groupby("waybill_no")["time"].min()
    done = ev[ev["status"] == "Delivered"].groupby(["waybill_no", "carrier_code"])["time"].max().reset_index()
    lo, hi = pd.Timestamp("2026-11-22T16:00Z"), pd.Timestamp("2026-11-29T16:00Z")
    done = done[(done["time"] >= lo) & (done["time"] < hi)]
    done["hours"] = (done["time"] - done["waybill_no"].map(first)).dt.total_seconds() / 3600
    per = done.groupby("carrier_code")["hours"].agg(["count", "median"])
    return {"delivered": int(per["count"].sum()), "median": round(float(done["hours"].median()), 2)}


def main(argv: list[str] | None = None) -> int:
    from bench.harness import measure

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--waybills", type=int, default=100_000)
    ap.add_argument("--events-per", type=int, default=10)
    ap.add_argument("--store", type=Path, default=None, help="reuse or create the store here")
    args = ap.parse_args(argv)
    path = args.store or Path(tempfile.mkdtemp()) / "bench.sqlite3"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, args.waybills, args.events_per)
        print(f"built {args.waybills:,} waybills, {args.waybills * args.events_per:,} events in "
              f"{time.perf_counter() - t0:.1f} s: {path}", file=sys.stderr)
    base = measure(pandas_baseline, str(path))
    our = measure(ours, str(path))
    ratio = our.seconds / base.seconds
    print(f"weekly summary (ours):       {our.seconds:7.2f} s  peak {our.peak_rss_mb:6.0f} MB  {our.result}")
    print(f"pandas groupby (baseline):   {base.seconds:7.2f} s  peak {base.peak_rss_mb:6.0f} MB  {base.result}")
    print(f"ours / baseline: {ratio:.2f}×  (floor ≤ 3×: {'yes' if ratio <= 3 else 'no'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
