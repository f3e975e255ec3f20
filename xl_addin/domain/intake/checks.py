"""check_order: every Stage 1 rule over one order row, problems as values."""

from __future__ import annotations

from typing import Any, Mapping

from ..problems import ERROR, WARNING, CheckResult, Problem
from .address import parse_address
from .goods import goods_problems
from .phone import read_phone
from .quantities import parse_quantity, parse_volume, parse_weight, plausibility
from .requirements import read_values
from .rules import IntakeRules
from .tags import parse_tags
from .text import cell_text, is_blank

FIELD_LABELS = {
    "order_no": "订单编号",
    "customer": "客户名称",
    "goods_name": "货物名称",
    "spec": "规格",
    "quantity": "数量",
    "weight_kg": "重量(kg)",
    "volume_m3": "体积(m³)",
    "receiver": "收件人",
    "receiver_phone": "收件人电话",
    "address": "收货地址",
    "special_requirements": "特殊要求",
    "channel": "订单来源",
    "received_at": "接收时间",
    "customer_contact": "客户联系人",
}
REQUIRED = ("order_no", "customer", "goods_name", "quantity", "receiver", "receiver_phone", "address")


def check_order(fields: Mapping[str, Any], rules: IntakeRules | None = None) -> CheckResult:
    """Check one order row (values straight from cells). Duplicates: see DuplicateTracker."""
    rules = rules or IntakeRules.default()
    get = fields.get
    problems: list[Problem] = []
    normalized: dict[str, Any] = {
        "phone": None, "province": None, "city": None, "district": None,
        "address_detail": None, "address_filled": [], "tags": [],
    }
    result = CheckResult(problems, normalized)
    missing = [key for key in REQUIRED if _blank(get(key))]
    for key in missing:
        problems.append(_MISSING[key])

    if "receiver_phone" not in missing:
        phone, problem, others = read_phone(get("receiver_phone"))
        if problem:
            problems.append(Problem("PHONE_INVALID", ERROR, "receiver_phone", problem))
        normalized["phone"] = phone
        if others:
            normalized["phone_other"] = list(others)
            problems.append(Problem(
                "PHONE_SECOND_NUMBER", WARNING, "receiver_phone",
                f"电话栏写了多个号码：收件电话取“{phone}”，另一个号码“{'、'.join(others)}”已保留备用；"
                "如收件人不是这个号码，请改正电话栏。"))

    if "address" not in missing:
        _check_address(cell_text(get("address")), result)

    if "goods_name" not in missing:
        problems.extend(goods_problems(cell_text(get("goods_name")), rules))

    limits = rules.limits
    if "quantity" not in missing:
        qty, problem = parse_quantity(get("quantity"))
        if problem:
            problems.append(Problem("QUANTITY_INVALID", ERROR, "quantity", problem))
        elif qty is not None and qty > limits.max_pieces:
            problems.append(Problem("QUANTITY_IMPLAUSIBLE", ERROR, "quantity", plausibility("quantity", qty, limits)))
        normalized["quantity"] = qty
    for key, code, parse, ceiling in (("weight_kg", "WEIGHT_INVALID", parse_weight, limits.max_weight_kg),
                                      ("volume_m3", "VOLUME_INVALID", parse_volume, limits.max_volume_m3)):
        value = get(key)
        if not _blank(value):
            number, problem = parse(value)
            if problem:
                problems.append(Problem(code, ERROR, key, problem))
            elif number is not None and number > ceiling:
                problems.append(Problem(code.replace("INVALID", "IMPLAUSIBLE"), ERROR, key,
                                        plausibility(key, number, limits)))
            normalized[key] = number

    requirements = get("special_requirements")
    if _blank(requirements):
        tags, unknown = [], []
    else:
        values = read_values(cell_text(requirements))
        tags, unknown = parse_tags(values.rest, rules)
        if values.tags:
            tags = list(dict.fromkeys([*values.tags, *tags]))
        if values.declared_value is not None:
            normalized["declared_value"] = values.declared_value
        if values.temperature is not None:
            normalized["temperature"] = values.temperature
    normalized["tags"] = tags
    if unknown:
        known = "、".join(rules.tag_names[:8])
        problems.append(Problem(
            "SPECIAL_REQUIREMENT_UNCLEAR", WARNING, "special_requirements",
            f"特殊要求中“{'、'.join(unknown)}”不是已知的要求（已知：{known}等），请与客户确认具体要求，"
            "或把它加入特殊要求标签表。"))
    return result


# one finding per missing field, the same for every row (findings are immutable values)
_MISSING = {key: Problem("MISSING_FIELD", ERROR, key, f"“{FIELD_LABELS[key]}”为空，请向客户补全后再确认。")
            for key in REQUIRED}


def _blank(value: Any) -> bool:
    """is_blank, inlined for the hot loop (called ~10 times per row)."""
    if value is None:
        return True
    cls = value.__class__
    if cls is str:
        return not value.strip()
    if cls is float:
        return value != value  # NaN
    return False if cls is int else is_blank(value)


def _check_address(text: str, result: CheckResult) -> None:
    parsed = parse_address(text)
    result.normalized.update(
        province=parsed.province, city=parsed.city, district=parsed.district,
        address_detail=parsed.detail, address_filled=list(parsed.filled),
    )
    if parsed.foreign:
        result.add("ADDRESS_FOREIGN", ERROR, "address",
                   f"收货地址在国外（{parsed.foreign}）：国内快递服务不能按此地址寄递，请与客户确认是否改走国际快递"
                   "（如 EMS 国际），由专人处理。")
        return
    if parsed.review:
        result.add("ADDRESS_REVIEW", WARNING, "address", parsed.review)
    if parsed.ambiguous_name:
        extra = f"另外还缺少：{'、'.join(parsed.missing)}。" if parsed.missing else ""
        result.add("ADDRESS_INCOMPLETE", ERROR, "address",
                   f"地址里的“{parsed.ambiguous_name}”有多个同名区县（{'、'.join(parsed.candidates)}），"
                   f"没写所属省市，无法确定；请向客户确认后补上省、市。{extra}")
    elif parsed.missing:
        result.add("ADDRESS_INCOMPLETE", ERROR, "address",
                   f"地址不完整，缺少：{'、'.join(parsed.missing)}。请联系客户补全到省、市、区/县、街道/路名和门牌号。")
