"""Anomaly rules at their boundaries, with an explicit now (pure domain, no I/O)."""

from datetime import date, datetime, timedelta, timezone

from xl_addin.domain.tracking import anomalies as a
from xl_addin.domain.tracking.events import TrackingEvent
from xl_addin.domain.tracking.status import MainStatus, SubStatus

CN = timezone(timedelta(hours=8))
BOUND = datetime(2024, 11, 4, 9, 0, tzinfo=CN)  # a Monday
W = "YT1000000001"


def ev(when, sub: SubStatus, text="【杭州转运中心】 已收入"):
    return TrackingEvent(W, "yuantong", when, text, sub.main, sub, raw_code="0")


def rules(events, now, expected=None, **cfg):
    j = a.Journey(W, BOUND, expected, events)
    return {h.rule: h for h in a.evaluate(j, now, a.AnomalyConfig(**cfg), working_day=lambda d: d.weekday() < 5)}


PICKUP = BOUND + timedelta(hours=1)


def test_no_update_after_pickup_fires_just_after_24h_not_before():
    events = [ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP, "【杭州网点】 已揽收")]
    assert a.STALLED_AFTER_PICKUP not in rules(events, PICKUP + timedelta(hours=23, minutes=59))
    hit = rules(events, PICKUP + timedelta(hours=24, minutes=1))[a.STALLED_AFTER_PICKUP]
    assert hit.since == PICKUP + timedelta(hours=24)
    assert hit.reason_zh == "揽后24小时未更新" and hit.evidence_key == events[0].event_key


def test_stalled_in_transit_fires_just_after_48h():
    t = PICKUP + timedelta(hours=5)
    events = [ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP), ev(t, SubStatus.IN_TRANSIT_DEPARTURE)]
    assert rules(events, t + timedelta(hours=47, minutes=59)) == {}
    got = rules(events, t + timedelta(hours=48, minutes=1))
    assert set(got) == {a.STALLED_IN_TRANSIT} and got[a.STALLED_IN_TRANSIT].reason_zh == "中转停滞超48小时"


def test_no_pickup_after_binding_is_configurable():
    assert rules([], BOUND + timedelta(hours=11, minutes=59), no_pickup_hours=12) == {}
    assert a.NO_PICKUP in rules([], BOUND + timedelta(hours=12, minutes=1), no_pickup_hours=12)
    # a scan of any kind is a pickup for this rule
    assert a.NO_PICKUP not in rules([ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP)], BOUND + timedelta(hours=30))


def test_overdue_after_the_expected_day_ends_in_china_time():
    events = [ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP), ev(PICKUP + timedelta(hours=2), SubStatus.IN_TRANSIT_OTHER)]
    day = date(2024, 11, 5)
    end = datetime(2024, 11, 6, 0, 0, tzinfo=CN)
    assert a.OVERDUE not in rules(events, end - timedelta(minutes=1), day)
    assert rules(events, end + timedelta(minutes=1), day)[a.OVERDUE].since == end
    signed = events + [ev(end + timedelta(hours=1), SubStatus.DELIVERED_OTHER, "快件已签收")]
    assert rules(signed, end + timedelta(days=3), day) == {}


def test_carrier_problem_states_and_their_start():
    t = PICKUP + timedelta(hours=3)
    for sub in (SubStatus.EXCEPTION_OTHER, SubStatus.DELIVERY_FAILURE_REJECTED, SubStatus.EXCEPTION_RETURNING,
                SubStatus.EXCEPTION_DAMAGE, SubStatus.EXCEPTION_LOST):
        events = [ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP), ev(t, sub, "疑难"), ev(t + timedelta(hours=1), sub, "仍疑难")]
        hit = rules(events, t + timedelta(hours=2))[a.CARRIER_PROBLEM]
        assert hit.since == t and sub.zh in hit.reason_zh
    # returned and signed by the sender is final, still a problem; a normal delivery is not
    ret = [ev(t, SubStatus.EXCEPTION_RETURNED, "退回件已签收")]
    assert a.CARRIER_PROBLEM in rules(ret, t + timedelta(days=5))
    assert rules([ev(t, SubStatus.DELIVERED_OTHER, "已签收")], t + timedelta(days=9)) == {}


def test_paused_clock_skips_the_weekend():
    friday = datetime(2024, 11, 8, 18, 0, tzinfo=CN)
    events = [ev(friday, SubStatus.IN_TRANSIT_PICKED_UP)]
    monday_noon = datetime(2024, 11, 11, 12, 0, tzinfo=CN)
    assert a.STALLED_AFTER_PICKUP in rules(events, monday_noon)  # calendar hours: 66 h
    assert a.STALLED_AFTER_PICKUP not in rules(events, monday_noon, pause_on_non_working_days=True)  # 18 h
    hit = rules(events, datetime(2024, 11, 11, 18, 1, tzinfo=CN), pause_on_non_working_days=True)
    assert hit[a.STALLED_AFTER_PICKUP].since == datetime(2024, 11, 11, 18, 0, tzinfo=CN)


def test_unknown_codes_do_not_hide_the_last_known_state():
    t = PICKUP + timedelta(hours=1)
    events = [ev(PICKUP, SubStatus.IN_TRANSIT_PICKED_UP),
              TrackingEvent(W, "yuantong", t, "奇怪的状态", MainStatus.UNKNOWN, SubStatus.UNKNOWN, raw_code="999")]
    assert a.STALLED_AFTER_PICKUP in rules(events, PICKUP + timedelta(hours=25))
