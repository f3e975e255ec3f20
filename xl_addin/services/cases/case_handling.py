"""Exception cases: opened from anomalies, carrier problem states or by a person; handled by type; closed.

Every change goes to the case's history (who, when, old → new) and to the audit log in the same
transaction. The handling path of each type is enforced where the procedure demands an order:
an address is only corrected after the customer confirmed it; a case closes only with a result,
a responsible party and both the customer and the order receiver informed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.shipments import ShipmentLookup
from xl_addin.adapters.store.store import Store, from_iso
from xl_addin.domain import cases as dc
from xl_addin.display.moments import desk_time
from xl_addin.display.vocabulary import label
from xl_addin.domain.sla import SlaConfig, evaluate_case, sla_status
from xl_addin.errors import UserError

CHINA = ZoneInfo("Asia/Shanghai")
SYSTEM = "系统"

FIELD_ZH = {
    "order_no": "订单编号", "waybill_no": "物流单号", "type": "异常类型", "severity": "严重程度", "found_at": "发现时间",
    "found_by": "发现人", "description": "异常描述", "evidence": "凭证", "submitted_at": "提交处理时间",
    "handler": "处理人", "carrier_contact": "物流商联系人", "carrier_replied_at": "物流商回复时间", "cause": "原因",
    "new_expected": "新预计时间", "claim_started_at": "理赔发起时间", "claim_amount": "理赔金额",
    "claim_status": "理赔状态", "materials_sent_at": "理赔材料发送时间", "reship_refund": "补发/退款",
    "error_source": "错误来源", "binding_checked_at": "绑定核对时间", "correction_requested_at": "更正重派申请时间",
    "address_confirmed_at": "地址确认时间", "corrected_address": "更正后地址", "responsible_party": "责任方",
    "responsibility_reason": "责任说明", "result": "处理结果", "customer_informed_at": "客户告知时间",
    "customer_feedback": "客户反馈", "receiver_informed_at": "订单接收员告知时间", "closed_at": "结案时间",
    "case_status": "案件状态",
}


class CaseInputError(UserError):
    """A value for a case field is not acceptable (wrong choice, unreadable time, step out of order)."""


class CaseNotFound(UserError):
    """No case with that id."""


def sla_config(settings: Any = None) -> SlaConfig:
    """Limits from the desk's ``[cases]`` section when the config has one, else the procedure's defaults."""
    section = getattr(settings, "cases", None) if settings is not None else None
    if section is None:
        return SlaConfig()
    base = SlaConfig()
    limits = dict(base.limits)
    warn = dict(base.warn)
    limits.update(getattr(section, "sla_minutes", None) or {})
    warn.update(getattr(section, "warn_minutes", None) or {})
    return SlaConfig(limits=limits, warn=warn)


# ------------------------------------------------------------------ values

def parse_time(value: Any, tz: ZoneInfo = CHINA) -> datetime | None:
    """A time from the CLI or a cell: aware datetime, naive (desk time), or text like 2026-11-26 09:30."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value).strip().replace("Z", "+00:00").replace("/", "-")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CaseInputError(f"时间格式不对: {value!r}", "请写成 2026-11-26 09:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def coerce(field: str, value: Any, tz: ZoneInfo = CHINA, now: datetime | None = None) -> Any:
    """The stored form of one field's value; ``now`` lets people write "now" for a time."""
    if field not in dc.EDITABLE_FIELDS:
        raise CaseInputError(f"没有名为 {field!r} 的案件字段", f"可改的字段: {', '.join(dc.EDITABLE_FIELDS)}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field in dc.TIME_FIELDS:
        if isinstance(value, str) and value.strip().lower() in ("now", "现在") and now is not None:
            return now
        return parse_time(value, tz)
    if field in dc.MONEY_FIELDS:
        try:
            amount = Decimal(str(value).replace("¥", "").replace(",", "").strip())
        except InvalidOperation:
            raise CaseInputError(f"{FIELD_ZH[field]}不是金额: {value!r}", "请写数字，如 120.50") from None
        if amount < 0:
            raise CaseInputError(f"{FIELD_ZH[field]}不能为负数: {value!r}", "请写不小于 0 的金额")
        return str(amount.quantize(Decimal("0.01")))
    text = str(value).strip()
    if field == "type":
        try:
            return dc.normalise_type(text)
        except ValueError as exc:
            raise CaseInputError(str(exc), "请选择列表里的类型") from None
    if field == "severity":
        text = dc.SEVERITY_ALIASES.get(text.casefold(), text)
    choices = dc.CHOICE_FIELDS.get(field)
    if choices and text not in choices:
        raise CaseInputError(f"{FIELD_ZH[field]} {text!r} 不在可选范围（{'、'.join(choices)}）", "请从下拉列表选择")
    return text


def case_view(case: dict[str, Any], now: datetime, config: SlaConfig | None = None) -> dict[str, Any]:
    """A case as JSON-able data with its clocks, SLA status and handling steps."""
    clocks = evaluate_case(case, now, config)
    status, detail = sla_status(clocks)
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in case.items()}
    out.update(status=case.get("case_status"), sla_status=status, sla_detail=detail,
               clocks=[c.as_dict() for c in clocks],
               steps=[{"step": s.key, "label": s.label, "done": s.done} for s in dc.handling_steps(case)])
    return out


