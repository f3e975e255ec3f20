"""Store speed on SQLite and PostgreSQL, beside a raw bulk load of the same rows, in one run.

    .venv/bin/python bench/bench_store.py [--url postgresql://...] [--rows 20000]

The URL defaults to XL_LOGISTICS_TEST_POSTGRES_URL (scripts/postgres.sh prints one). Measures:
waybill allocation (reserve a block of 250 serials + register them, one transaction per block) and
tracking-event ingestion (TrackingStore.add_events, 100 events per push, one transaction per push);
the raw baseline inserts the same rows with executemany (SQLite) / COPY (PostgreSQL), no checks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xl_addin.adapters.store import open_store  # noqa: E402
from xl_addin.adapters.store.tracking import TrackingStore  # noqa: E402
from xl_addin.adapters.store.waybills import WaybillStore  # noqa: E402

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
DAY = date(2026, 11, 26)


def allocate(store, rows: int) -> float:
    ws = WaybillStore(store)
    t = time.perf_counter()
    for _ in range(0, rows, 250):
        with store.transaction():
            first = ws.reserve_serials("BN", DAY, 250)
            ws.register([(f"BN{s:06d}", "ZTO", None) for s in range(first, first + 250)], "allocated", "auto", None, T0)
    return rows / (time.perf_counter() - t)


def ingest(store, rows: int) -> float:
    from xl_addin.domain.tracking.events import TrackingEvent
    from xl_addin.domain.tracking.status import MainStatus

    events = [TrackingEvent(waybill_no=f"YT{i // 10:08d}", carrier_code="YTO", time=T0 + timedelta(minutes=i % 10),
                            context=f"到达第 {i % 10} 站", status=MainStatus.IN_TRANSIT, source="push")
              for i in range(rows)]
    ts = TrackingStore(store)
    t = time.perf_counter()
    for i in range(0, rows, 100):
        with store.transaction():
            ts.add_events(events[i:i + 100], T0)
    return rows / (time.perf_counter() - t)


def raw_load(store, rows: int) -> float:
    data = [(f"RW{i:08d}", "allocated", "auto", "ZTO", None, None, "t", "t") for i in range(rows)]
    t = time.perf_counter()
    if store.dialect == "postgresql":
        with store.conn.raw.cursor().copy("COPY waybill_registry (waybill_no, state, source, carrier_code, order_no, "
                                          "batch_id, registered_at, updated_at) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
    else:
        with store.transaction():
            store.conn.executemany("INSERT INTO waybill_registry VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    return rows / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("XL_LOGISTICS_TEST_POSTGRES_URL", ""))
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    stores = []
    tmp = tempfile.TemporaryDirectory()
    stores.append(("SQLite", open_store(Path(tmp.name) / "bench.sqlite3")))
    schema = None
    if args.url:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(args.url, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        stores.append(("PostgreSQL", open_store(f"{args.url}{'&' if '?' in args.url else '?'}"
                                                f"options=-csearch_path%3D{schema}")))
    print(f"{'store':<11} {'allocate/s':>12} {'events/s':>12} {'raw bulk rows/s':>16}   ({args.rows:,} rows each)")
    for name, store in stores:
        a, e, r = allocate(store, args.rows), ingest(store, args.rows), raw_load(store, args.rows)
        print(f"{name:<11} {a:>12,.0f} {e:>12,.0f} {r:>16,.0f}")
        store.close()
    if schema:
        with psycopg.connect(args.url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
