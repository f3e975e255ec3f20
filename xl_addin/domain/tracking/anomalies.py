"""Anomaly rules: named, configurable checks of one waybill's journey as of an explicit ``now``.

The procedure watches for "no update 24 h after pickup" (揽后24小时未更新) and "stalled in
transit over 48 h" (中转停滞超48小时); we add "no pickup scan after binding", "not delivered by
the expected date" and the states the carrier itself reports as problems. Each hit names its
rule, since when it holds and the event that proves it; the store keeps it as an anomaly record
and the exception-ledger stage turns records into cases.

Hours are calendar hours unless ``pause_on_non_working_days``: then hours on non-working days
(weekends, statutory holidays) do not count, like a clock that stops over the weekend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Callable, Iterable, Sequence

from .events import TrackingEvent, china_tz
from .status import MainStatus, SubStatus, display_zh, is_final

NO_PICKUP = "no_pickup_after_binding"
STALLED_AFTER_PICKUP = "no_update_after_pickup"
STALLED_IN_TRANSIT = "stalled_in_transit"
OVERDUE = "not_delivered_by_expected_date"
CARRIER_PROBLEM = "carrier_problem"
NO_RECORD = "no_record_check_carrier"

#: what staff are asked to do about a number that never showed a single record (wrong carrier or number)
CHECK_CARRIER_OR_NUMBER = "请核对物流商或单号"

RULE_NAMES_ZH = {
    NO_PICKUP: "绑定后未揽收",
    STALLED_AFTER_PICKUP: "揽后24小时未更新",
    STALLED_IN_TRANSIT: "中转停滞超48小时",
    OVERDUE: "超过预计送达日期未签收",
    CARRIER_PROBLEM: "物流商报告异常",
    NO_RECORD: CHECK_CARRIER_OR_NUMBER,
}

# statuses the carrier reports as a problem (疑难 family, rejected, returning, damaged, lost …)
PROBLEM_MAINS = frozenset({MainStatus.EXCEPTION.value, MainStatus.DELIVERY_FAILURE.value, MainStatus.EXPIRED.value})


@dataclass(frozen=True)
class AnomalyConfig:
    """Thresholds of the rules; ``enabled`` lists the rule codes that run."""

    no_pickup_hours: float = 24.0
    after_pickup_hours: float = 24.0
    in_transit_hours: float = 48.0
    pause_on_non_working_days: bool = False
    no_record_days: float = 3.0
    enabled: tuple[str, ...] = (NO_PICKUP, STALLED_AFTER_PICKUP, STALLED_IN_TRANSIT, OVERDUE, CARRIER_PROBLEM,
                                NO_RECORD)

    def rule_name(self, rule: str) -> str:
        if rule == STALLED_AFTER_PICKUP:
            return f"揽后{_h(self.after_pickup_hours)}小时未更新"
        if rule == STALLED_IN_TRANSIT:
            return f"中转停滞超{_h(self.in_transit_hours)}小时"
        if rule == NO_PICKUP:
            return f"绑定后{_h(self.no_pickup_hours)}小时未揽收"
        if rule == NO_RECORD:
            return f"{CHECK_CARRIER_OR_NUMBER}（绑定{_h(self.no_record_days)}天仍无任何轨迹）"
        return RULE_NAMES_ZH.get(rule, rule)


def _h(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


@dataclass(frozen=True)
class AnomalyHit:
    waybill_no: str
    rule: str
    since: datetime  # the moment the rule started to hold
    reason_zh: str
    evidence_key: str | None = None
    evidence_text: str | None = None
    evidence_time: datetime | None = None

    def as_dict(self) -> dict:
        return {"waybill_no": self.waybill_no, "rule": self.rule, "since": self.since.isoformat(),
                "reason": self.reason_zh, "evidence_key": self.evidence_key, "evidence": self.evidence_text,
                "evidence_time": self.evidence_time.isoformat() if self.evidence_time else None}


@dataclass
class Journey:
    """What the rules look at: the binding and the nodes known so far (any order)."""

    waybill_no: str
    bound_at: datetime | None = None
    expected_delivery: date | None = None
    events: Sequence[TrackingEvent] = field(default_factory=list)


# ---------------------------------------------------------------- the clock

WorkingDay = Callable[[date], bool]


def _default_working_day(day: date) -> bool:
    from xl_addin.domain.waybills.calendar import is_working_day

    return is_working_day(day)[0]


def elapsed_hours(start: datetime, end: datetime, *, pause_on_non_working_days: bool = False,
                  working_day: WorkingDay | None = None, tz: tzinfo | None = None) -> float:
    """Hours from ``start`` to ``end``; with the pause option only hours on working days count
    (days are cut at local midnight in ``tz``, China time by default)."""
    if end <= start:
        return 0.0
    if not pause_on_non_working_days:
        return (end - start).total_seconds() / 3600.0
    is_work = working_day or _default_working_day
    zone = tz or china_tz()
    cur, stop = start.astimezone(zone), end.astimezone(zone)
    total = 0.0
    while cur < stop:
        next_midnight = datetime.combine(cur.date() + timedelta(days=1), time(0), tzinfo=zone)
        piece_end = min(next_midnight, stop)
        if is_work(cur.date()):
            total += (piece_end - cur).total_seconds()
        cur = piece_end
    return total / 3600.0


def deadline_after(start: datetime, hours: float, *, pause_on_non_working_days: bool = False,
                   working_day: WorkingDay | None = None, tz: tzinfo | None = None) -> datetime:
    """The moment ``hours`` (counted as the clock counts) have passed since ``start``."""
    if not pause_on_non_working_days:
        return start + timedelta(hours=hours)
    is_work = working_day or _default_working_day
    zone = tz or china_tz()
    cur, left = start.astimezone(zone), hours * 3600.0
    for _ in range(3660):  # ten years of days at most
        next_midnight = datetime.combine(cur.date() + timedelta(days=1), time(0), tzinfo=zone)
        if is_work(cur.date()):
            room = (next_midnight - cur).total_seconds()
            if room >= left:
                return cur + timedelta(seconds=left)
            left -= room
        cur = next_midnight
    return cur


# ---------------------------------------------------------------- the rules


def _sorted(events: Iterable[TrackingEvent]) -> list[TrackingEvent]:
    return sorted(events, key=lambda e: e.time)


def _is_pickup(e: TrackingEvent) -> bool:
    return e.sub_status is SubStatus.IN_TRANSIT_PICKED_UP


def _moved(e: TrackingEvent) -> bool:
    """An event that shows the parcel exists (anything past "order placed" / "not found")."""
    return e.status not in (MainStatus.NOT_FOUND, MainStatus.INFO_RECEIVED, MainStatus.UNKNOWN) or _is_pickup(e)


def evaluate(journey: Journey, now: datetime, config: AnomalyConfig | None = None, *,
             working_day: WorkingDay | None = None, tz: tzinfo | None = None) -> list[AnomalyHit]:
    """Every rule that holds for this waybill at ``now`` (empty when all is well)."""
    cfg = config or AnomalyConfig()
    events = _sorted(journey.events)
    known = [e for e in events if e.status is not MainStatus.UNKNOWN] or events
    latest = known[-1] if known else None
    final = latest is not None and is_final(latest.status, latest.sub_status)
    clock = dict(pause_on_non_working_days=cfg.pause_on_non_working_days, working_day=working_day, tz=tz)
    hits: list[AnomalyHit] = []
    w = journey.waybill_no

    def over(start: datetime, hours: float) -> bool:
        return elapsed_hours(start, now, **clock) > hours

    def hit(rule: str, since: datetime, ev: TrackingEvent | None, reason: str | None = None) -> None:
        if rule in cfg.enabled:
            hits.append(AnomalyHit(w, rule, since, reason or cfg.rule_name(rule),
                                   ev.event_key if ev else None, ev.context if ev else None, ev.time if ev else None))

    # carrier-reported problem states: the earliest event of the trailing problem streak
    if latest is not None and latest.status.value in PROBLEM_MAINS:
        first = latest
        for e in reversed(known):
            if e.status.value not in PROBLEM_MAINS:
                break
            first = e
        hit(CARRIER_PROBLEM, first.time, latest,
            f"{cfg.rule_name(CARRIER_PROBLEM)}：{display_zh(latest.status, latest.sub_status)}")

    if final:
        return hits

    if not events and journey.bound_at is not None and (now - journey.bound_at) > timedelta(days=cfg.no_record_days):
        # not one record in the first days: the carrier or the number is most likely wrong — a person
        # must check it instead of the number being polled on in silence
        hit(NO_RECORD, journey.bound_at + timedelta(days=cfg.no_record_days), None)

    moved = [e for e in known if _moved(e)]
    if not moved:
        if journey.bound_at is not None and over(journey.bound_at, cfg.no_pickup_hours):
            hit(NO_PICKUP, deadline_after(journey.bound_at, cfg.no_pickup_hours, **clock), None)
    elif latest is not None:
        if _is_pickup(latest) and over(latest.time, cfg.after_pickup_hours):
            hit(STALLED_AFTER_PICKUP, deadline_after(latest.time, cfg.after_pickup_hours, **clock), latest)
        elif latest.status is MainStatus.IN_TRANSIT and not _is_pickup(latest) \
                and over(latest.time, cfg.in_transit_hours):
            hit(STALLED_IN_TRANSIT, deadline_after(latest.time, cfg.in_transit_hours, **clock), latest)

    if journey.expected_delivery is not None:
        zone = tz or china_tz()
        due = datetime.combine(journey.expected_delivery + timedelta(days=1), time(0), tzinfo=zone)
        if now >= due:
            hit(OVERDUE, due, latest, f"{cfg.rule_name(OVERDUE)}（预计 {journey.expected_delivery.isoformat()}）")
    return hits


def next_key_node_planned(journey: Journey, config: AnomalyConfig | None = None, *,
                          working_day: WorkingDay | None = None, tz: tzinfo | None = None) -> datetime | None:
    """When the next node is due before a rule fires: the planned time the Tracking Log shows."""
    cfg = config or AnomalyConfig()
    clock = dict(pause_on_non_working_days=cfg.pause_on_non_working_days, working_day=working_day, tz=tz)
    known = [e for e in _sorted(journey.events) if e.status is not MainStatus.UNKNOWN]
    latest = known[-1] if known else None
    if latest is not None and is_final(latest.status, latest.sub_status):
        return None
    if not any(_moved(e) for e in known):
        return deadline_after(journey.bound_at, cfg.no_pickup_hours, **clock) if journey.bound_at else None
    if _is_pickup(latest):
        return deadline_after(latest.time, cfg.after_pickup_hours, **clock)
    if latest.status is MainStatus.IN_TRANSIT:
        return deadline_after(latest.time, cfg.in_transit_hours, **clock)
    if journey.expected_delivery is not None:
        zone = tz or china_tz()
        return datetime.combine(journey.expected_delivery + timedelta(days=1), time(0), tzinfo=zone)
    return None
