"""The demo's push stage: the sandbox and the receiver in-process, the desk's open waybills subscribed,
pushes over simulated days, the key-node notices in the outbox."""

from __future__ import annotations

import os
import time as _time
from datetime import datetime, timedelta
from typing import Any, Callable


def demo_push(desk, now: datetime, say: Callable[[str], None] = lambda text: None, *,
              days: int = 5, step_hours: float = 1.0) -> dict[str, Any]:
    """Push-driven tracking end to end on this machine: the sandbox and the receiver run in-process,
    the desk's open waybills are subscribed, the sandbox pushes over simulated days, and the key-node
    notices land in the outbox (no SMTP in the demo)."""
    from xl_addin.adapters.store.notifications import NotificationLog
    from xl_addin.adapters.store.subscriptions import SubscriptionStore
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client
    from xl_addin.bootstrap import store_for
    from xl_addin.receiver import serve_receiver
    from xl_addin.sandbox import serve_sandbox
    from xl_addin.services.push.service import CALLBACK_PATH, subscribe_waybills
    from xl_addin.demo.tracking import DEMO_SCENARIOS
    from xl_addin.services.tracking import provider_code, provider_codes, register_bindings

    started = _time.monotonic()
    with store_for(desk) as store:
        phones, _ = register_bindings(store, now)
        tracked = [s for s in TrackingStore(store).all_status() if not s["is_final"]]
    codes = provider_codes(desk)
    sandbox = serve_sandbox(start=now, speed=0.0, seed=11)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XL_LOGISTICS_SMTP", "XL_LOGISTICS_WEBHOOK",
                                                                       "XL_LOGISTICS_SMS"))}
    receiver = serve_receiver(desk, host="127.0.0.1", port=0, clock=sandbox.app.clock.now, env=env,
                              send_interval=3600, access_log=False)
    summary: dict[str, Any] = {"sandbox": sandbox.base_url, "receiver": receiver.url, "waybills": len(tracked)}
    try:
        for i, s in enumerate(tracked):
            bound = datetime.fromisoformat(s["bound_at"]) if s["bound_at"] else now
            spec = {"scenario": DEMO_SCENARIOS[i % len(DEMO_SCENARIOS)],
                    "shipped_at": (max(bound, now - timedelta(hours=6)) + timedelta(hours=2)).isoformat()}
            if phones.get(s["waybill_no"]):
                spec["phone"] = "1380000" + phones[s["waybill_no"]]
            sandbox.app.pin(s["waybill_no"], provider_code(codes, s["carrier_code"]) or "zhongtong", **spec)
        url = f"{receiver.url}{CALLBACK_PATH}?desk={desk.settings.desk.name}"
        client = Kuaidi100Client(sandbox.base_url, sandbox.customer, sandbox.key, timeout=(2, 5))
        sub = subscribe_waybills(desk, now, client=client, url=url, rate=None, env=env)
        say(f"推送跟踪: 沙箱 {sandbox.base_url} → 回调 {receiver.url}{CALLBACK_PATH}；订阅 {sub.submitted} 单"
            f"（成功 {sub.accepted}，重复 {sub.duplicate}，被拒 {len(sub.refused)}）")
        t, end = now, now + timedelta(days=days)
        step = timedelta(hours=step_hours)
        day_mark = now
        while t < end:
            t += step
            sandbox.app.clock.set(t, 0.0)
            sandbox.app.push_due(t, workers=8)
            if t - day_mark >= timedelta(days=1):
                day_mark = t
                receiver.service.flush(t)
                again = subscribe_waybills(desk, t, client=client, url=url, rate=None, env=env)  # aborted ones
                with store_for(desk) as store:
                    written = NotificationLog(store).counts().get("sent", 0)
                say(f"     {t:%m-%d %H:%M} 已收推送 {sandbox.app.stats['pushes_ok']}（失败 {sandbox.app.stats['pushes_failed']}），"
                    f"重新订阅 {again.submitted}，通知已写入发件箱 {written}")
        receiver.service.flush(t)
        summary["until"] = t.isoformat()
        client.close()
        with store_for(desk) as store:
            summary["subscriptions"] = SubscriptionStore(store).counts()
            log_rows = NotificationLog(store).all()
            summary["push_events"] = TrackingStore(store).count_events(source="push")
        summary["pushes"] = {"ok": sandbox.app.stats["pushes_ok"], "failed": sandbox.app.stats["pushes_failed"]}
        summary["receiver"] = dict(receiver.service.counts)
        by_node: dict[str, int] = {}
        for r in log_rows:
            by_node[r.node] = by_node.get(r.node, 0) + 1
        summary["notifications"] = {"total": len(log_rows), "by_node": by_node,
                                    "outbox": str(desk.outbox_dir),
                                    "examples": [f"{r.recipient}: {r.body}" for r in log_rows[:3]]}
        from xl_addin.display.vocabulary import labels, tally

        say(f"     订阅状态: {tally(labels('subscription', summary['subscriptions']))}；"
            f"推送入库节点 {summary['push_events']} 条")
        say(f"     客户通知 {len(log_rows)} 条（{tally(labels('notice_node', by_node))}），已写入发件箱 {desk.outbox_dir}")
        for line in summary["notifications"]["examples"]:
            say(f"       例: {line}")
    finally:
        receiver.stop()
        sandbox.stop()
    summary["seconds"] = round(_time.monotonic() - started, 1)
    return summary
