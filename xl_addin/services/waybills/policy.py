"""The desk's waybill settings, where its workbooks are, and what every waybill use case shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xl_addin.adapters.store.waybills import AUTO, CARRIER_API, MANUAL

CHUNK = 5000


SOURCES = {"manual": MANUAL, "carrier_api": CARRIER_API, "auto": AUTO,
           "人工录入": MANUAL, "物流商接口": CARRIER_API, "自动生成": AUTO}


@dataclass(frozen=True)
class WaybillPolicy:
    """The desk's settings that allocation needs (from [desk] and [waybills])."""

    numbering: str = "carrier"          # "carrier" or "company"
    company_short_code: str = "XL"
    shipper_province: str = "浙江省"
    timezone: str = "Asia/Shanghai"
    bound_by: str = "系统"

    @classmethod
    def from_settings(cls, settings) -> "WaybillPolicy":
        return cls(settings.waybills.numbering, settings.desk.company_short_code.strip().upper(),
                   settings.desk.shipper_province, settings.desk.timezone, settings.waybills.bound_by)


@dataclass
class Books:
    """Where the workbooks are (None: store only, e.g. a test or another desk's scripted run)."""

    bindings: Path | None = None
    orders: Path | None = None
    backup_dir: Path | None = None

    @classmethod
    def for_desk(cls, desk) -> "Books":
        b, o = desk.workbook("bindings"), desk.workbook("orders")
        return cls(b if b.exists() else None, o if o.exists() else None, desk.backup_dir)


def order_for_shipping(rec):
    return shipping_of(rec.order_no, rec.fields)


def shipping_of(order_no: str, fields: dict | None, override=None):
    from xl_addin.domain.waybills.selection import OrderForShipping

    f = fields or {}
    n = f.get("normalized") or {}
    return OrderForShipping(order_no=order_no, destination_province=n.get("province"),
                            tags=tuple(n.get("tags") or ()),
                            weight_kg=f.get("weight_kg") if n.get("weight_kg") is None else n["weight_kg"],
                            volume_m3=f.get("volume_m3") if n.get("volume_m3") is None else n["volume_m3"],
                            preferred_carrier=f.get("preferred_carrier"), override=override,
                            declared_value=n.get("declared_value"))


def service_label(sel) -> str:
    from xl_addin.domain.waybills.carriers import SERVICE_LABELS

    return "+".join(SERVICE_LABELS.get(s, s) for s in (sel.service, *sel.addons))
