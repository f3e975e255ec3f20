"""Reading carrier times without ``strptime`` and formatting event keys without ``strftime`` give exactly what
the ``strptime``/``strftime`` way gave — the same instants, the same keys (stored keys must keep matching),
and a bad time refused with the same error; a remembered push node is the node read afresh."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from xl_addin.adapters.providers.kuaidi100 import events_from_result
from xl_addin.domain.tracking.events import (
    china_tz, kuaidi100_event, kuaidi100_event_remembered, make_event_key, parse_carrier_time)

FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def by_strptime(text: str, tz=None) -> datetime:
    """The reference: every format tried with ``strptime``, then ISO."""
    raw = str(text).strip()
    for fmt in FORMATS:
        try:
            dt = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        dt = datetime.fromisoformat(raw)
    return dt if dt.tzinfo else dt.replace(tzinfo=tz or china_tz())


def outcome(fn, text):
    try:
        dt = fn(text)
    except ValueError as exc:
        return ("refused", str(exc))
    return ("read", dt, dt.utcoffset())


TEXTS = [
    "2024-11-05 09:00:00", " 2024-11-05 09:00:00 ", "2024-01-01 00:00:00", "2024-12-31 23:59:59",
    "2024-02-29 12:00:00", "2023-02-29 12:00:00", "2024-11-31 09:00:00", "2024-13-05 09:00:00",
    "2024-00-05 09:00:00", "2024-11-00 09:00:00", "2024-11-05 24:00:00", "2024-11-05 09:60:00",
    "2024-11-05 09:00:60", "2024-11-05 09:00:61", "0999-11-05 09:00:00", "0000-11-05 09:00:00",
    "2024-+1-05 09:00:00", "2024-1-05 09:00:00", "2024-11-5 9:00:00", "2024-11-05 9:0:0", "2024-11-05T09:00:00",
    "2024/11/05 09:00:00", "2024-11-05 09:00", "2024-11-05 09:00:00.5", "2024-11-05 09:00:00+08:00",
    "2024-１1-05 09:00:00", "2024-11-05 ٠9:00:00", "2024-11-05_09:00:00", "2024-11-05 09-00-00", "yesterday", "",
    "20241105 090000", "2024-11-05 09:00:0x",
]


@pytest.mark.parametrize("text", TEXTS)
def test_reading_a_time_matches_strptime(text):
    assert outcome(parse_carrier_time, text) == outcome(by_strptime, text)
    utc = timezone.utc
    assert outcome(lambda t: parse_carrier_time(t, utc), text) == outcome(lambda t: by_strptime(t, utc), text)


def key_by_strftime(waybill: str, time: datetime, context: str) -> str:
    instant = time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if time.tzinfo else time.isoformat()
    raw = f"{waybill.strip().upper()}|{instant}|{' '.join(context.split())}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


@pytest.mark.parametrize("time", [
    datetime(2024, 11, 5, 9, 0, tzinfo=china_tz()), datetime(2024, 11, 5, 9, 0, 0, 999999, tzinfo=timezone.utc),
    datetime(1000, 1, 1, 8, 0, tzinfo=china_tz()), datetime(999, 6, 1, 0, 0, tzinfo=timezone.utc),
    datetime(2024, 11, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5))), datetime(2024, 11, 5, 9, 0),
])
def test_event_keys_are_the_strftime_ones(time):
    assert make_event_key(" yt123 ", time, "【杭州】  已揽收") == key_by_strftime(" yt123 ", time, "【杭州】  已揽收")


def test_a_remembered_node_is_the_node_read_afresh():
    items = [{"time": "2024-11-05 09:00:00", "ftime": "2024-11-05 09:00:00", "context": "【杭州】 快递员 张三 13800001111 已揽收",
              "location": "", "statusCode": "1"},
             {"time": "2024-11-05 11:00:00", "context": "【南京转运中心】 已收入", "status": "在途", "areaCode": "CN32",
              "areaName": "江苏,南京市"}]
    for item in items * 2:  # the second round comes from the cache
        fresh = kuaidi100_event(item, "YT1", "yuantong", source="push", tz=None, fallback_code=None)
        remembered = kuaidi100_event_remembered(item, "YT1", "yuantong", "push", None, None)
        assert remembered == fresh and remembered.event_key == fresh.event_key
        assert remembered.as_dict() == fresh.as_dict()
    # the same node under another waybill, carrier, source or fallback code is another event
    other = kuaidi100_event_remembered(items[1], "YT1", "yuantong", "push", None, "3")
    assert other.raw_code == "3" and other != kuaidi100_event_remembered(items[1], "YT1", "yuantong", "push", None, None)
    for _ in range(2):  # a bad time is refused every time, not remembered
        with pytest.raises(ValueError):
            events_from_result({"data": [{"time": "2024-11-31 09:00:00", "context": "x"}]}, "YT1", "yuantong", None,
                               "push")
