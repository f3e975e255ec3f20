"""=TRACK speed: 10,000 calls against a store of 100,000 waybills, beside a bare SQLite primary-key loop.

Run: .venv/bin/python bench/bench_udf.py   (goal: at least 20,000 TRACK calls/s)
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WAYBILLS = 100_000
CALLS = 10_000


def build(desk: Path) -> list[str]:
    state = desk / ".xl-logistics"
    state.mkdir(parents=True)
    conn = sqlite3.connect(state / "state.sqlite3")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE waybill_status(waybill_no TEXT PRIMARY KEY, carrier_code TEXT, status TEXT, "
                 "sub_status TEXT, status_zh TEXT, last_time TEXT, last_context TEXT, expected_delivery TEXT, "
                 "updated_at TEXT)")
    numbers = [f"SF{1000000000000 + i * 7919}" for i in range(WAYBILLS)]
    conn.executemany("INSERT INTO waybill_status VALUES (?,?,?,?,?,?,?,?,?)",
                     [(n, "SF", "InTransit", "InTransit_Other", "运输中", "2026-11-27T06:05:00+00:00",
                       "【杭州转运中心】已到达", "2026-11-29", None) for n in numbers])
    conn.commit()
    conn.close()
    return numbers


def main() -> None:
    import xl_addin.udfs as udfs

    with tempfile.TemporaryDirectory() as tmp:
        desk = Path(tmp)
        numbers = build(desk)
        sample = random.Random(7).sample(numbers, CALLS)
        udfs.track(sample[0], desk)  # warm: open the connection once, as Excel's process does

        conn = sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3")
        start = time.perf_counter()
        for n in sample:
            conn.execute("SELECT * FROM waybill_status WHERE waybill_no = ?", (n,)).fetchone()
        bare = CALLS / (time.perf_counter() - start)

        start = time.perf_counter()
        for n in sample:
            udfs.track(n, desk)
        single = CALLS / (time.perf_counter() - start)

        start = time.perf_counter()
        for n in sample:  # Excel recalculates the same cells again: answers kept until the store changes
            udfs.track(n, desk)
        again = CALLS / (time.perf_counter() - start)

        from xl_addin.adapters.store.tracking_cache import reset
        reset()
        udfs.track(sample[0], desk)
        start = time.perf_counter()
        udfs.track([[n] for n in sample], desk)
        array = CALLS / (time.perf_counter() - start)
        reset()
        conn.close()
    print(f"store: {WAYBILLS:,} waybills; {CALLS:,} lookups")
    print(f"bare SQLite primary-key loop : {bare:>10,.0f} lookups/s")
    print(f"TRACK, one call per waybill  : {single:>10,.0f} calls/s  (goal ≥ 20,000)")
    print(f"TRACK again (recalculation)  : {again:>10,.0f} calls/s  (answers kept until the store changes)")
    print(f"TRACK over a 10,000-row range: {array:>10,.0f} waybills/s (one call)")


if __name__ == "__main__":
    main()
