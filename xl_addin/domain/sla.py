"""SLA clocks of an exception case, evaluated at an explicit ``now``.

A clock starts when the case is found and is met by the timestamps the handler records. At
exactly the due time a clock is still on time; one second later it is breached. A clock is at
risk from ``due - warn`` on. A case closed before a clock's due time without meeting it does not
breach it (the clock is waived: e.g. a "lost" parcel that turned up within the hour).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xl_addin.domain.cases import CUSTOMER_ADDRESS_ERROR, CARRIER_ENTRY_ERROR, DAMAGED, DELAY, LOST, WRONG_INFO

REPORT, CLAIM, DELAY_UPDATE, WRONG_INFO_FIX, CLOSE = "report", "claim", "delay_update", "wrong_info", "close"
CLOCK_ZH = {REPORT: "提交处理", CLAIM: "发起理赔", DELAY_UPDATE: "延误告知", WRONG_INFO_FIX: "信息更正",
            CLOSE: "结案告知"}
CLOCKS = (REPORT, CLAIM, DELAY_UPDATE, WRONG_INFO_FIX, CLOSE)

# clock states
OK, AT_RISK, BREACHED, MET, LATE, WAIVED = "ok", "at_risk", "breached", "met", "late", "waived"
STATUS_OK, STATUS_AT_RISK, STATUS_BREACHED = "正常", "临近", "超时"


@dataclass(frozen=True)
class SlaConfig:
    """Time limits (minutes) after the case is found, and the at-risk window before each due time."""
    limits: dict[str, int] = field(default_factory=lambda: {
        REPORT: 30, CLAIM: 24 * 60, DELAY_UPDATE: 24 * 60, WRONG_INFO_FIX: 24 * 60, CLOSE: 72 * 60})
    warn: dict[str, int] = field(default_factory=lambda: {
        REPORT: 10, CLAIM: 4 * 60, DELAY_UPDATE: 4 * 60, WRONG_INFO_FIX: 4 * 60, CLOSE: 8 * 60})


@dataclass(frozen=True)
class ClockState:
    clock: str
    due: datetime
    done_at: datetime | None
    state: str
    seconds_left: int | None      # before due (open clocks not yet due)
    overdue_seconds: int | None   # past due (breached, or met late)

    @property
    def breached(self) -> bool:
        return self.state in (BREACHED, LATE)

    def as_dict(self) -> dict[str, Any]:
        return {"clock": self.clock, "name": CLOCK_ZH[self.clock], "due": self.due.isoformat(),
                "done_at": self.done_at.isoformat() if self.done_at else None, "state": self.state,
                "seconds_left": self.seconds_left, "overdue_seconds": self.overdue_seconds}

    def text(self) -> str:
        name = CLOCK_ZH[self.clock]
        if self.state == AT_RISK:
            return f"{name}剩余{duration_zh(self.seconds_left or 0)}"
        if self.state == BREACHED:
            return f"{name}超时{duration_zh(self.overdue_seconds or 0)}"
        if self.state == LATE:
            return f"{name}逾期{duration_zh(self.overdue_seconds or 0)}完成"
        if self.state == OK:
            return f"{name}剩余{duration_zh(self.seconds_left or 0)}"
        return f"{name}已完成" if self.state == MET else f"{name}不适用"


def duration_zh(seconds: int) -> str:
    minutes = max(0, int(seconds)) // 60
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    return (f"{d}天" if d else "") + (f"{h}小时" if h else "") + (f"{m}分" if m or not (d or h) else "")


def _latest(*times: datetime | None) -> datetime | None:
    return None if any(t is None for t in times) else max(times)  # type: ignore[type-var]


def _done_at(clock: str, case: dict[str, Any]) -> datetime | None:
    g = case.get
    if clock == REPORT:
        return g("submitted_at")
    if clock == CLAIM:
        return g("claim_started_at")
    if clock == DELAY_UPDATE:
        return g("customer_informed_at") if g("cause") and g("new_expected") else None
    if clock == WRONG_INFO_FIX:
        src = g("error_source")
        if src == CARRIER_ENTRY_ERROR:
            return _latest(g("binding_checked_at"), g("correction_requested_at"))
        if src == CUSTOMER_ADDRESS_ERROR:
            return _latest(g("binding_checked_at"), g("address_confirmed_at")) if g("corrected_address") else None
        return g("binding_checked_at") if src else None
    if clock == CLOSE:
        return _latest(g("customer_informed_at"), g("receiver_informed_at")) if g("result") else None
    raise KeyError(clock)


def applicable_clocks(case_type: str) -> tuple[str, ...]:
    extra = {LOST: (CLAIM,), DAMAGED: (CLAIM,), DELAY: (DELAY_UPDATE,), WRONG_INFO: (WRONG_INFO_FIX,)}
    return (REPORT, *extra.get(case_type, ()), CLOSE)


def evaluate_clock(clock: str, case: dict[str, Any], now: datetime, config: SlaConfig | None = None) -> ClockState:
    cfg = config or SlaConfig()
    found: datetime = case["found_at"]
    due = found + timedelta(minutes=cfg.limits[clock])
    done = _done_at(clock, case)
    if done is not None and done > now:
        done = None  # recorded for a moment after ``now``: not yet done as of now (past-week evaluation)
    if done is not None:
        late = int((done - due).total_seconds())
        return ClockState(clock, due, done, LATE if late > 0 else MET, None, late if late > 0 else None)
    closed = case.get("closed_at")
    if closed is not None and closed <= now and closed <= due:
        return ClockState(clock, due, None, WAIVED, None, None)
    left = int((due - now).total_seconds())
    if left < 0:
        return ClockState(clock, due, None, BREACHED, None, -left)
    at_risk = now >= due - timedelta(minutes=cfg.warn[clock])
    return ClockState(clock, due, None, AT_RISK if at_risk else OK, left, None)


def evaluate_case(case: dict[str, Any], now: datetime, config: SlaConfig | None = None) -> list[ClockState]:
    return [evaluate_clock(c, case, now, config) for c in applicable_clocks(case["type"])]


def sla_status(clocks: list[ClockState]) -> tuple[str, str]:
    """(正常/临近/超时, a one-line detail naming the clocks at risk or breached, or the next due one)."""
    bad = [c for c in clocks if c.breached]
    risky = [c for c in clocks if c.state == AT_RISK]
    if bad:
        return STATUS_BREACHED, "；".join(c.text() for c in bad + risky)
    if risky:
        return STATUS_AT_RISK, "；".join(c.text() for c in risky)
    running = sorted((c for c in clocks if c.state == OK), key=lambda c: c.due)
    return STATUS_OK, running[0].text() if running else "各时限均已完成"
