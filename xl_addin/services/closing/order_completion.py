"""Completing signed orders: where a signing is learnt (refresh, the push receiver, a manual node) and in
the catch-up run ``close``. Kept apart from the rest of closing so the tracking paths that call it depend
on nothing but the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xl_addin.adapters.store.followups import COMPLETED, HELD, ClosingStore
from xl_addin.adapters.store.store import Store
from xl_addin.domain.closing import COMPLETE, FOLLOWUP_HOURS, HOLD, decide_completion, followup_due


@dataclass
class CloseResult:
    completed: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    followups_created: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"completed": self.completed, "held": self.held, "followups_created": self.followups_created}


def open_case_ids(store: Store, order_no: str) -> list[str]:
    """Open exception cases of an order (none when the ledger is not installed)."""
    try:
        from xl_addin.adapters.store.cases import CaseStore, is_closed
    except ImportError:  # the exception ledger is optional for closing
        return []
    return [c["case_id"] for c in CaseStore(store).cases_for_order(order_no) if not is_closed(c)]


def complete_signed_orders(store: Store, now: datetime, *, followup_hours: int = FOLLOWUP_HOURS,
                           by: str = "系统") -> CloseResult:
    """Complete signed orders (one transaction per order, so a crash keeps what was done).

    The catch-up and audit run: signings are normally completed where they are learnt
    (``complete_on_signing``); this finds any that were missed (stored before this rule, held by a
    case that has since closed, ...)."""
    cs = ClosingStore(store)
    res = CloseResult()
    for cand in cs.signed_candidates():
        with store.transaction():
            _close(store, cs, cand, now, followup_hours, by, res)
    _align_followups(store, cs, followup_hours)
    return res


def _align_followups(store: Store, cs: ClosingStore, followup_hours: int) -> None:
    """Follow-ups opened where a signing was learnt use the procedure's 24 hours; a desk that set
    another [schedule] followup_hours gets its own deadline here (open follow-ups only)."""
    if followup_hours == FOLLOWUP_HOURS:
        return
    wrong = [f for f in cs.followups() if f["contacted_at"] is None
             and f["due_at"] != followup_due(f["signed_at"], followup_hours)]
    if wrong:
        with store.transaction():
            for f in wrong:
                cs.set_due(f["order_no"], followup_due(f["signed_at"], followup_hours))


def complete_on_signing(store: Store, waybill_no: str, now: datetime, *, followup_hours: int = FOLLOWUP_HOURS,
                        by: str = "系统") -> CloseResult:
    """Complete the order of ``waybill_no`` when the status just stored is signed; call it inside the
    transaction that stored the status (refresh, the push receiver, a manual node), so the order is
    completed — or held while an exception case on it is open — together with the signing. The
    follow-up falls due ``followup_hours`` after the signing time, not after ``now``."""
    cs = ClosingStore(store)
    res = CloseResult()
    for cand in cs.signed_candidates(waybill_no):
        _close(store, cs, cand, now, followup_hours, by, res)
    return res


def _close(store: Store, cs: ClosingStore, cand: dict[str, Any], now: datetime, followup_hours: int, by: str,
           res: CloseResult) -> None:
    """Complete or hold one signed order; inside a transaction."""
    order_no, signed_at = cand["order_no"], cand["signed_at"]
    held_by = open_case_ids(store, order_no)
    decision = decide_completion(True, held_by)
    state = COMPLETED if decision == COMPLETE else HELD
    cs.set_closing(order_no, cand["waybill_no"], signed_at, state, held_by, now)
    if cs.add_followup(order_no, cand["waybill_no"], signed_at, followup_due(signed_at, followup_hours), now):
        res.followups_created += 1
    if decision == COMPLETE:
        store.audit(now, by, "order:completed", "order", order_no,
                    {"waybill_no": cand["waybill_no"], "signed_at": signed_at.isoformat()})
    elif cand["closing"] != HELD:
        store.audit(now, by, "order:held", "order", order_no, {"open_cases": held_by})
    item = {"order_no": order_no, "waybill_no": cand["waybill_no"], "signed_at": signed_at.isoformat()}
    if decision == HOLD:
        res.held.append({**item, "open_cases": held_by})
    else:
        res.completed.append(item)
