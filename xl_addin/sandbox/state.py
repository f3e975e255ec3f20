"""The sandbox's state: simulated clock, the waybills it invents or is pinned to, subscriptions, faults,
counters; and the failure bodies of Kuaidi100's contract (codes and messages)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .journeys import DEFAULT_MIX, Journey, build_journey


CHINA = timezone(timedelta(hours=8), "CST")
PHONE_REQUIRED = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong"})
MAX_BODY = 1 << 20

MSG = {
    "400": "找不到对应公司或提交的数据不完整",
    "408": "手机号码与快递单号不匹配，请核对",
    "500": "查询无结果，请隔段时间再查",
    "501": "服务器错误",
    "502": "服务器繁忙，请稍后再试",
    "503": "验证签名失败",
    "601": "key已过期，请充值",
}


def _fail(code: str, message: str | None = None) -> dict:
    return {"result": False, "returnCode": code, "message": message or MSG[code]}


class SimClock:
    """Simulated China time: start + speed × real elapsed + manual advances."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        start = start or datetime.now(CHINA)
        self._base = start if start.tzinfo else start.replace(tzinfo=CHINA)
        self._t0 = time.monotonic()
        self.speed = float(speed)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def set(self, when: datetime, speed: float | None = None) -> None:
        with self._lock:
            self._base = when if when.tzinfo else when.replace(tzinfo=CHINA)
            self._t0 = time.monotonic()
            if speed is not None:
                self.speed = float(speed)

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


@dataclass
class Subscription:
    com: str
    num: str
    callbackurl: str
    salt: str | None
    resultv2: str
    subscribed_at: datetime
    next_push_at: datetime
    status: str = "polling"
    pushed_nodes: int = -1
    retries: int = 0
    pushes_ok: int = 0
    pushes_failed: int = 0
    correction: dict | None = None  # a carrier correction to push next: {"how", "com_old", "com_new"}
    updateall: bool = False  # the next push re-sends everything (status "updateall")


@dataclass
class _Waybill:
    journey: Journey
    queries: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None
    locked_view: datetime | None = None


class SandboxState:
    """All of the sandbox's state (``clock`` is the simulated now) and the helpers that keep it."""

    def __init__(
        self, *, customer: str = "SANDBOX-CUSTOMER", key: str = "sandbox-key",
        credentials: dict[str, str] | None = None, expired_customers: tuple[str, ...] = (),
        seed: int | str = 0, mix: dict[str, float] | None = None, start: datetime | None = None,
        speed: float = 1.0, ship_window_hours: float = 48, faults: dict | None = None,
        push_timeout: float = 20.0,
    ) -> None:
        self.credentials = dict(credentials or {customer: key})
        self.expired_customers = set(expired_customers)
        self.seed = seed
        self.mix = dict(mix or DEFAULT_MIX)
        self.clock = SimClock(start, speed)
        self.start = self.clock.now()
        self.ship_window_hours = ship_window_hours
        self.push_timeout = push_timeout
        self._lock = threading.RLock()
        self._waybills: dict[tuple[str, str], _Waybill] = {}
        self._pins: dict[tuple[str, str], dict] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._sub_counts: dict[tuple[str, str, str], int] = {}  # (com, number, month) → subscriptions
        self._moved: dict[tuple[str, str], str] = {}  # (wrong com, number) → the right com
        self.faults: dict[str, Any] = {}
        self._fault_rng = random.Random(f"faults:{seed}")
        self.set_faults(faults or {})
        self.stats: dict[str, Any] = {
            "requests": 0, "queries": 0, "served_queries": 0, "violations": 0, "violations_30min": 0,
            "violations_48_per_day": 0, "locked_numbers": 0, "subscriptions": 0, "pushes_ok": 0,
            "pushes_failed": 0, "return_codes": {}, "queried_numbers": {}, "queried_companies": {},
            "subscribed_companies": {}, "subscribe_requests": {},
        }

    # ------------------------------------------------------------ state helpers

    def set_faults(self, faults: dict) -> None:
        defaults = {"latency_ms": 0, "error_rate": 0.0, "burst": 0, "http_burst": 0, "slow_ms": 0,
                    "slow_next": 0, "malformed_next": 0, "malformed_rate": 0.0}
        with self._lock:
            merged = dict(defaults)
            if not faults.get("reset"):
                merged.update(self.faults)
            merged.update({k: v for k, v in faults.items() if k in defaults})
            self.faults = merged

    def pin(self, num: str, com: str, **spec: Any) -> Journey:
        """Fix a waybill's journey (scenario, phone, shipped_at, from, to) before it is queried."""
        with self._lock:
            key = (com.lower(), num.strip())
            self._pins[key] = spec
            self._waybills.pop(key, None)
            return self._waybill(com, num).journey

    def _waybill(self, com: str, num: str, *, phone: str | None = None, to: str | None = None,
                 origin: str | None = None) -> _Waybill:
        """The waybill's record, created on first sight: a pinned journey, else one built from the
        seed that takes the phone, origin and destination the desk sent (the carrier has the order's receiver)."""
        key = (com.lower(), num.strip())
        wb = self._waybills.get(key)
        if wb is None:
            spec = dict(self._pins.get(key, {}))
            if phone and not spec.get("phone"):
                digits = "".join(ch for ch in str(phone) if ch.isdigit())
                if len(digits) >= 11:
                    spec["phone"] = digits[-11:]
                elif len(digits) >= 4:
                    spec["phone"] = "1380000" + digits[-4:]
            if to and not spec.get("to"):
                spec["to"] = str(to)
            if origin and not spec.get("from"):
                spec["from"] = str(origin)
            shipped = spec.get("shipped_at")
            if isinstance(shipped, str):
                shipped = datetime.fromisoformat(shipped)
                if shipped.tzinfo is None:
                    shipped = shipped.replace(tzinfo=CHINA)
            journey = build_journey(
                key[1], key[0], seed=self.seed, start=self.start, mix=self.mix,
                scenario=spec.get("scenario"), shipped_at=shipped, phone=spec.get("phone"),
                origin_text=spec.get("from"), dest_text=spec.get("to"), window_hours=self.ship_window_hours,
            )
            wb = self._waybills[key] = _Waybill(journey)
        return wb

    def journey(self, com: str, num: str) -> Journey:
        with self._lock:
            return self._waybill(com, num).journey

    def _count(self, code: str) -> None:
        rc = self.stats["return_codes"]
        rc[code] = rc.get(code, 0) + 1
