"""The customer-confirmation loop of stage 1 (the procedure's one-hour rule).

A row that passes every check is confirmed by the check itself; a row with
problems waits for the customer, with a deadline; a person records the outcome
(confirmed / corrected / cancelled), and only confirmed orders go on. The customer's
"confirmed" clears warnings only: an error stays until the row is corrected or a named
person overrides it (``domain.gates``); a tag-only warning never waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from xl_addin.domain.gates import Gate

AWAITING = "awaiting_customer"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
# statuses later stages set; intake never moves an order back from them
LATER_STAGES = ("allocated", "in_transit", "signed", "completed")

CHECK_LABELS = {"ok": "通过", "error": "有问题", "warning": "待复核"}
STATUS_LABELS = {
    AWAITING: "待确认", CONFIRMED: "已确认", CANCELLED: "已取消",
    "allocated": "已分配运单", "in_transit": "运输中", "signed": "已签收", "completed": "已完成",
}
OUTCOME_WORDS = {
    "已确认": "confirmed", "确认": "confirmed", "confirmed": "confirmed",
    "已更正": "corrected", "更正": "corrected", "corrected": "corrected",
    "已取消": "cancelled", "取消": "cancelled", "cancelled": "cancelled", "canceled": "cancelled",
}
OUTCOME_LABELS = {"confirmed": "已确认", "corrected": "已更正", "cancelled": "已取消"}
BY_CHECK = "系统校验"
CHANNEL_BY_CHECK = "系统自动"
RELEASED = "已放行"          # the confirmation column of an order a person overrode
CHANNEL_RELEASED = "主管批准"


@dataclass(frozen=True)
class Outcome:
    """What a person recorded after contacting the customer."""

    kind: str | None          # confirmed / corrected / cancelled / None
    by: str | None = None
    at: datetime | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Previous:
    status: str
    fingerprint: str
    confirm_deadline: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None


@dataclass(frozen=True)
class Decision:
    status: str
    check_label: str
    deadline: datetime | None
    overdue: bool
    confirmation: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    channel: str | None
    note: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def parse_outcome(text: object) -> str | None:
    """The outcome a cell means, or None when empty/unrecognised."""
    if text is None:
        return None
    return OUTCOME_WORDS.get(str(text).strip().lower()) or OUTCOME_WORDS.get(str(text).strip())


def decide(check: str, outcome: Outcome, previous: Previous | None, fingerprint: str,
           now: datetime, window: timedelta, gate: Gate | None = None) -> Decision:
    """The confirmation state of one order after a check run at ``now``.

    ``gate`` says which findings still close the gate (see ``domain.gates``); without one, every
    error blocks and every warning waits for the customer.
    """
    label = CHECK_LABELS[check]
    if gate is None:
        gate = Gate(blocking=("error",) if check == "error" else (), holding=("warning",) if check == "warning" else ())
    if outcome.kind == "cancelled":
        return Decision(CANCELLED, label, None, False, OUTCOME_LABELS["cancelled"], outcome.by,
                        outcome.at or now, outcome.channel)
    if previous is not None and previous.status in LATER_STAGES:
        # already on its way: intake reports problems but never moves the order back
        return Decision(previous.status, label, None, False, OUTCOME_LABELS.get(outcome.kind or "", None) or "已确认",
                        previous.confirmed_by, previous.confirmed_at, outcome.channel)
    person = (outcome.by or "").strip()
    answered = outcome.kind in ("confirmed", "corrected") and bool(person)
    released = "；".join(o.describe() for o in gate.overridden) or None
    if not gate.blocking:
        if answered and (outcome.kind == "confirmed" or not gate.holding):
            note = "客户已确认，校验提示保留备查" if gate.holding else None
            return Decision(CONFIRMED, label, None, False, OUTCOME_LABELS[outcome.kind], person,
                            outcome.at or now, outcome.channel, _join(note, released, _tag_note(gate)))
        if not gate.holding:
            if gate.overridden:  # released by the person who overrode the last error
                last = max(gate.overridden, key=lambda o: o.at)
                return Decision(CONFIRMED, label, None, False, RELEASED, last.by, last.at, CHANNEL_RELEASED,
                                _join(released, _tag_note(gate)))
            same = previous is not None and previous.status == CONFIRMED and previous.fingerprint == fingerprint \
                and previous.confirmed_by == BY_CHECK
            at = previous.confirmed_at if same and previous.confirmed_at else now
            return Decision(CONFIRMED, label, None, False, "已确认", BY_CHECK, at, CHANNEL_BY_CHECK, _tag_note(gate))
    keep = previous is not None and previous.status == AWAITING and previous.fingerprint == fingerprint \
        and previous.confirm_deadline is not None
    deadline = previous.confirm_deadline if keep else now + window
    note = None
    if gate.blocking and outcome.kind == "confirmed" and person:
        how = "请更正订单或取消" if gate.must_correct == gate.blocking else "请更正订单，或由主管批准放行（xl-logistics override）"
        note = f"客户确认不能放行 {'、'.join(gate.blocking)}：{how}"
    elif outcome.kind in ("confirmed", "corrected") and not person:
        note = "确认结果需填写确认人"
    elif outcome.kind == "corrected":
        note = "已更正但仍有问题，请再次联系客户"
    elif gate.blocking and gate.overridden:
        note = f"仍有 {'、'.join(gate.blocking)} 未放行"
    return Decision(AWAITING, label, deadline, now > deadline, None, None, None, None, _join(note, released))


def _tag_note(gate: Gate) -> str | None:
    if not gate.tagged:
        return None
    return f"{'、'.join(gate.tagged)} 只加特殊处理标签，无需等客户确认"


def _join(*notes: str | None) -> str | None:
    return "；".join(n for n in notes if n) or None