def claim_facts(store: Store, case: dict[str, Any]) -> dict[str, Any]:
    """The order's declared value (保价金额, read at intake from e.g. 保价5000元) beside the case's claim amount.

    A carrier pays an insured shipment up to its declared value: a claim above it is flagged so the
    handler asks for the right amount (or the proof of value) before sending the materials."""
    from xl_addin.adapters.store.orders import OrderRecords

    rec = OrderRecords(store).get(case["order_no"]) if case.get("order_no") else None
    declared = ((rec.fields or {}).get("normalized") or {}).get("declared_value") if rec else None
    out: dict[str, Any] = {"declared_value": None, "claim_over_declared": False}
    if declared in (None, ""):
        return out
    try:
        value = Decimal(str(declared))
    except InvalidOperation:
        return out
    out["declared_value"] = str(value)
    claim = case.get("claim_amount")
    try:
        out["claim_over_declared"] = claim not in (None, "") and Decimal(str(claim)) > value
    except InvalidOperation:
        pass
    return out


def claim_warning(facts: dict[str, Any], claim_amount: Any) -> str | None:
    if not facts.get("claim_over_declared"):
        return None
    return (f"⚠ 理赔金额 {claim_amount} 超过订单保价金额 {facts['declared_value']}："
            "保价件最多按保价金额赔付，请核对金额或准备价值证明")


def list_cases(store: Store, now: datetime, *, open_only: bool = False,
               config: SlaConfig | None = None) -> list[dict[str, Any]]:
    return [case_view(c, now, config) for c in CaseStore(store).all(open_only=open_only)]


def get_case(store: Store, case_id: str) -> dict[str, Any]:
    case = CaseStore(store).get(case_id.strip())
    if case is None:
        raise CaseNotFound(f"没有编号为 {case_id} 的异常案件", "用 xl-logistics cases 查看全部案件编号")
    return case


# ------------------------------------------------------------------ opening

def _binding_facts(store: Store, waybill_no: str | None, order_no: str | None) -> tuple[str | None, str | None, str | None]:
    from xl_addin.adapters.store.waybills import WaybillStore

    ws = WaybillStore(store)
    b = ws.current_by_waybill(waybill_no) if waybill_no else (ws.current(order_no) if order_no else None)
    if b is not None:
        return order_no or b.order_no, waybill_no or b.waybill_no, b.carrier_code
    carrier = None
    if waybill_no:
        tracked = ShipmentLookup(store).tracked_waybill(waybill_no)
        if tracked:
            order_no, carrier = order_no or tracked[0], tracked[1]
    elif order_no:
        latest = ShipmentLookup(store).latest_tracked_for_order(order_no)
        if latest:
            waybill_no, carrier = latest
    return order_no, waybill_no, carrier


def _create(store: Store, now: datetime, fields: dict[str, Any], by: str, source: str, source_ref: str | None,
            tz: ZoneInfo) -> dict[str, Any]:
    cs = CaseStore(store)
    case_id = cs.next_case_id(now.astimezone(tz).strftime("%Y%m%d"))
    case = {**fields, "case_id": case_id, "case_status": fields.get("case_status") or dc.PENDING,
            "source": source, "source_ref": source_ref}
    cs.insert(case, now)
    cs.add_history(case_id, now, by, "创建", None, case["type"],
                   note=f"{case.get('description') or ''}（来源: {label('case_source', source)}）".strip())
    store.audit(now, by, "case_opened", "case", case_id,
                {"waybill_no": case.get("waybill_no"), "order_no": case.get("order_no"), "type": case["type"],
                 "source": source})
    return cs.get(case_id)  # type: ignore[return-value]


