"""Worksheet functions (the plain Python functions) on a real SQLite store built by the real migrations.

How Excel reaches them (xlwings' real decorators and call_udf) is tested in tests/excel/."""

import sqlite3
from datetime import date

import pytest

import xl_addin.udfs as udfs
from xl_addin.adapters.store import tracking_cache

STATUS = ("INSERT INTO waybill_status (waybill_no, carrier_code, status, sub_status, status_zh, last_time, "
          "last_context, expected_delivery, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
EVENT = ("INSERT INTO tracking_events (event_key, waybill_no, carrier_code, time, context, status, sub_status, "
         "source, ingested_at) VALUES (?, 'SF1234567890123', 'SF', ?, ?, ?, 'InTransit_Other', 'query', ?)")


def make_desk(tmp_path, with_tables=True):
    """A desk whose store was built by the real migrations (with_tables=False: an old file without them)."""
    from xl_addin.adapters.store.store import open_store

    state = tmp_path / ".xl-logistics"
    state.mkdir(parents=True)
    if not with_tables:
        conn = sqlite3.connect(state / "state.sqlite3")
        conn.execute("CREATE TABLE meta(k TEXT)")
        conn.close()
        return tmp_path
    with open_store(state / "state.sqlite3") as store:
        conn = store.conn
        conn.execute(STATUS, ("SF1234567890123", "SF", "InTransit", "InTransit_Arrival", "运输中",
                              "2026-11-27T06:05:00+00:00", "【杭州转运中心】已到达", "2026-11-29",
                              "2026-11-27T06:10:00+00:00"))
        conn.execute(STATUS, ("YT0000000001", "YTO", "Delivered", "Delivered_Other", None,
                              "2026-11-26T02:00:00+00:00", "已签收，签收人：本人", None, "2026-11-26T02:10:00+00:00"))
        conn.executemany(EVENT, [
            ("k1", "2026-11-26T10:00:00+00:00", "顺丰速运 已收取快件", "InTransit", "2026-11-26T10:01:00+00:00"),
            ("k2", "2026-11-27T06:05:00+00:00", "【杭州转运中心】已到达", "InTransit", "2026-11-27T06:06:00+00:00"),
        ])
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(tracking_cache.DESK_ENV, raising=False)
    tracking_cache.reset()
    yield
    tracking_cache.reset()


def test_track_shows_status_and_china_time(tmp_path):
    desk = make_desk(tmp_path)
    assert udfs.track("SF1234567890123", desk) == "运输中 11-27 14:05"
    assert udfs.track(" sf1234567890123 ", desk) == "运输中 11-27 14:05"  # spaces, lower case
    assert udfs.track("YT0000000001", desk) == "已签收 11-26 10:00"  # no status_zh: from the vocabulary
    assert udfs.track_status("SF1234567890123", desk) == "InTransit"
    assert udfs.track_last("SF1234567890123", desk) == "【杭州转运中心】已到达"
    assert udfs.track_eta("SF1234567890123", desk) == date(2026, 11, 29)
    assert udfs.track_eta("YT0000000001", desk) == udfs.NO_ETA


def test_unknown_waybill_and_blank(tmp_path):
    desk = make_desk(tmp_path)
    assert udfs.track("SF9999999999999", desk) == udfs.NOT_TRACKED
    assert udfs.track("", desk) == ""
    assert udfs.track(None, desk) == ""


def test_store_or_tables_missing_is_text_not_exception(tmp_path):
    assert udfs.track("SF1234567890123", tmp_path / "nowhere") == udfs.STORE_MISSING
    desk = make_desk(tmp_path / "old", with_tables=False)
    assert udfs.track("SF1234567890123", desk) == udfs.STORE_MISSING
    assert udfs.track_nodes("SF1234567890123", desk) == udfs.STORE_MISSING


def test_array_form_keeps_shape_one_call(tmp_path):
    desk = make_desk(tmp_path)
    column = [["SF1234567890123"], ["nope"], [None]]
    assert udfs.track(column, desk) == [["运输中 11-27 14:05"], [udfs.NOT_TRACKED], [""]]
    assert udfs.track_many(column, desk) == udfs.track(column, desk)
    assert udfs.track([["SF1234567890123"]], desk) == "运输中 11-27 14:05"  # one cell as a 2-D range


def test_nodes_spill_newest_first(tmp_path):
    desk = make_desk(tmp_path)
    table = udfs.track_nodes("SF1234567890123", desk)
    assert table[0] == udfs.NODE_HEADER
    assert [r[1] for r in table[1:]] == ["【杭州转运中心】已到达", "顺丰速运 已收取快件"]
    assert str(table[1][0]) == "2026-11-27 14:05:00"


def test_env_desk_wins_and_connection_is_reused(tmp_path, monkeypatch):
    desk = make_desk(tmp_path)
    monkeypatch.setenv(tracking_cache.DESK_ENV, str(desk))
    assert udfs.track("SF1234567890123", None) == "运输中 11-27 14:05"
    first = tracking_cache.cache_for(None)
    assert tracking_cache.cache_for(tmp_path / "elsewhere") is first


def test_cache_is_read_only(tmp_path):
    desk = make_desk(tmp_path)
    cache = tracking_cache.cache_for(desk)
    with pytest.raises(sqlite3.OperationalError):
        cache.conn.execute("DELETE FROM waybill_status")


def test_format_checks():
    assert udfs.phone_ok("13800138000") is True
    assert udfs.phone_ok("123").startswith("✗")
    assert udfs.address_ok("北京市朝阳区建国路88号") is True
    assert "歧义" in udfs.address_ok("朝阳区建国路88号")
    assert udfs.carrier("SF1234567890123") == "顺丰速运"
    assert udfs.waybill_ok("SF1234567890123", "SF") is True
    assert udfs.waybill_ok("123", "SF").startswith("✗")
    assert udfs.PHONE_OK([["13800138000"], ["1"]])[0] == [True]


def test_every_excel_function_names_only_its_own_parameters():
    """What the real xlarg checks at import ("Invalid argument name"), read from the same signature."""
    import inspect

    names = [f.__name__ for f in udfs.EXCEL_FUNCTIONS]
    assert names == ["TRACK", "TRACK_STATUS", "TRACK_LAST", "TRACK_ETA", "TRACK_NODES", "TRACK_MANY",
                     "CARRIER", "WAYBILL_OK", "PHONE_OK", "ADDRESS_OK"]
    for f in udfs.EXCEL_FUNCTIONS:
        params = list(inspect.signature(f).parameters)
        assert params[-1] == "caller" if f.__name__.startswith("TRACK") else "caller" not in params
        assert f.__doc__, f.__name__


def test_kept_answers_follow_a_commit_by_another_connection(tmp_path, monkeypatch):
    desk = make_desk(tmp_path)
    monkeypatch.setattr(tracking_cache, "RECHECK_SECONDS", 3600.0)  # within the interval: the kept answer
    assert udfs.track("SF7777777777777", desk) == udfs.NOT_TRACKED
    conn = sqlite3.connect(tmp_path / ".xl-logistics" / "state.sqlite3")
    conn.execute(STATUS, ("SF7777777777777", "SF", "Delivered", "Delivered_Other", "已签收",
                          "2026-11-28T01:00:00+00:00", "已签收", None, "2026-11-28T01:05:00+00:00"))
    conn.commit()
    conn.close()
    assert udfs.track("SF7777777777777", desk) == udfs.NOT_TRACKED
    monkeypatch.setattr(tracking_cache, "RECHECK_SECONDS", 0.0)  # the next look sees data_version move
    assert udfs.track("SF7777777777777", desk) == "已签收 11-28 09:00"
