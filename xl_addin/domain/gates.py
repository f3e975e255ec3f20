"""Which findings of the intake check stop an order, and what clears them (stage 1's gate).

* An **error** makes the order unshippable as written (prohibited goods, an invalid phone, an
  address short of street and number, a missing required field, an impossible quantity, ...).
  Only correcting the row (the re-check then passes) or a named person's **override** for that
  problem code clears it — never the customer's "已确认". Some errors cannot be overridden at all
  (prohibited goods: correct the goods or cancel the order).
* A **warning** waits for the customer's confirmation, unless the desk lists its code as
  *tag only*: then the order goes on at once with a special-handling tag (restricted goods such as
  a power bank are shipped by land, not held for a call).

Pure rules: the desk's choices come in as a ``GatePolicy``; nothing here reads files or clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping

# codes no override may clear, and what to do instead
NEVER_OVERRIDE = {
    "PROHIBITED_GOODS": "禁寄物品不能放行，只能更正货物名称（确属合法商品可加入允许清单）或取消订单",
    "DUPLICATE_ORDER": "重复订单不能放行，请核对订单编号，删除或更正重复的一行",
    "SOURCE_MISMATCH": "来源内容不一致不能放行，请用 xl-logistics import --choose 选定一份",
}

DEFAULT_TAG_ONLY = ("RESTRICTED_GOODS",)
DEFAULT_SPECIAL_TAG = "特殊处理"
DEFAULT_OVERRIDE_ROLES = ("物流主管",)


@dataclass(frozen=True)
class GatePolicy:
    """The desk's choices (the [intake] section of the configuration)."""

    tag_only: frozenset[str] = frozenset(DEFAULT_TAG_ONLY)
    special_tag: str = DEFAULT_SPECIAL_TAG
    override_roles: tuple[str, ...] = DEFAULT_OVERRIDE_ROLES


@dataclass(frozen=True)
class Override:
    """A named person lets one error code of one order through, with a reason."""

    code: str
    by: str
    role: str
    reason: str
    at: datetime

    def describe(self) -> str:
        return f"[{self.code}] 已由 {self.by}（{self.role}）于 {self.at:%m-%d %H:%M} 批准放行：{self.reason}"


@dataclass(frozen=True)
class Gate:
    """What the check's findings mean for the order."""

    blocking: tuple[str, ...] = ()        # error codes still closing the gate
    holding: tuple[str, ...] = ()         # warning codes waiting for the customer
    tagged: tuple[str, ...] = ()          # warning codes that only tag the order
    overridden: tuple[Override, ...] = field(default=())

    @property
    def must_correct(self) -> tuple[str, ...]:
        """Blocking codes that no override can clear."""
        return tuple(c for c in self.blocking if c in NEVER_OVERRIDE)


def assess(problems: Iterable[tuple[str, str]], overrides: Mapping[str, Override], policy: GatePolicy) -> Gate:
    """The gate for (code, severity) findings, given the overrides recorded for the order."""
    blocking: list[str] = []
    holding: list[str] = []
    tagged: list[str] = []
    used: list[Override] = []
    for code, severity in problems:
        if severity == "error":
            given = overrides.get(code)
            if given is not None and code not in NEVER_OVERRIDE:
                if given not in used:
                    used.append(given)
            elif code not in blocking:
                blocking.append(code)
        elif code in policy.tag_only:
            if code not in tagged:
                tagged.append(code)
        elif code not in holding:
            holding.append(code)
    return Gate(tuple(blocking), tuple(holding), tuple(tagged), tuple(used))


def override_refusal(code: str, severity: str | None, role: str, reason: str, by: str,
                     policy: GatePolicy) -> str | None:
    """Why an override may not be recorded (None when it may)."""
    if not by.strip():
        return "请写明批准人姓名（--by）"
    if not reason.strip():
        return "请写明放行理由（--reason）"
    if role.strip() not in policy.override_roles:
        return f"角色“{role}”无权放行，可放行的角色: {'、'.join(policy.override_roles)}"
    if code in NEVER_OVERRIDE:
        return NEVER_OVERRIDE[code]
    if severity is None:
        return f"订单当前没有 {code} 问题，无需放行"
    if severity != "error":
        return f"{code} 是待复核提示，由客户确认即可（xl-logistics confirm … --outcome 已确认），无需放行"
    return None