def _unknown_shipment(store: Store, waybill_no: str | None, order_no: str | None) -> str | None:
    """What the report names that this desk has no record of (None when every named number is known)."""
    known = ShipmentLookup(store)
    if waybill_no and not known.knows_waybill(waybill_no):
        return f"物流单号 {waybill_no}"
    if order_no and not known.knows_order(order_no):
        return f"订单编号 {order_no}"
    return None


def report_exception(store: Store, now: datetime, *, type: str, description: str, by: str,
                     waybill_no: str | None = None, order_no: str | None = None, evidence: str | None = None,
                     source: str = "manual", severity: str | None = None, found_at: datetime | None = None,
                     handler: str | None = None, tz: ZoneInfo = CHINA, off_system: str | None = None,
                     desk_root: Path | None = None, source_key: str | None = None) -> dict[str, Any]:
    """Open a case (or add to the open one of the same waybill and type); returns the case.

    ``source_key``: what reported it (a staff row of the ledger, say), attached to the case in the same
    transaction, so a run killed right after finds the case by it instead of opening another.

    ``handler`` given: the report is submitted to that handler now (the 30-minute clock is met).
    The waybill / order must be known to the desk unless ``off_system`` gives the reason it is not.
    With ``desk_root``, an evidence file must exist; it is copied into the desk's evidence folder
    and its SHA-256 recorded with the case (a link is kept as given)."""
    case_type = coerce("type", type)
    if not (waybill_no or order_no):
        raise CaseInputError("请给出物流单号或订单编号", "例如 --waybill SF1234567890123")
    if not (by or "").strip():
        raise CaseInputError("请写明报告人", "例如 --by 张三")
    if source not in dc.SOURCES:
        raise CaseInputError(f"来源 {source!r} 不在可选范围", f"可选: {', '.join(dc.SOURCES)}")
    try:
        sev = dc.normalise_severity(severity, case_type)
    except ValueError as exc:
        raise CaseInputError(str(exc), "请写 高、中 或 低") from None
    waybill_no, order_no = (waybill_no or "").strip() or None, (order_no or "").strip() or None
    reason = (off_system or "").strip() or None
    if off_system is not None and reason is None:
        raise CaseInputError("台账外运单要写明原因", '例如 --off-system "客户自行寄出，未经本台账"')
    unknown = _unknown_shipment(store, waybill_no, order_no)
    if unknown and reason is None:
        raise CaseInputError(f"{unknown} 不是本台账的运单或订单，未登记案件",
                             '请核对单号；确属台账外寄出的货物，加上 --off-system "原因"')
    order_no, waybill_no, carrier = _binding_facts(store, waybill_no, order_no)
    kept = None
    if desk_root is not None and evidence:
        from xl_addin.services.cases.evidence import keep_evidence

        kept = keep_evidence(evidence, desk_root, now, tz)
    if kept is not None:
        evidence = kept.stored
    cs = CaseStore(store)
    with store.transaction():
        existing = cs.open_case_for(waybill_no, case_type) if waybill_no else None
        if existing is not None:
            cs.add_history(existing["case_id"], now, by, "重复报告", None, description,
                           note=f"凭证: {evidence}" if evidence else "")
            store.audit(now, by, "case_repeated", "case", existing["case_id"], {"source": source})
            _evidence_and_reason(store, existing["case_id"], kept, reason if unknown else None, by, now)
            if source_key:
                cs.attach_source(source_key, existing["case_id"], now)
            return {**cs.get(existing["case_id"]), "duplicate": True}  # type: ignore[dict-item]
        fields = {"order_no": order_no, "waybill_no": waybill_no, "carrier_code": carrier, "type": case_type,
                  "severity": sev, "found_at": found_at or now, "found_by": by, "description": description,
                  "evidence": evidence}
        if handler:
            fields.update(handler=handler, submitted_at=now, case_status=dc.HANDLING)
        case = _create(store, now, fields, by, source, None, tz)
        _evidence_and_reason(store, case["case_id"], kept, reason if unknown else None, by, now)
        if source_key:
            cs.attach_source(source_key, case["case_id"], now)
    return {**case, "duplicate": False}


