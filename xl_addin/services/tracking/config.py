"""The desk's tracking settings as the tracking use cases need them: anomaly thresholds, provider codes."""

from __future__ import annotations

__all__ = ["anomaly_config", "provider_code", "provider_codes"]

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
    """Our carrier code → the tracking provider's company code (``com``), from the desk's qualified carriers.

    An unreadable or wrong carrier sheet stops the run with a message naming the workbook and the sheet:
    tracking every waybill under a default code would query the wrong carrier without anyone noticing."""
    from xl_addin.adapters.workbook.books import CARRIERS_SHEET
    from xl_addin.errors import UserError, WorkbookError
    from xl_addin.services.waybills.carrier_sheets import load_carriers
    from xl_addin.services.waybills.policy import Books

    books = Books.for_desk(desk)
    try:
        carriers = load_carriers(books)
    except UserError:
        raise
    except Exception as exc:
        raise WorkbookError(f"读不出「{CARRIERS_SHEET.name}」表: {exc}",
                            "请修好物流单号绑定表中的这张表（或清空它的数据行以恢复默认名录）后重试；"
                            "可先运行 xl-logistics doctor", path=str(books.bindings)) from exc
    return {c.code: c.kuaidi100_code for c in carriers if c.kuaidi100_code}


def provider_code(codes: dict[str, str], carrier_code: str | None) -> str:
    return codes.get(carrier_code or "", (carrier_code or "").lower())
