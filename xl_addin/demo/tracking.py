"""The tracking part of the demo: a local Kuaidi100 sandbox, one journey of every scenario, simulated days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from xl_addin.config.timezone import desk_timezone
from xl_addin.services.tracking.config import provider_code, provider_codes
from xl_addin.services.tracking.refresh_run import refresh
from xl_addin.services.tracking.registration import register_bindings

# Most parcels arrive as promised; every problem scenario still appears several times in a demo of 200+.
DEMO_SCENARIOS = ("normal",) * 9 + ("locker",) * 3 + ("delayed",) * 2 + (
    "stalled_after_pickup", "stalled_in_transit", "lost", "damaged", "rejected_returned", "no_record")


def demo_tracking(desk, now: datetime, say: Callable[[str], None] = lambda text: None, *,
                  days: int = 5, cycles_per_day: int = 3) -> dict[str, Any]:
    """Start the sandbox in-process, pin one journey of every scenario onto the desk's bound waybills,
    and run refresh cycles over simulated days (sandbox clock and ``now`` advance together)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.sandbox import serve_sandbox

    with store_for(desk) as store:
        register_bindings(store, now)
        from xl_addin.adapters.store.tracking import TrackingStore

        tracked = TrackingStore(store).all_status()
    with store_for(desk) as store:
        phones, _ = register_bindings(store, now)
    codes = provider_codes(desk)
    sandbox = serve_sandbox(start=now, speed=0.0, seed=7)
    summary: dict[str, Any] = {"cycles": [], "sandbox": sandbox.base_url}
    try:
        for i, s in enumerate(tracked):
            scenario = DEMO_SCENARIOS[i % len(DEMO_SCENARIOS)]
            bound = datetime.fromisoformat(s["bound_at"]) if s["bound_at"] else now
            spec = {"scenario": scenario, "shipped_at": (bound + timedelta(hours=2)).isoformat()}
            if phones.get(s["waybill_no"]):  # the carrier knows the receiver's phone (SF/ZTO check it)
                spec["phone"] = "1380000" + phones[s["waybill_no"]]
            sandbox.app.pin(s["waybill_no"], provider_code(codes, s["carrier_code"]) or "zhongtong", **spec)
        say(f"③ 物流跟踪: 本地快递100沙箱 {sandbox.base_url}，{len(tracked)} 个运单，模拟 {days} 天")
        from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client

        def factory():
            return Kuaidi100Client(sandbox.base_url, sandbox.customer, sandbox.key, tz=desk_timezone(desk.settings),
                                   timeout=(2, 5))

        step = timedelta(hours=24 / cycles_per_day)
        t = now
        for _ in range(days * cycles_per_day):
            t = t + step
            sandbox.app.clock.set(t, 0.0)
            r = refresh(desk, t, client_factory=factory)
            c = r.counts()
            summary["cycles"].append({"now": t.isoformat(), **c})
            say(f"     {t:%m-%d %H:%M} 查询 {c['queried']}，有更新 {c['updated']}，无变化 {c['unchanged']}，"
                f"无轨迹 {c['not_found']}，失败 {c['failed']}，频率规则跳过 {c['skipped_by_rule']}，异常 {c['anomalies']}")
        summary["sandbox_stats"] = {k: v for k, v in sandbox.app.stats.items() if k != "queried_numbers"}
        with store_for(desk) as store:
            from xl_addin.adapters.store.tracking import open_anomalies

            by_rule: dict[str, int] = {}
            for a in open_anomalies(store):
                by_rule[a["reason"].split("：")[0].split("（")[0]] = by_rule.get(a["reason"].split("：")[0].split("（")[0], 0) + 1
        summary["open_anomalies"] = by_rule
        for k, v in sorted(by_rule.items()):
            say(f"     异常 {k}: {v}")
        say(f"     频率规则违规（沙箱统计）: {sandbox.app.stats['violations']}")
    finally:
        sandbox.stop()
    return summary
