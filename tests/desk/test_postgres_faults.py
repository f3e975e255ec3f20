"""Fault tests on the shared PostgreSQL store (slow tier): the database restarts under a refresh run.

A desk whose ``[store] url`` names a fresh schema on the test server refreshes 120 waybills from the
sandbox over real HTTP (with latency, so the run takes a few seconds); the server is restarted with
scripts/postgres.sh while the answers are being stored. The run must fail with the store's clear
message (or finish), and a second run must finish the job: every due waybill asked, every node
stored exactly once, nothing the carrier reports missing.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import require_postgres
from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.errors import StoreError
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.tracking import refresh

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)
N = 120
CARRIERS = ("zhongtong", "yuantong")


def restart_server() -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "restart"], check=True, capture_output=True,
                   timeout=120)


def team_desk(root: Path, url: str):
    cfg = (DEFAULT_CONFIG_TEXT.replace("requests_per_second = 1.0", "requests_per_second = 200.0")
           .replace('[store]\nurl = ""', f'[store]\nurl = "{url}"', 1))
    assert f'url = "{url}"' in cfg
    init_desk(root, NOW, config_text=cfg)
    # must_exist=False: Desk.is_initialised() still asks for the SQLite file a team desk does not have
    desk = load_desk(root, must_exist=False)
    with store_for(desk) as st:
        assert st.dialect == "postgresql"
        with st.transaction():
            WaybillStore(st).insert_bindings([
                Binding(order_no=f"O{i:05d}", waybill_no=f"WB{i:08d}", carrier="中通", carrier_code=CARRIERS[i % 2],
                        source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统",
                        expected_delivery=(NOW + timedelta(days=3)).date()) for i in range(N)])
            OrderRecords(st).save([OrderRecord(order_no=f"O{i:05d}", status="allocated", check_status="ok",
                                               fields={"receiver_phone": "138 0013 8000"}) for i in range(N)], NOW)
    return desk


def test_a_server_restart_during_refresh_fails_clearly_then_the_next_run_completes_without_duplicates(
        tmp_path, pg_schema_url):
    require_postgres()
    if not os.environ.get("XL_LOGISTICS_TEST_POSTGRES_OWNED"):
        pytest.skip("the server was not started by scripts/postgres.sh, so this test may not restart it")
    url = pg_schema_url()
    sb = serve_sandbox(start=NOW, speed=0.0, seed=3, faults={"latency_ms": 80})
    try:
        for i in range(N):
            sb.app.pin(f"WB{i:08d}", CARRIERS[i % 2], scenario="normal", phone="13800138000",
                       shipped_at=(NOW - timedelta(hours=2)).isoformat())
        desk = team_desk(tmp_path / "desk", url)

        def client():
            return Kuaidi100Client(sb.base_url, sb.customer, sb.key, tz=CN, retries=0)

        outcome: dict = {}

        def first_run():
            try:
                outcome["result"] = refresh(desk, NOW, client_factory=client)
            except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
                outcome["error"] = exc

        runner = threading.Thread(target=first_run)
        runner.start()
        deadline = time.monotonic() + 60
        while sb.app.stats["served_queries"] < N // 3 and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runner.is_alive(), f"the run ended before the restart: {outcome}"
        restart_server()
        runner.join(timeout=120)
        assert not runner.is_alive()
        asked_first = sb.app.stats["served_queries"]

        # 1. the interrupted run failed with the store's own message, or finished after all
        error = outcome.get("error")
        if error is not None:
            assert isinstance(error, StoreError), repr(error)
            assert "PostgreSQL" in str(error) and "不会丢失也不会重复" in error.hint
        else:
            assert outcome["result"].queried == N

        # 2. the next runs (the server is back; the pool reconnects) complete the job. At once, the
        #    waybills never asked are asked; those whose query was sent (its attempt is recorded before
        #    sending) but whose answer was not stored are held back by the provider's 30-minute rule and
        #    reported as such, and asked by the run after that
        again = refresh(desk, NOW, client_factory=client)
        with store_for(desk) as st:
            held = st.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE last_checked_at IS NULL").fetchone()[0]
        assert again.skipped_by_rule == held
        if error is not None:
            assert again.resumed_from is not None  # the broken run is seen and taken over
        later = refresh(desk, NOW + timedelta(minutes=31), client_factory=client)
        assert later.skipped_by_rule == 0 and later.queried == held
        with store_for(desk) as st:
            unchecked = st.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE last_checked_at IS NULL"
                                        ).fetchone()[0]
            events, keys, distinct_nodes = st.conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT event_key), COUNT(DISTINCT waybill_no || '|' || time || '|' || context) "
                "FROM tracking_events").fetchone()
            runs = st.conn.execute("SELECT state FROM tracking_runs ORDER BY id").fetchall()
            without_events = st.conn.execute(
                "SELECT COUNT(*) FROM waybill_status s WHERE NOT EXISTS "
                "(SELECT 1 FROM tracking_events e WHERE e.waybill_no = s.waybill_no)").fetchone()[0]
        assert unchecked == 0  # every due waybill was asked and its answer stored
        assert without_events == 0
        assert events == keys == distinct_nodes > 0  # each node stored once
        assert runs[-1][0] == "done"
        # only the queries in flight when the server went down were asked twice
        assert asked_first + again.queried + later.queried <= N + 64
        assert sb.app.stats["served_queries"] >= N

        # 3. nothing the carrier reports is missing: asking everything again adds no node
        final = refresh(desk, NOW + timedelta(hours=2, minutes=32), client_factory=client)
        assert final.queried == N and final.new_events == 0
        with store_for(desk) as st:
            assert st.conn.execute("SELECT COUNT(*) FROM tracking_events").fetchone()[0] == events
    finally:
        sb.stop()
