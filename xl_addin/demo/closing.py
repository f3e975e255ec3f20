"""The demo's closing stage: signed orders completed, a few follow-ups recorded (one unhappy), last month
archived when it has completed orders, the follow-up reminder e-mail in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.followups import ClosingStore
from xl_addin.adapters.store.orders import COMPLETED, OrderRecords
from xl_addin.bootstrap import store_for
from xl_addin.domain.closing import DONE, month_bounds, previous_month
from xl_addin.services.closing.archive import archive_month
from xl_addin.services.closing.close_orders import (
    complete_signed_orders, followup_counts, followup_list, record_followup, write_followups_report,
)
from xl_addin.services.desk.job_runs import email_report


def demo_closing(desk, now: datetime, say) -> dict[str, Any]:
    """For the demo: close delivered orders, record a few follow-ups (one unhappy), archive last month
    when it has completed orders, and write the follow-up reminder e-mail to the outbox."""

    tz = ZoneInfo(desk.settings.desk.timezone)
    out: dict[str, Any] = {}
    with store_for(desk) as store:
        res = complete_signed_orders(store, now, followup_hours=desk.settings.schedule.followup_hours)
        total = len(OrderRecords(store).all(status=COMPLETED))  # most were completed when their signing came in
        say(f"已完成订单 {total} 单（签收时即完成，本次补完 {len(res.completed)} 单），暂缓 {len(res.held)} 单")
        open_items = [f for f in followup_list(store, now) if f["state"] != DONE]
        answers = [("是", "是", 5, "很满意"), ("是", "否", 3, "比预计晚了一天"), ("否", "是", 2, "外箱压扁")]
        recorded = []
        for f, (intact, fast, score, comment) in zip(open_items, answers):
            recorded.append(record_followup(store, now, f["order_no"], by="订单接收员小王", goods_intact=intact,
                                            speed_ok=fast, score=score, comment=comment))
        say(f"记录满意度回访 {len(recorded)} 单，生成/关联异常 {sum(len(r['case_ids']) for r in recorded)} 个")
        out.update(completed=len(res.completed), completed_total=total, held=len(res.held), followups=recorded)
        month = previous_month(now.astimezone(tz).date())
        start, end = month_bounds(month, tz)
        if ClosingStore(store).completed_between(start, end):
            arch = archive_month(desk, store, month, now, force_open_cases=True)
            say(f"{month} 归档: 订单 {arch['orders']} 单 → {arch['folder']}")
            out["archive"] = arch
        items = followup_list(store, now)
    counts = followup_counts(items)
    report = write_followups_report([f for f in items if f["state"] != DONE], desk.reports_dir, now, tz)
    delivered = email_report(desk, f"满意度回访提醒 {now.astimezone(tz):%Y-%m-%d}",
                             {"待回访": counts["due"], "已超时": counts["overdue"], "已完成": counts["done"]},
                             [["订单编号", "状态"]] + [[f["order_no"], f["state_zh"]] for f in items[:20]],
                             [report], ["logistics@example.com"], env={})
    say(delivered.describe())
    out["email"] = str(delivered.path) if delivered.path else None
    return out
