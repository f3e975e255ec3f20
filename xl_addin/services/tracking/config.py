"""The desk's tracking settings as the tracking use cases need them: anomaly thresholds, provider codes."""

from __future__ import annotations

import logging

from xl_addin.adapters.providers.factory import settings_tz as _tz

__all__ = ["_tz", "anomaly_config", "provider_code", "provider_codes"]

log = logging.getLogger(__name__)


def setting(section, name: str, default):
    return getattr(section, name, default)


def anomaly_config(settings):
    from xl_addin.domain.tracking.anomalies import AnomalyConfig

    t = settings.tracking
    return AnomalyConfig(
        no_pickup_hours=float(setting(t, "no_pickup_hours", 24.0)),
        after_pickup_hours=float(setting(t, "after_pickup_hours", 24.0)),
        in_transit_hours=float(setting(t, "in_transit_hours", 48.0)),
        pause_on_non_working_days=bool(setting(t, "pause_on_non_working_days", False)),
        no_record_days=float(setting(t, "no_record_days", 3)))


def provider_codes(desk) -> dict[str, str]:
    """Our carrier code → the tracking provider's company code (``com``), from the desk's qualified carriers."""
    from xl_addin.domain.waybills.carriers import load_default_carriers

    carriers = load_default_carriers()
    try:
        from xl_addin.services.waybills.carrier_sheets import load_carriers
        from xl_addin.services.waybills.policy import Books

        carriers = load_carriers(Books.for_desk(desk))
    except Exception as exc:  # an unreadable carriers sheet must not stop tracking: fall back to the defaults
        log.warning("carriers sheet not readable, using defaults: %s", exc)
    return {c.code: c.kuaidi100_code for c in carriers if c.kuaidi100_code}


def provider_code(codes: dict[str, str], carrier_code: str | None) -> str:
    return codes.get(carrier_code or "", (carrier_code or "").lower())
