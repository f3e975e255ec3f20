"""Exception cases (《异常订单报告》): types, severities, responsible parties and the handling path of each type.

Values are stored as the Chinese words staff see in the ledger, so the workbook, the store and the
weekly analysis count the same thing. English aliases are accepted on input (CLI, scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DELAY, LOST, DAMAGED, WRONG_INFO, OTHER = "延误", "丢件", "破损", "信息错误", "其他"
TYPES = (DELAY, LOST, DAMAGED, WRONG_INFO, OTHER)
TYPE_ALIASES = {"delay": DELAY, "delayed": DELAY, "lost": LOST, "damaged": DAMAGED, "damage": DAMAGED,
                "wrong_info": WRONG_INFO, "wrong-info": WRONG_INFO, "wrong information": WRONG_INFO,
                "other": OTHER}

HIGH, MEDIUM, LOW = "高", "中", "低"
SEVERITIES = (HIGH, MEDIUM, LOW)
SEVERITY_ALIASES = {"high": HIGH, "medium": MEDIUM, "low": LOW}
DEFAULT_SEVERITY = {LOST: HIGH, DAMAGED: HIGH, WRONG_INFO: MEDIUM, DELAY: MEDIUM, OTHER: LOW}

RESPONSIBLE_PARTIES = ("物流商", "发货方", "客户", "海关", "天气或不可抗力", "其他")
CLAIM_STATUSES = ("未发起", "已发起", "处理中", "已赔付", "已拒绝")
REMEDIES = ("补发", "退款", "无")

# wrong information: whose mistake it was decides the path
CARRIER_ENTRY_ERROR, CUSTOMER_ADDRESS_ERROR, BINDING_ERROR = "物流商录入错误", "客户地址错误", "绑定错误"
ERROR_SOURCES = (CARRIER_ENTRY_ERROR, CUSTOMER_ADDRESS_ERROR, BINDING_ERROR)

PENDING, HANDLING, CLOSED = "待提交", "处理中", "已结案"
STATUSES = (PENDING, HANDLING, CLOSED)

# how a case came to be
SOURCES = ("manual", "complaint", "phone", "anomaly", "carrier_problem", "ledger")

# the report's fields, in ledger order; times are aware datetimes, money is text yuan ("12.50")
TIME_FIELDS = ("found_at", "submitted_at", "carrier_replied_at", "new_expected", "claim_started_at",
               "materials_sent_at", "binding_checked_at", "correction_requested_at", "address_confirmed_at",
               "customer_informed_at", "receiver_informed_at", "closed_at")
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "type": TYPES, "severity": SEVERITIES, "claim_status": CLAIM_STATUSES, "reship_refund": REMEDIES,
    "responsible_party": RESPONSIBLE_PARTIES, "error_source": ERROR_SOURCES, "case_status": STATUSES,
}
MONEY_FIELDS = ("claim_amount",)
EDITABLE_FIELDS = (
    "order_no", "waybill_no", "type", "severity", "found_at", "found_by", "description", "evidence",
    "submitted_at", "handler", "carrier_contact", "carrier_replied_at", "cause", "new_expected",
    "claim_started_at", "claim_amount", "claim_status", "materials_sent_at", "reship_refund",
    "error_source", "binding_checked_at", "correction_requested_at", "address_confirmed_at", "corrected_address",
    "responsible_party", "responsibility_reason", "result", "customer_informed_at", "customer_feedback",
    "receiver_informed_at", "closed_at", "case_status",
)


def normalise_type(text: str) -> str:
    t = (text or "").strip()
    t = TYPE_ALIASES.get(t.casefold(), t)
    if t not in TYPES:
        raise ValueError(f"异常类型 {text!r} 不在可选范围（{'、'.join(TYPES)}）")
    return t


def normalise_severity(text: str | None, case_type: str) -> str:
    if not text:
        return DEFAULT_SEVERITY[case_type]
    s = SEVERITY_ALIASES.get(text.strip().casefold(), text.strip())
    if s not in SEVERITIES:
        raise ValueError(f"严重程度 {text!r} 不在可选范围（高、中、低）")
    return s


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool


def handling_steps(case: dict[str, Any]) -> list[Step]:
    """The type's handling path from the procedure, each step with whether the case shows it done."""
    has = lambda k: bool(case.get(k))  # noqa: E731
    steps = [Step("submitted", "提交异常处理专员（发现后30分钟内）", has("submitted_at"))]
    t = case.get("type")
    if t == DELAY:
        steps += [Step("cause", "向物流商问明原因（天气、交通、漏揽等）", has("cause")),
                  Step("new_expected", "取得新的预计送达时间", has("new_expected")),
                  Step("customer_informed", "告知客户", has("customer_informed_at"))]
    elif t in (LOST, DAMAGED):
        steps += [Step("claim", "物流商24小时内发起理赔", has("claim_started_at")),
                  Step("remedy", "安排补发或退款", has("reship_refund")),
                  Step("materials", "向客户提供理赔材料（价值证明、照片）", has("materials_sent_at"))]
    elif t == WRONG_INFO:
        steps.append(Step("binding_checked", "核对订单与运单绑定", has("binding_checked_at")))
        src = case.get("error_source")
        if src == CARRIER_ENTRY_ERROR:
            steps.append(Step("correction", "要求物流商更正并重新派送", has("correction_requested_at")))
        elif src == CUSTOMER_ADDRESS_ERROR:
            steps += [Step("address_confirmed", "与客户确认正确地址", has("address_confirmed_at")),
                      Step("address_updated", "更新订单地址", has("corrected_address"))]
        elif src == BINDING_ERROR:
            steps.append(Step("rebind", "改绑到正确的订单（rebind 命令）", has("result")))
        else:
            steps.append(Step("error_source", "判定错误来源（物流商录入 / 客户地址 / 绑定）", False))
    steps += [Step("result", "记录处理结果与责任方", has("result") and has("responsible_party")),
              Step("inform", "告知订单接收员和客户", has("customer_informed_at") and has("receiver_informed_at"))]
    return steps


def missing_for_closing(case: dict[str, Any]) -> list[str]:
    """What the procedure requires before a case is closed (Chinese field names)."""
    need = {"result": "处理结果", "responsible_party": "责任方", "customer_informed_at": "客户告知时间",
            "receiver_informed_at": "订单接收员告知时间"}
    return [label for key, label in need.items() if not case.get(key)]