def _evidence_and_reason(store: Store, case_id: str, kept, off_system: str | None, by: str, now: datetime) -> None:
    """Inside the report's transaction: the evidence file's record, and why the shipment is off-system."""
    if kept is not None:
        from xl_addin.services.cases.evidence import record_evidence

        record_evidence(store, case_id, kept, by, now)
    if off_system:
        CaseStore(store).add_history(case_id, now, by, "台账外运单", None, off_system)
        store.audit(now, by, "case_off_system", "case", case_id, {"reason": off_system})


def _anomaly_type(rule: str, sub_status: str | None) -> str:
    from xl_addin.domain.tracking import anomalies as an

    if rule == an.NO_RECORD:  # no record at all: most likely the wrong carrier or number
        return dc.WRONG_INFO
    if rule != an.CARRIER_PROBLEM:
        return dc.DELAY
    sub = sub_status or ""
    if sub.endswith(("_Lost", "_Destroyed")):
        return dc.LOST
    if sub.endswith("_Damage"):
        return dc.DAMAGED
    if sub.endswith("_InvalidAddress"):
        return dc.WRONG_INFO
    if sub.endswith("_Delayed"):
        return dc.DELAY
    return dc.OTHER


def open_cases_from_anomalies(store: Store, now: datetime, tz: ZoneInfo = CHINA) -> list[dict[str, Any]]:
    """Open a case for every open anomaly record not yet attached to one; returns the cases opened.

    Idempotent: one open case per waybill and type; a repeated anomaly (a new record for a waybill
    whose case is still open) is written into that case's history instead of opening another."""
    from xl_addin.adapters.store.tracking import open_anomalies
    from xl_addin.domain.tracking.anomalies import CARRIER_PROBLEM

    cs = CaseStore(store)
    opened: list[dict[str, Any]] = []
    anomalies = open_anomalies(store)
    if not anomalies:
        return opened
    subs = ShipmentLookup(store).sub_status_of_anomalous()
    for a in anomalies:
        key = f"anomaly:{a['id']}"
        if cs.has_source(key):
            continue
        case_type = _anomaly_type(a["rule"], subs.get(a["waybill_no"]))
        evidence = " ".join(x for x in (desk_time(a.get("evidence_time"), tz, empty=""), a.get("evidence_text") or "")
                            if x)
        with store.transaction():
            existing = cs.open_case_for(a["waybill_no"], case_type)
            if existing is not None:
                cs.attach_source(key, existing["case_id"], now)
                cs.add_history(existing["case_id"], now, SYSTEM, "重复异常", None, a["reason"],
                               note=f"规则 {label('anomaly_rule', a['rule'])}，自 {desk_time(a['since'], tz)}",
                               origin="system")
                continue
            order_no, _w, carrier = _binding_facts(store, a["waybill_no"], a.get("order_no"))
            found = from_iso(a["detected_at"]) or now
            fields = {"order_no": order_no, "waybill_no": a["waybill_no"], "carrier_code": a.get("carrier_code") or carrier,
                      "type": case_type, "severity": dc.DEFAULT_SEVERITY[case_type], "found_at": found,
                      "found_by": SYSTEM, "description": a["reason"], "evidence": evidence or None}
            source = "carrier_problem" if a["rule"] == CARRIER_PROBLEM else "anomaly"
            case = _create(store, now, fields, SYSTEM, source, a["rule"], tz)
            cs.attach_source(key, case["case_id"], now)
        opened.append(case)
    return opened


# ------------------------------------------------------------------ handling

def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.astimezone(timezone.utc).replace(second=0, microsecond=0) == \
            b.astimezone(timezone.utc).replace(second=0, microsecond=0)
    return (a if a not in ("",) else None) == (b if b not in ("",) else None)


