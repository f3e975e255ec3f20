"""Shared by the Excel tier: a runner for scripts that must load xlwings as on Windows in a process of
their own, and a desk whose store was built by the real migrations and filled by the tracking store's
own writes (``tracked_desk``, a fixture: import it into the test module). Not a conftest.py: the
tests folder has one already, and two modules named conftest would shadow each other."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
TRACKED = "SF1234567890123"


def run_windows_like(script_args, stdin="", env_extra=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    env.pop("XL_LOGISTICS_DESK", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *script_args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=HERE)


@pytest.fixture(scope="session")
def tracked_desk(tmp_path_factory):
    """A desk with one waybill tracked through the tracking store's own writes (06:00 UTC = 14:00 China time)."""
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.domain.tracking.events import TrackingEvent
    from xl_addin.domain.tracking.status import MainStatus, SubStatus
    from xl_addin.services.desk.setup import init_desk

    root = tmp_path_factory.mktemp("desk")
    init_desk(root, NOW)
    d = load_desk(root)
    with store_for(d) as store:  # the real migrations
        tracking = TrackingStore(store)
        with store.transaction():
            tracking.register([{"waybill_no": TRACKED, "carrier_code": "SF", "expected_delivery": "2026-11-29"}], NOW)
            events = [TrackingEvent(TRACKED, "SF", NOW - timedelta(hours=20), "顺丰速运 已收取快件", MainStatus.IN_TRANSIT,
                                    SubStatus.IN_TRANSIT_PICKED_UP),
                      TrackingEvent(TRACKED, "SF", NOW - timedelta(hours=2), "【杭州转运中心】已到达", MainStatus.IN_TRANSIT,
                                    SubStatus.IN_TRANSIT_OTHER)]
            tracking.add_events(events, NOW)
            tracking.refresh_status(TRACKED, events, NOW)
    return root
