"""Benchmark: 100,000 waybill allocations in one batch beside the raw SQLite insert rate of the same rows.

Run: .venv/bin/python bench/bench_allocate.py [N]   (prints timings; asserts nothing about speed)
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import WaybillStore, _row
from xl_addin.services.waybills import WaybillPolicy, allocate

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))
PROVINCES = ("浙江省", "江苏省", "广东省", "北京市", "新疆维吾尔自治区", "四川省")


def main(n: int = 100_000) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-allocate-"))
    store = open_store(folder / "state.sqlite3")
    with store.transaction():
        OrderRecords(store).save([OrderRecord(
            order_no=f"SO{i:07d}", status="confirmed", check_status="ok",
            fields={"weight_kg": 1 + i % 9, "preferred_carrier": "顺丰" if i % 10 == 0 else None,
                    "normalized": {"province": PROVINCES[i % len(PROVINCES)],
                                   "tags": ["冷链"] if i % 17 == 0 else ["加急"] if i % 11 == 0 else []}})
            for i in range(n)], T0)

    t = time.perf_counter()
    report = allocate(store, T0, policy=WaybillPolicy())
    ours = time.perf_counter() - t
    assert len(report.bindings) == n and not report.problems

    rows = [_row(b) for b in WaybillStore(store).all_current()]
    raw = sqlite3.connect(str(folder / "raw.sqlite3"), isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(f"CREATE TABLE bindings_raw ({', '.join(f'c{i}' for i in range(len(rows[0])))})")
    t = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(f"INSERT INTO bindings_raw VALUES ({', '.join('?' * len(rows[0]))})", rows)
    raw.execute("COMMIT")
    bare = time.perf_counter() - t
    raw.close()
    store.close()
    print(f"allocate (choose carrier, reserve block, register, bind, order status, audit): "
          f"{n:,} in {ours:.2f} s = {n / ours:,.0f}/s")
    print(f"raw SQLite executemany of the same {n:,} binding rows (no indexes, one transaction): "
          f"{bare:.2f} s = {n / bare:,.0f}/s")
    print(f"ratio: {ours / bare:.1f}x the raw insert time")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
