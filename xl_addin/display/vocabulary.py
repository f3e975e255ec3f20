"""The one vocabulary: every code that reaches a person, by kind, with its Chinese label.

Most labels live beside their codes in the domain (order statuses, tracking statuses, anomaly rules,
SLA clocks …); this table gathers them under one roof and adds the few the domain had no words for
(job names, job results, node and case sources). Text for people asks :func:`label`; a code with no
label is a bug, and ``tests/desk/test_vocabulary.py`` walks every code the product can produce.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from xl_addin.adapters.store.subscriptions import STATE_ZH as SUBSCRIPTION_LABELS
from xl_addin.adapters.store.waybills import REVIEW_LABELS, SOURCE_LABELS as BINDING_SOURCE_LABELS, STATE_LABELS
from xl_addin.domain import cases as dc
from xl_addin.domain.closing import FOLLOWUP_LABELS
from xl_addin.domain.confirmation import CHECK_LABELS, OUTCOME_LABELS, STATUS_LABELS
from xl_addin.domain.notifications import NODE_ZH
from xl_addin.domain.sla import CLOCK_ZH
from xl_addin.domain.tracking.anomalies import RULE_NAMES_ZH
from xl_addin.domain.tracking.status import MAIN_ZH, SUB_ZH
from xl_addin.domain.waybills.carriers import SERVICE_LABELS
from xl_addin.domain.waybills.regions import GROUP_LABELS

# what each scheduled or staff-run job is called (最近运行.xlsx, jobs.log readers, messages)
JOB_LABELS = {"refresh": "跟踪刷新", "health": "推送接收检查", "summary": "每周汇总", "archive": "月度归档",
              "followups": "回访提醒", "followups-list": "回访清单", "close": "订单完结"}
# how a job run ended
JOB_STATUS_LABELS = {"ok": "成功", "done": "成功", "failed": "失败", "partial": "部分失败", "skipped": "跳过", "running": "运行中",
                     "stopped": "中断"}
# where a tracking node came from
NODE_SOURCE_LABELS = {"query": "自动", "push": "推送", "manual": "人工"}  # the Tracking Log's 来源 choices
# how an exception case came to be
CASE_SOURCE_LABELS = {"manual": "人工登记", "complaint": "客户投诉", "phone": "电话反馈", "anomaly": "系统预警",
                      "carrier_problem": "物流商报告异常", "ledger": "台账录入"}
# what one waybill's last query came to
QUERY_OUTCOME_LABELS = {"updated": "有更新", "unchanged": "无变化", "not_found": "暂无轨迹", "failed": "查询失败",
                        "skipped_by_rule": "按频率规则跳过"}

# how a month's archive run ended
ARCHIVE_STATUS_LABELS = {"archived": "已归档", "already_complete": "已归档过（未改动）"}
# the desk's workbooks by their key
BOOK_LABELS = {"orders": "订单确认单", "bindings": "物流单号绑定表", "tracking": "实时物流跟踪记录表",
               "exceptions": "异常订单处理台账"}


def _same(values) -> dict[str, str]:
    """Codes the domain already stores as the Chinese word (case types, severities, case statuses)."""
    return {v: v for v in values}


VOCABULARY: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "order_status": STATUS_LABELS,
    "check": CHECK_LABELS,
    "confirmation_outcome": OUTCOME_LABELS,
    "tracking_status": {m.value: zh for m, zh in MAIN_ZH.items()} | {s.value: zh for s, zh in SUB_ZH.items()},
    "node_source": NODE_SOURCE_LABELS,
    "anomaly_rule": RULE_NAMES_ZH,
    "job": JOB_LABELS,
    "job_status": JOB_STATUS_LABELS,
    "query_outcome": QUERY_OUTCOME_LABELS,
    "case_type": _same(dc.TYPES) | dc.TYPE_ALIASES,
    "severity": _same(dc.SEVERITIES) | dc.SEVERITY_ALIASES,
    "case_status": _same(dc.STATUSES),
    "case_source": CASE_SOURCE_LABELS,
    "sla_clock": CLOCK_ZH,
    "followup": FOLLOWUP_LABELS,
    "notice_node": NODE_ZH,
    "subscription": SUBSCRIPTION_LABELS,
    "binding_source": BINDING_SOURCE_LABELS,
    "binding_state": STATE_LABELS,
    "review": REVIEW_LABELS,
    "service": SERVICE_LABELS,
    "destination_group": GROUP_LABELS,
    "archive_status": ARCHIVE_STATUS_LABELS,
    "book": BOOK_LABELS,
})


def label(kind: str, code: Any, default: str | None = None) -> str:
    """The Chinese label of ``code`` (a str or an Enum) of ``kind``; the default, else the code, when unknown."""
    if code is None or code == "":
        return default or ""
    key = getattr(code, "value", code)
    table = VOCABULARY[kind]
    if key in table:
        return table[key]
    return default if default is not None else str(key)


def labels(kind: str, counts: Mapping[str, Any]) -> dict[str, Any]:
    """A {code: n} tally with its keys as labels (for counts shown to people)."""
    return {label(kind, k): v for k, v in counts.items()}


def tally(counts: Mapping[str, Any]) -> str:
    """{label: n} as people read it: ``已揽收 76，已签收 74``."""
    return "，".join(f"{k} {v}" for k, v in counts.items()) or "无"


def case_kind(case_type: str, severity: str) -> str:
    """A case's type and severity as people read them: ``延误（中）``."""
    return f"{label('case_type', case_type)}（{label('severity', severity)}）"
