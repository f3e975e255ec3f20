"""The anomaly rules over the tracked waybills, and the exception cases they open."""

from __future__ import annotations

from datetime import date, datetime

from xl_addin.config.timezone import desk_timezone
from xl_addin.services.tracking.config import anomaly_config
from xl_addin.services.tracking.report import RefreshResult

def evaluate_waybills(ts, now: datetime, cfg, tz, waybills, rows: dict[str, tuple], events: dict,
                      res: RefreshResult) -> None:
    """The anomaly rules for these waybills, synced into the store. Inside a transaction."""
    from xl_addin.adapters.store.store import from_iso
    from xl_addin.domain.tracking.anomalies import Journey, evaluate

    for w in waybills:
        row = rows.get(w)
        if row is None:
            continue
        bound, expected, _final, replaced = row
        j = Journey(w, from_iso(bound), date.fromisoformat(expected) if expected else None, events.get(w, []))
        hits = [] if replaced else evaluate(j, now, cfg, tz=tz)  # a replaced number is no one's concern any more
        opened, resolved = ts.sync_anomalies(w, hits, now)
        res.anomalies_opened += opened
        res.anomalies_resolved += resolved


def run_anomalies(desk, store, now: datetime, tz, res: RefreshResult, touched: set[str],
                   skip: set[str] = frozenset()) -> None:
    """The rules over every active waybill (and ``touched``), except those already judged this run (``skip``)."""
    from xl_addin.adapters.store.tracking import TrackingStore

    ts = TrackingStore(store)
    cfg = anomaly_config(desk.settings)
    targets = [w for w in dict.fromkeys(ts.active_waybills() + sorted(touched)) if w not in skip]
    with store.transaction():
        for i in range(0, len(targets), 2000):
            part = targets[i:i + 2000]
            evaluate_waybills(ts, now, cfg, tz, part, ts.status_rows(part), ts.events_of(part), res)
    res.anomalies = len(ts.anomalies(open_only=True))
    res.cases_opened = open_exception_cases(store, now, tz)


def open_exception_cases(store, now: datetime, tz) -> int:
    """Stage 4 starts here: every new anomaly becomes (or joins) an exception case at once, so `cases` shows it."""
    from xl_addin.services.cases.case_handling import open_cases_from_anomalies

    return len(open_cases_from_anomalies(store, now, tz=tz))


def detect_for_waybills(desk, store, now: datetime, waybills: set[str]) -> tuple[int, int]:
    """Anomaly rules and case opening for waybills that just received pushed nodes; (anomalies open, cases opened)."""
    res = RefreshResult(as_of=now)
    run_anomalies(desk, store, now, desk_timezone(desk.settings), res, set(waybills))
    return res.anomalies, res.cases_opened
