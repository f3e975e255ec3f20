"""Closing an order and the satisfaction follow-up (DOMAIN stage 5), as pure rules.

An order is completed when its waybill is signed, unless an exception case on it is still open:
then it waits (``held``) until the case is closed. The order receiver calls the customer within
24 hours of signing; a "no" to "goods intact?" or "speed satisfied?" becomes an exception case.
Every time rule takes ``now``; nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

FOLLOWUP_HOURS = 24

# follow-up states (stored in JSON output) and how the sheet shows them
DUE, OVERDUE, DONE = "due", "overdue", "done"
FOLLOWUP_LABELS = {DUE: "待回访", OVERDUE: "已超时", DONE: "已完成"}

# what ``decide_completion`` returns
COMPLETE, HOLD, NOT_SIGNED = "complete", "hold", "not_signed"

# case types a dissatisfied answer opens (the exception ledger's Chinese type names)
DAMAGED, DELAY = "破损", "延误"

_YES = {"yes", "y", "是", "1", "true", "满意", "完好"}
_NO = {"no", "n", "否", "0", "false", "不满意", "破损"}


def followup_due(signed_at: datetime, hours: int = FOLLOWUP_HOURS) -> datetime:
    """The follow-up is due this long after the customer signed."""
    return signed_at + timedelta(hours=hours)


def followup_state(due_at: datetime, contacted_at: datetime | None, now: datetime) -> str:
    """done once contacted; overdue only strictly after the deadline (at the deadline it is still due)."""
    if contacted_at is not None:
        return DONE
    return OVERDUE if now > due_at else DUE


def decide_completion(signed: bool, open_case_ids: list[str]) -> str:
    """complete a signed order with no open case; hold one that has an open case."""
    if not signed:
        return NOT_SIGNED
    return HOLD if open_case_ids else COMPLETE


def parse_yes_no(value: object) -> bool | None:
    """是/否, yes/no, true/false, 1/0 → bool; empty → None; anything else raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"应填“是”或“否”，实际是 {value!r}")


def parse_score(value: object) -> int | None:
    """A satisfaction score 1–5 (empty → None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = int(float(str(value).strip()))
    except ValueError:
        raise ValueError(f"评分应为 1 到 5 的整数，实际是 {value!r}") from None
    if not 1 <= score <= 5 or float(str(value).strip()) != score:
        raise ValueError(f"评分应为 1 到 5 的整数，实际是 {value!r}")
    return score


@dataclass(frozen=True)
class CaseRequest:
    """An exception case a follow-up answer asks for."""

    type: str
    severity: str
    description: str


def cases_from_answers(order_no: str, goods_intact: bool | None, speed_ok: bool | None,
                       comment: str = "") -> list[CaseRequest]:
    """A "no" to goods intact opens a damaged case; a "no" to delivery speed a delay case."""
    said = f"；客户说：{comment.strip()}" if comment and comment.strip() else ""
    out = []
    if goods_intact is False:
        out.append(CaseRequest(DAMAGED, "高", f"满意度回访：订单 {order_no} 客户反映货物不完好{said}"))
    if speed_ok is False:
        out.append(CaseRequest(DELAY, "中", f"满意度回访：订单 {order_no} 客户对送达时效不满意{said}"))
    return out


# ---------------------------------------------------------------- months (the archive's unit)

def parse_month(text: str) -> tuple[int, int]:
    """'2026-10' → (2026, 10); ValueError otherwise."""
    parts = str(text).strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise ValueError(f"月份格式应为 2026-10，实际是 {text!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(f"月份格式应为 2026-10，实际是 {text!r}")
    return year, month


def month_bounds(text: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the month in the desk's time zone."""
    year, month = parse_month(text)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, end


def month_is_over(text: str, now: datetime, tz: tzinfo) -> bool:
    return now >= month_bounds(text, tz)[1]


def previous_month(today: date) -> str:
    """The month before ``today``'s (what the archive on the 1st archives)."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"