def plan_changes(case: dict[str, Any], raw: dict[str, Any], now: datetime, tz: ZoneInfo = CHINA) -> dict[str, Any]:
    """The validated changes for a case (only fields that really change), with the procedure's rules applied."""
    changes = {}
    for k, v in raw.items():
        value = coerce(k, v, tz, now)
        if value is None and k in ("type", "found_at", "severity"):
            raise CaseInputError(f"{FIELD_ZH[k]}不能清空", "请填写一个值")
        if not _same(case.get(k), value):
            changes[k] = value
    merged = {**case, **changes}
    if changes.get("case_status") == dc.CLOSED and not merged.get("closed_at"):
        changes["closed_at"] = merged["closed_at"] = now
    if "closed_at" in changes and changes["closed_at"] is not None:
        missing = dc.missing_for_closing(merged)
        if missing:
            raise CaseInputError(f"案件 {case['case_id']} 还不能结案：缺少{'、'.join(missing)}",
                                 "请先记录处理结果和责任方，并告知客户和订单接收员")
        if merged.get("case_status") != dc.CLOSED:
            changes["case_status"] = dc.CLOSED
    elif merged.get("case_status") == dc.CLOSED and not merged.get("closed_at"):
        raise CaseInputError(f"案件 {case['case_id']} 标为已结案但没有结案时间", "请填写结案时间")
    if merged.get("submitted_at") and merged.get("case_status") == dc.PENDING:
        changes["case_status"] = dc.HANDLING
    if changes.get("corrected_address"):
        if merged.get("error_source") != dc.CUSTOMER_ADDRESS_ERROR:
            raise CaseInputError("只有“客户地址错误”的案件才更正地址", "请先把错误来源设为 客户地址错误")
        if not merged.get("address_confirmed_at"):
            raise CaseInputError("更正地址前须先与客户确认", "请同时填写地址确认时间")
    if "type" in changes and merged.get("closed_at") is None and merged.get("waybill_no"):
        pass  # the partial unique index refuses a second open case of the same waybill and type
    return changes


def _feed_back_address(store: Store, case: dict[str, Any], address: str, now: datetime, by: str) -> None:
    """A customer's corrected address goes into the order (and is noted on the binding), with history."""
    from xl_addin.adapters.store.orders import OrderRecords

    orders = OrderRecords(store)
    order_no = case.get("order_no")
    rec = orders.get(order_no) if order_no else None
    if rec is not None:
        old = rec.fields.get("address")
        rec.fields["address"] = address
        orders.save([rec], now)
        store.audit(now, by, "address_corrected", "order", order_no,
                    {"old": old, "new": address, "case_id": case["case_id"]})
    if case.get("waybill_no"):
        store.audit(now, by, "address_corrected", "binding", case["waybill_no"],
                    {"order_no": order_no, "new": address, "case_id": case["case_id"]})


def apply_changes(store: Store, now: datetime, case: dict[str, Any], changes: dict[str, Any], by: str,
                  origin: str, note: str = "") -> None:
    """Write planned changes with history and audit. Inside the caller's transaction."""
    cs = CaseStore(store)
    cs.set_fields(case["case_id"], changes, now)
    for k, v in changes.items():
        cs.add_history(case["case_id"], now, by, FIELD_ZH.get(k, k), case.get(k), v, note=note, origin=origin)
    if changes.get("corrected_address"):
        _feed_back_address(store, case, changes["corrected_address"], now, by)
    store.audit(now, by, "case_closed" if changes.get("closed_at") else "case_updated", "case", case["case_id"],
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()} | {"origin": origin})


def update_case(store: Store, now: datetime, case_id: str, changes: dict[str, Any], *, by: str,
                origin: str = "cli", tz: ZoneInfo = CHINA) -> dict[str, Any]:
    """Record handling steps (any report fields); returns the updated case. Raises CaseInputError on a bad step."""
    if not (by or "").strip():
        raise CaseInputError("请写明操作人", "例如 --by 李四")
    case = get_case(store, case_id)
    planned = plan_changes(case, changes, now, tz)
    if planned:
        import sqlite3

        try:
            with store.transaction():
                apply_changes(store, now, case, planned, by, origin)
        except sqlite3.IntegrityError:
            raise CaseInputError(f"运单 {case.get('waybill_no')} 已有同类型的未结案件", "请在那个案件里处理") from None
    return get_case(store, case_id)


def close_case(store: Store, now: datetime, case_id: str, *, by: str, **fields: Any) -> dict[str, Any]:
    """Close with the result and the informs (given here or recorded before)."""
    fields.setdefault("closed_at", now)
    return update_case(store, now, case_id, fields, by=by)
