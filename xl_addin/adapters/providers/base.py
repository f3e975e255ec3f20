"""The tracking-provider contract and which provider a desk uses.

A client is built per worker thread by a factory (``Callable[[], TrackingProvider]``); the use cases
only ever call the methods below. Kuaidi100's client (``adapters.providers.kuaidi100``) keeps the
contract, and so does anything that stands in for it (the sandbox speaks Kuaidi100's protocol).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from xl_addin.errors import ConfigError

SANDBOX_CUSTOMER, SANDBOX_KEY = "SANDBOX-CUSTOMER", "sandbox-key"


class TrackingProvider(Protocol):
    """What the tracking use cases ask of a provider client."""

    def query(self, com: str, num: str, phone: str | None = None, **kw: Any) -> Any:
        """One waybill's nodes: a QueryOutcome (kind ok / not_found / waybill_problem / retryable / config_error)."""

    def autonumber(self, num: str) -> Any:
        """Which carriers the number may belong to: an AutonumberOutcome."""

    def close(self) -> None:
        """Release the connection pool."""


@dataclass
class ProviderSpec:
    name: str
    base_url: str
    customer: str
    key: str


def provider_spec(settings, env: dict[str, str] | None = None) -> ProviderSpec:
    """Which tracking service this desk uses, or a ConfigError saying exactly what to set."""
    env = os.environ if env is None else env
    t = settings.tracking
    customer, key = env.get(t.customer_env, ""), env.get(t.key_env, "")
    if t.provider == "sandbox":
        base = env.get("KUAIDI100_BASE_URL") or t.base_url
        if not base:
            raise ConfigError("台账配置为使用沙箱（[tracking] provider = \"sandbox\"），但没有沙箱地址",
                              "先运行 xl-logistics sandbox --port 8765，再在 xl-logistics.toml 的 [tracking] 写 "
                              "base_url = \"http://127.0.0.1:8765\"，或设置环境变量 KUAIDI100_BASE_URL")
        return ProviderSpec("sandbox", base, customer or SANDBOX_CUSTOMER, key or SANDBOX_KEY)
    if not customer or not key:
        missing = " 和 ".join(n for n, v in ((t.customer_env, customer), (t.key_env, key)) if not v)
        raise ConfigError(f"未配置物流查询账号：缺少环境变量 {missing}",
                          f"请设置环境变量 {t.customer_env}（快递100 企业账号 customer）和 {t.key_env}（授权 key）；"
                          "或在 xl-logistics.toml 的 [tracking] 写 provider = \"sandbox\" 使用本地沙箱")
    return ProviderSpec("kuaidi100", settings.tracking_base_url(env), customer, key)
