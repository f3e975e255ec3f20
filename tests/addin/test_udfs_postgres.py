"""Worksheet functions on a desk whose store is a shared PostgreSQL database (real server, no mocks).

The cache is seeded through the store's own API (``TrackingStore``), the functions are called as
Excel would call them, and a later change made by another connection must show within the recheck
interval. A server that cannot be reached is "#N/A" text, never an exception.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest

import xl_addin.udfs as udfs
from xl_addin.adapters.store import open_store, tracking_cache
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.config import CONFIG_FILENAME, DEFAULT_CONFIG_TEXT
from xl_addin.domain.tracking.events import TrackingEvent
from xl_addin.domain.tracking.status import MainStatus, SubStatus

NOW = datetime(2026, 11, 27, 6, 10, tzinfo=timezone.utc)
SF, YT = "SF1234567890123", "YT0000000001"


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(tracking_cache.DESK_ENV, raising=False)
    monkeypatch.delenv("XL_LOGISTICS_DATABASE_URL", raising=False)
    monkeypatch.setattr(tracking_cache, "RECHECK_SECONDS", 0.2)
    tracking_cache.reset()
    yield
    tracking_cache.reset()


def event(number: str, carrier: str, at: datetime, text: str, status: MainStatus, sub: SubStatus) -> TrackingEvent:
    return TrackingEvent(waybill_no=number, carrier_code=carrier, time=at, context=text, status=status,
                         sub_status=sub, source="query")


def add(url: str, events: list[TrackingEvent], now: datetime = NOW) -> None:
    """What a refresh run or the push receiver does: new nodes, then the latest-status cache."""
    with open_store(url) as store, store.transaction():
        ts = TrackingStore(store)
        ts.register([{"waybill_no": n, "carrier_code": c, "expected_delivery": date(2026, 11, 29),
                      "bound_at": NOW - timedelta(days=2)} for n, c in {(e.waybill_no, e.carrier_code)
                                                                       for e in events}], now)
        ts.add_events(events, now)
        for number in {e.waybill_no for e in events}:
            ts.refresh_status(number, ts.events_for(number), now)


@pytest.fixture
def team_desk(tmp_path, pg_schema_url):
    """A desk folder whose config names the shared store, seeded with two waybills."""
    url = pg_schema_url()
    open_store(url, upgrade=True).close()
    add(url, [
        event(SF, "SF", datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc), "顺丰速运 已收取快件",
              MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_PICKED_UP),
        event(SF, "SF", datetime(2026, 11, 27, 6, 5, tzinfo=timezone.utc), "【杭州转运中心】已到达",
              MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_OTHER),
        event(YT, "YTO", datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc), "已签收，签收人：本人",
              MainStatus.DELIVERED, SubStatus.DELIVERED_OTHER),
    ])
    cfg = DEFAULT_CONFIG_TEXT.replace('[store]\nurl = ""', f'[store]\nurl = "{url}"', 1)
    assert f'url = "{url}"' in cfg
    (tmp_path / CONFIG_FILENAME).write_text(cfg, encoding="utf-8")
    return tmp_path, url


def test_functions_read_the_shared_store_named_by_the_desk_config(team_desk):
    desk, _url = team_desk
    assert isinstance(tracking_cache.cache_for(desk), tracking_cache.PgTrackingCache)
    assert udfs.track(SF, desk) == "运输中 11-27 14:05"
    assert udfs.track(" sf1234567890123 ", desk) == "运输中 11-27 14:05"
    assert udfs.track(YT, desk).startswith("已签收") and udfs.track(YT, desk).endswith("11-26 10:00")
    assert udfs.track_status(SF, desk) == "InTransit"
    assert udfs.track_status(YT, desk) == "Delivered"
    assert udfs.track_last(SF, desk) == "【杭州转运中心】已到达"
    assert udfs.track_eta(SF, desk) == date(2026, 11, 29)
    assert udfs.track("SF9999999999999", desk) == udfs.NOT_TRACKED
    assert udfs.track([[SF], ["nope"], [None], [YT]], desk) == [
        ["运输中 11-27 14:05"], [udfs.NOT_TRACKED], [""], [udfs.track(YT, desk)]]
    nodes = udfs.track_nodes(SF, desk)
    assert nodes[0] == udfs.NODE_HEADER
    assert [row[1] for row in nodes[1:]] == ["【杭州转运中心】已到达", "顺丰速运 已收取快件"]
    assert nodes[1][0] == datetime(2026, 11, 27, 14, 5)
    assert udfs.track_nodes("SF9999999999999", desk) == udfs.NOT_TRACKED


def test_functions_follow_a_later_change_by_another_connection(team_desk):
    desk, url = team_desk
    assert udfs.track_status(SF, desk) == "InTransit"
    assert udfs.track("SF0000000000777", desk) == udfs.NOT_TRACKED  # kept as "not tracked" in the memo
    add(url, [event(SF, "SF", datetime(2026, 11, 28, 1, 30, tzinfo=timezone.utc), "已签收，签收人：前台",
                    MainStatus.DELIVERED, SubStatus.DELIVERED_OTHER),
              event("SF0000000000777", "SF", datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc), "已揽收",
                    MainStatus.IN_TRANSIT, SubStatus.IN_TRANSIT_PICKED_UP)], NOW + timedelta(days=1))
    deadline = time.monotonic() + 3.0
    while udfs.track_status(SF, desk) != "Delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert udfs.track_status(SF, desk) == "Delivered"
    assert udfs.track_last(SF, desk) == "已签收，签收人：前台"
    assert udfs.track("SF0000000000777", desk) == "已揽收 11-28 09:00"
    assert [row[1] for row in udfs.track_nodes(SF, desk)[1:]][0] == "已签收，签收人：前台"
    assert udfs.track_status([[SF], ["SF0000000000777"]], desk) == [["Delivered"], ["InTransit"]]


def test_a_recalculation_is_answered_from_the_memo_within_the_interval(team_desk, monkeypatch):
    desk, url = team_desk
    monkeypatch.setattr(tracking_cache, "RECHECK_SECONDS", 3600.0)
    tracking_cache.reset()
    assert udfs.track_status(SF, desk) == "InTransit"
    with psycopg.connect(url, autocommit=True) as conn:  # a change the kept answer does not see yet
        conn.execute("UPDATE waybill_status SET status = 'Exception' WHERE waybill_no = %s", (SF,))
    assert udfs.track_status(SF, desk) == "InTransit"
    monkeypatch.setattr(tracking_cache, "RECHECK_SECONDS", 0.0)  # the next look sees a new snapshot
    assert udfs.track_status(SF, desk) == "Exception"


def test_the_cache_never_writes(team_desk):
    desk, _url = team_desk
    cache = tracking_cache.cache_for(desk)
    with pytest.raises(tracking_cache.CacheUnavailable, match="read-only|只读"):
        cache._run("DELETE FROM waybill_status", None)
    assert udfs.track_status(SF, desk) == "InTransit"


def test_environment_url_is_enough_and_a_dropped_connection_reconnects(team_desk, monkeypatch):
    desk, url = team_desk
    (desk / CONFIG_FILENAME).unlink()
    monkeypatch.setenv("XL_LOGISTICS_DATABASE_URL", url)
    assert udfs.track_status(SF, desk) == "InTransit"
    assert udfs.track_status(SF, None) == "InTransit"  # no desk folder at all: the environment names the store
    cache = tracking_cache.cache_for(desk)
    pid = cache._raw.info.backend_pid
    with psycopg.connect(url, autocommit=True) as conn:  # what a server restart does to the kept connection
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.25)
    assert udfs.track_nodes(SF, desk)[1][1] == "【杭州转运中心】已到达"
    assert cache._raw.info.backend_pid != pid


def test_unreachable_server_is_na_text_and_fast(tmp_path, monkeypatch):  # needs no server at all
    monkeypatch.setenv("XL_LOGISTICS_DATABASE_URL", "postgresql://xl@127.0.0.1:1/nowhere")
    desk = tmp_path
    assert udfs.track(SF, desk) == udfs.STORE_MISSING
    assert udfs.track_nodes(SF, desk) == udfs.STORE_MISSING
    assert udfs.track([[SF], [None]], desk) == [[udfs.STORE_MISSING], [""]]
    start = time.monotonic()
    for _ in range(1000):  # a sheet of cells while the server is down: no new attempt per cell
        assert udfs.track_status(SF, desk) == udfs.STORE_MISSING
    assert time.monotonic() - start < 1.0


def test_schema_not_created_yet_is_na_text(tmp_path, pg_schema_url, monkeypatch):
    monkeypatch.setenv("XL_LOGISTICS_DATABASE_URL", pg_schema_url())  # an empty schema: no tracking tables
    assert udfs.track(SF, tmp_path) == udfs.STORE_MISSING
    assert udfs.track_nodes(SF, tmp_path) == udfs.STORE_MISSING
