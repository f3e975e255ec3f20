"""A desk with ``n`` bound waybills tracked through the sandbox, the sandbox's answers pinned for them, and the
``refresh`` command line run as a real subprocess: shared by the refresh tests and the refresh kill tests."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.services.desk.setup import init_desk

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)
ROOT = Path(__file__).resolve().parents[2]


def make_desk(root: Path, n: int, *, rate: float = 200.0, concurrency: int = 8, carriers=("zhongtong", "yuantong")):
    cfg = (DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1)
           .replace("requests_per_second = 1.0", f"requests_per_second = {rate}")
           .replace("concurrency = 4", f"concurrency = {concurrency}"))
    init_desk(root, NOW, config_text=cfg)
    desk = load_desk(root)
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([
            Binding(order_no=f"O{i:05d}", waybill_no=f"WB{i:08d}", carrier="中通", carrier_code=carriers[i % len(carriers)],
                    source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统",
                    expected_delivery=(NOW + timedelta(days=3)).date()) for i in range(n)])
        OrderRecords(st).save([OrderRecord(order_no=f"O{i:05d}", status="allocated", check_status="ok",
                                           fields={"receiver_phone": "138 0013 8000"}) for i in range(n)], NOW)
    return desk


def pin_all(sb, n, scenario="normal", carriers=("zhongtong", "yuantong")):
    for i in range(n):
        sb.app.pin(f"WB{i:08d}", carriers[i % len(carriers)], scenario=scenario, phone="13800138000",
                   shipped_at=(NOW - timedelta(hours=2)).isoformat())


def refresh_cli(desk, *args, env):
    """The command line and environment that run ``xl-logistics <args> --desk <desk>`` in a fresh interpreter."""
    code = ("import sys; import xl_addin.entrypoints.tracking_commands; "
            "from xl_addin.entrypoints.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, *args, "--desk", str(desk.root)], {**os.environ, **env, "PYTHONPATH": str(ROOT)}
