"""The demo: a desk on embedded defaults, filled with realistic orders, run through every stage built so far."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.errors import UserError

DEMO_MARKER = "demo-desk"
DEMO_ORDERS = 240


@dataclass
class DemoResult:
    desk: Path
    stages: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"desk": str(self.desk), "stages": self.stages}


def demo_config() -> str:
    """The default config with the local sandbox as tracking provider (which has no account-wide rate limit)."""
    return (DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1)
            .replace("requests_per_second = 1.0 ", "requests_per_second = 200.0", 1)
            .replace("concurrency = 4 ", "concurrency = 8 ", 1))


def _prepare(root: Path) -> None:
    marker = root / ".xl-logistics" / DEMO_MARKER
    if root.exists() and any(root.iterdir()):
        if not marker.exists():
            raise UserError(f"{root} 不是空文件夹，也不是演示台账", "请换一个文件夹: xl-logistics demo --dir 新文件夹")
        shutil.rmtree(root)


def run_demo(root: Path, now: datetime, *, orders: int = DEMO_ORDERS,
             say: Callable[[str], None] = lambda text: None) -> DemoResult:
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.services.intake.confirmation import record_confirmation
    from xl_addin.services.intake.validation import validate_orders
    from xl_addin.demo.sample_orders import generate_orders

    root = Path(root).resolve()
    _prepare(root)
    init_desk(root, now, config_text=demo_config())
    (root / ".xl-logistics" / DEMO_MARKER).write_text("created by xl-logistics demo\n", encoding="utf-8")
    desk = load_desk(root)
    result = DemoResult(root)
    tz = desk.settings.desk.timezone
    say(f"演示台账: {root}")

    # Stage 1 — orders arrive and are checked
    sample = generate_orders(orders, seed=7, start=now.replace(tzinfo=None) - timedelta(hours=2))
    schema = ORDERS.sheets[0]
    keys = [c.key for c in schema.columns if c.key in sample[0]]
    cols = {key: schema.columns.index(schema.column(key)) + 1 for key in keys}
    cells = {(i + 2, cols[k]): order[k] for i, order in enumerate(sample) for k in keys}
    book = desk.workbook("orders")
    write_cells(book, schema.name, 1, {}, cells, backup_dir=desk.backup_dir, append_table_rows=True)
    with store_for(desk) as store:
        report = validate_orders(book, now, store=store, tz_name=tz, backup_dir=desk.backup_dir)
        codes = Counter(p.code for r in report.rows for p in r.result.problems)
        s = report.summary
        say(f"① 订单校验: {s['rows']} 行 — 通过 {s['ok']}，待复核 {s['warnings']}，有问题 {s['errors']}")
        for code, n in sorted(codes.items()):
            say(f"     {code}: {n}")
        # the confirmation loop: a person answers for two waiting orders
        waiting = [r for r in report.rows if r.decision.status == "awaiting_customer" and r.order_no]
        review = next((r for r in waiting if r.result.status == "warning"), None)
        if review is not None:
            record_confirmation(book, review.order_no, "已确认", "王芳", now + timedelta(minutes=20),
                                channel="电话", store=store, tz_name=tz, backup_dir=desk.backup_dir)
            say(f"     客户确认: {review.order_no} 由 王芳 电话确认")
        cancel = next((r for r in waiting if r is not review and
                       any(p.code == "PROHIBITED_GOODS" for p in r.result.problems)), None)
        if cancel is not None:
            record_confirmation(book, cancel.order_no, "已取消", "王芳", now + timedelta(minutes=25),
                                channel="电话", store=store, tz_name=tz, backup_dir=desk.backup_dir)
            say(f"     违禁品订单 {cancel.order_no} 经客户同意取消")
        later = validate_orders(book, now + timedelta(hours=2), store=store, tz_name=tz, backup_dir=desk.backup_dir)
        s2 = later.summary
        say(f"     两小时后: 已确认 {s2['confirmed']}，待客户确认 {s2['awaiting']}（其中超时 {s2['overdue']}），已取消 {s2['cancelled']}")
        result.stages["intake"] = {"summary": s, "codes": dict(codes), "after_two_hours": s2}
    say(f"   结果见 {book}")

    # Stage 2 — waybills for the confirmed orders
    from xl_addin.services.waybills import Books, WaybillPolicy, allocate

    later_now = now + timedelta(hours=2, minutes=5)
    with store_for(desk) as store:
        alloc = allocate(store, later_now, policy=WaybillPolicy.from_settings(desk.settings), books=Books.for_desk(desk))
    a = alloc.as_dict()
    say(f"② 运单分配: {a.get('allocated', len(a.get('bindings', [])))} 个运单已绑定；结果见 {desk.workbook('bindings')}")
    result.stages["waybills"] = {k: v for k, v in a.items() if k != "bindings"}

    # Stage 3 — tracking every node against the local sandbox, over simulated days
    from xl_addin.demo.tracking import demo_tracking

    result.stages["tracking"] = tracking = demo_tracking(desk, later_now, say)
    say(f"   结果见 {desk.workbook('tracking')}")
    cycles = tracking.get("cycles") or []
    moment = datetime.fromisoformat(cycles[-1]["now"]) if cycles else later_now

    # Stage 3, continued — the waybills still on their way are subscribed; the provider pushes their nodes
    from xl_addin.demo.push import demo_push

    say("③ 推送订阅: 仍在途的运单改由快递100推送（本地沙箱模拟），关键节点通知写入发件箱")
    result.stages["push"] = pushed = demo_push(desk, moment, lambda text: say(f"     {text}"))
    if pushed.get("until"):
        moment = datetime.fromisoformat(pushed["until"])

    # Stage 4 — exception cases from the anomalies, some handled, the week's summary
    from xl_addin.demo.cases import demo_cases

    say("④ 异常处理:")
    result.stages["cases"] = demo_cases(desk, moment + timedelta(minutes=10), lambda text: say(f"     {text}"))

    # Stage 5 — close signed orders, follow-ups, a month's archive, the report e-mail in the outbox
    from xl_addin.demo.closing import demo_closing

    say("⑤ 订单闭环与归档:")
    result.stages["closing"] = closing = demo_closing(desk, moment + timedelta(hours=1),
                                                      lambda text: say(f"     {text}"))
    if "archive" not in closing:
        # the sample month is still running: jump to the 1st of next month, when the scheduler would archive it
        from xl_addin.services.closing.archive import archive_month

        local = moment.astimezone(ZoneInfo(tz))
        month = f"{local:%Y-%m}"
        first = (local.replace(day=28) + timedelta(days=4)).replace(day=1, hour=6, minute=0)
        with store_for(desk) as store:
            arch = archive_month(desk, store, month, first, force_open_cases=True)
        say(f"     {first:%Y-%m-%d} 月度归档 {month}: 订单 {arch['orders']} 单 → {arch['folder']}"
            "（已完成订单从在用工作簿移入归档）")
        closing["archive"] = arch
    return result
