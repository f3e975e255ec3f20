"""The demo's exception stage: cases opened from the anomalies, some moved through their workflow,
the ledger synced, the week's summary written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.bootstrap import store_for
from xl_addin.domain import cases as dc
from xl_addin.services.cases.case_handling import close_case, open_cases_from_anomalies, sla_config, update_case
from xl_addin.services.cases.ledger_sync import sync_ledger
from xl_addin.services.closing.weekly_summary import week_label, write_summary


def demo_cases(desk: Any, now: datetime, say: Any = print) -> dict[str, Any]:
    """For the demo: open cases from the anomalies, move some through their workflow, sync the ledger,
    write the week's summary. Returns what it did."""
    tz = ZoneInfo(desk.settings.desk.timezone)
    cfg = sla_config(desk.settings)
    with store_for(desk) as store:
        opened = open_cases_from_anomalies(store, now, tz)
        say(f"异常案件: 未结 {len(CaseStore(store).open_cases())} 件（跟踪刷新与推送发现异常时已自动开案；本次新开 {len(opened)} 件）")
        moved = []
        for i, case in enumerate(CaseStore(store).open_cases()[:3]):
            at = now + timedelta(minutes=10 + i)
            steps: dict[str, Any] = {"submitted_at": at, "handler": "异常处理专员", "carrier_contact": "物流商客服",
                                     "carrier_replied_at": at + timedelta(hours=1)}
            if case["type"] == dc.DELAY:
                steps.update(cause="中转积压", new_expected=at + timedelta(days=1), customer_informed_at=at + timedelta(hours=2))
            elif case["type"] in (dc.LOST, dc.DAMAGED):
                steps.update(claim_started_at=at + timedelta(hours=3), claim_status="已发起", claim_amount="100")
            update_case(store, at + timedelta(hours=3), case["case_id"], steps, by="异常处理专员", tz=tz)
            if i == 0:
                close_case(store, at + timedelta(hours=4), case["case_id"], by="异常处理专员", result="已联系物流商处理完毕",
                           responsible_party="物流商", responsibility_reason="中转延误",
                           customer_informed_at=at + timedelta(hours=2), receiver_informed_at=at + timedelta(hours=4))
            moved.append(case["case_id"])
        say(f"推进处理 {len(moved)} 件（其中结案 {min(1, len(moved))} 件）")
        later = now + timedelta(hours=5)
        sync = sync_ledger(store, desk.workbook("exceptions"), later, tz=tz, backup_dir=desk.backup_dir, config=cfg)
        say(sync.message)
        week = week_label(later - timedelta(days=7), tz)  # the last full week, as the Monday job reports it
        out = write_summary(store, week, desk.reports_dir / f"周度汇总-{week}.xlsx", tz=tz, config=cfg,
                            desk_name=desk.settings.desk.name)
        say(f"周报已写入 {out['path']}")
    return {"opened": [c["case_id"] for c in opened], "moved": moved, "ledger": sync.as_dict(),
            "summary": out["path"], "week": week}
