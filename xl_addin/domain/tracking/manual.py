"""Nodes a person enters by hand (人工录入) when the carrier system is silent."""

from __future__ import annotations

from datetime import datetime

from .events import TrackingEvent, extract_courier, extract_outlet
from .status import SubStatus

# the Tracking Log's node list → normalised status
MANUAL_NODES: dict[str, SubStatus] = {
    "已揽收": SubStatus.IN_TRANSIT_PICKED_UP,
    "运输中": SubStatus.IN_TRANSIT_OTHER,
    "到达派送网点": SubStatus.IN_TRANSIT_ARRIVAL,
    "派件中": SubStatus.OUT_FOR_DELIVERY_OTHER,
    "已签收": SubStatus.DELIVERED_OTHER,
    "异常": SubStatus.EXCEPTION_OTHER,
}


def manual_event(waybill_no: str, carrier_code: str, node_name: str, time: datetime, *,
                 outlet: str | None = None, note: str | None = None, evidence: str | None = None,
                 entered_by: str | None = None) -> TrackingEvent:
    """A staff-entered node; raises ValueError for a node name not in the list or a naive time."""
    name = (node_name or "").strip()
    if name not in MANUAL_NODES:
        raise ValueError(f"节点名称「{node_name}」不在列表中（可选：{'、'.join(MANUAL_NODES)}）")
    sub = MANUAL_NODES[name]
    text = "【人工录入】" + name + (f"：{note.strip()}" if note and note.strip() else "")
    if outlet and outlet.strip():
        text += f"（{outlet.strip()}）"
    return TrackingEvent(
        waybill_no=waybill_no.strip(), carrier_code=carrier_code or "", time=time, context=text,
        status=sub.main, sub_status=sub, raw_code=None, raw_status_name=name, source="manual",
        outlet=(outlet or "").strip() or extract_outlet(note), courier=extract_courier(note),
        extra={"node_name": name, "evidence": evidence, "entered_by": entered_by},
    )
