"""Store one batch of the provider's answers in one transaction and judge the waybills they touched."""

from __future__ import annotations

from datetime import datetime, timedelta

from xl_addin.services.closing.order_completion import complete_on_signing
from xl_addin.services.tracking.anomalies import evaluate_waybills
from xl_addin.services.tracking.registration import follow_forwarding
from xl_addin.services.tracking.report import RefreshResult

MIN_RETRY = timedelta(minutes=30)


def store_results(store, ts, now: datetime, interval: timedelta, run_id: int, batch: list, res: RefreshResult,
                   touched: set[str], evaluated: set[str], unknown: set[str], cfg, tz, config_error):
    """Store one batch of answers in one transaction and run the anomaly rules on the waybills they
    touched (their nodes are at hand now; the run's ``now`` is fixed, so the verdict is the one the
    end of the run would reach). Returns the first configuration error seen."""
    from xl_addin.adapters.store.subscriptions import NoticeQueue
    from xl_addin.adapters.providers.kuaidi100 import CONFIG_ERROR, NOT_FOUND, OK, WAYBILL_PROBLEM, RETRYABLE

    with store.transaction():
        answered = [(item, out) for item, out in batch if out.kind != CONFIG_ERROR]
        oks = [(item, out) for item, out in answered if out.kind == OK]
        new = ts.add_events([e for _item, out in oks for e in out.events], now)
        NoticeQueue(store).add(new, now)
        res.new_events += len(new)
        follow_forwarding(store, new, now)
        fresh: dict[str, int] = {}
        for e in new:
            fresh[e.waybill_no] = fresh.get(e.waybill_no, 0) + 1
        waybills = list(dict.fromkeys(item.waybill_no for item, _out in answered))
        events = ts.events_of(waybills) if waybills else {}
        for item, _out in oks:
            ts.refresh_status(item.waybill_no, events.get(item.waybill_no, []), now)
            complete_on_signing(store, item.waybill_no, now)
        rows = ts.status_rows(waybills)
        for item, out in batch:
            kind = out.kind
            if kind == CONFIG_ERROR:
                if config_error is None:
                    config_error = out
                ts.record_check(item.waybill_no, now, kind, out.message, None, checked=False)
                continue
            res.queried += 1
            touched.add(item.waybill_no)
            ts.add_attempts(item.waybill_no, now, int(getattr(out, "attempts", 1) or 1) - 1)
            if kind == OK:
                final = bool((rows.get(item.waybill_no) or (None, None, 0))[2])
                ts.record_check(item.waybill_no, now, kind, out.message, None if final else now + interval,
                                unknown_codes=out.unknown_codes)
                unknown.update(out.unknown_codes)
                if fresh.get(item.waybill_no):
                    res.updated += 1
                else:
                    res.unchanged += 1
            elif kind == NOT_FOUND:
                res.not_found += 1
                ts.record_check(item.waybill_no, now, kind, out.message, now + interval, mark_not_found=True)
            elif kind == WAYBILL_PROBLEM:
                res.failed += 1
                res.problems.append({"waybill_no": item.waybill_no, "code": out.return_code or "",
                                     "message": out.message, "hint": out.hint or ""})
                ts.record_check(item.waybill_no, now, kind, f"{out.message} {out.hint or ''}".strip(),
                                now + interval)
            else:  # RETRYABLE: stays due; the attempt counts against the frequency rules
                res.failed += 1
                res.problems.append({"waybill_no": item.waybill_no, "code": out.return_code or "",
                                     "message": out.message, "hint": out.hint or ""})
                ts.record_check(item.waybill_no, now, RETRYABLE, f"{out.message} {out.hint or ''}".strip(),
                                now + MIN_RETRY, checked=False)
            ts.item_done(run_id, item.waybill_no, kind, now)
        evaluate_waybills(ts, now, cfg, tz, waybills, rows, events, res)
        evaluated.update(waybills)
    return config_error
