"""The desk's time zone, resolved in one place: ``[desk] timezone`` → a tzinfo, or a ConfigError naming it.

Every service and command that needs the desk's zone asks :func:`desk_timezone`; a bad name is refused
when the settings are read (:func:`zone_named` is called by ``parse_settings``), so no later ``ZoneInfo``
call can crash on it and nothing silently falls back to China time.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from xl_addin.errors import ConfigError

KEY = "[desk] timezone"
DEFAULT_ZONE = "Asia/Shanghai"


def zone_named(name: Any, *, path: str | None = None) -> tzinfo:
    """The tzinfo of an IANA zone name such as ``Asia/Shanghai``; a ConfigError naming the key otherwise."""
    from xl_addin.domain.tracking.events import china_tz

    text = str(name).strip() if name is not None else ""
    if not text:
        text = DEFAULT_ZONE
    if text == DEFAULT_ZONE:
        return china_tz()  # a fixed UTC+8 where the zone database is missing (Windows without tzdata)
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(text)
    except Exception:  # ZoneInfoNotFoundError, ValueError for "../x", TypeError
        raise ConfigError(f"配置项 {KEY} 的值 “{text}” 不是有效的时区",
                          "请改成 IANA 时区名，例如 timezone = \"Asia/Shanghai\"", path=path) from None


def desk_timezone(settings: Any) -> tzinfo:
    """The desk's tzinfo from its settings (``settings.desk.timezone``)."""
    name = getattr(getattr(settings, "desk", None), "timezone", "")
    source = getattr(settings, "source", None)
    return zone_named(name, path=str(source) if source else None)
