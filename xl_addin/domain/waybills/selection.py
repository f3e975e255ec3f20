"""Choosing the carrier for a confirmed order (物流商选择), with the reason in words.

Order of precedence: a person's override (kept with its author) → the
customer's named carrier, if qualified and able → the cheapest qualified
carrier whose services fit the order's tags. Tags: 冷链 needs cold_chain,
大件 needs bulky, 贵重/保价 need insured, 加急 prefers express (a carrier
without express still qualifies when nobody offers it).

Freight: chargeable weight = max(actual weight, volumetric weight), where
volumetric weight = m³ × 1,000,000 / 6000 (the common express divisor); no
weight means 1 kg (said in a warning). Billed weight is rounded up to whole
kg; freight = first-weight price + extra kg × additional price + service
surcharges, rounded to 0.1 yuan. Over 50 kg chargeable the order goes as
大件 (bulky) even without the tag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from xl_addin.domain.problems import ERROR, WARNING, Problem
from xl_addin.domain.waybills.carriers import (
    BULKY, COLD_CHAIN, EXPRESS, INSURED, SERVICE_LABELS, STANDARD, Carrier, find_carrier,
)
from xl_addin.domain.waybills.regions import GROUP_LABELS, normalize_province, province_group

DEFAULT_WEIGHT_KG = Decimal(1)
VOLUMETRIC_DIVISOR = Decimal(6000)  # cm³ per kg
BULKY_OVER_KG = Decimal(50)
TENTH = Decimal("0.1")

COLD, BIG, URGENT, VALUABLE, INSURE = "冷链", "大件", "加急", "贵重", "保价"
# Spellings from other systems mapped onto the canonical Chinese tags.
TAG_ALIASES = {
    "cold_chain": COLD, "冷藏": COLD, "冷冻": COLD, "生鲜": COLD,
    "bulky": BIG, "大件货": BIG, "重货": BIG,
    "urgent": URGENT, "express": URGENT, "急件": URGENT, "加急件": URGENT,
    "valuable": VALUABLE, "insured": INSURE, "fragile": "易碎", "cod": "到付",
}


@dataclass(frozen=True)
class Override:
    """A person's choice of carrier; it wins and is recorded with its author."""

    carrier: str
    author: str
    note: str = ""


@dataclass(frozen=True)
class OrderForShipping:
    order_no: str
    destination_province: str | None
    tags: Sequence[str] = ()
    weight_kg: Decimal | float | int | str | None = None
    volume_m3: Decimal | float | int | str | None = None
    preferred_carrier: str | None = None  # the customer's named carrier, as written
    override: Override | None = None
    declared_value: Decimal | float | int | str | None = None  # yuan, read from 保价5000元 at intake


@dataclass(frozen=True)
class Selection:
    order_no: str
    carrier: Carrier
    service: str  # standard / express / cold_chain / bulky
    addons: tuple[str, ...]  # ("insured",) for 贵重/保价
    freight: Decimal | None  # yuan, 0.1 precision; None only for an override the price table cannot price
    chargeable_weight_kg: Decimal
    dest_group: str
    transit_days: int | None
    reason: str
    decided_by: str  # "rule", "customer" or "override"
    override_author: str | None = None
    warnings: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def carrier_code(self) -> str:
        return self.carrier.code


def canonical_tags(tags: Iterable[str]) -> set[str]:
    out = set()
    for tag in tags or ():
        t = str(tag).strip()
        out.add(TAG_ALIASES.get(t.lower(), TAG_ALIASES.get(t, t)))
    return out


def _kg(value, column: str, label: str) -> tuple[Decimal | None, Problem | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        return None, Problem("WEIGHT_INVALID", ERROR, column, f"{label} {value!r} 不是有效的非负数字: 请改正后再选物流商")
    return number, None


@dataclass
class _Need:
    group: str
    service: str
    required: set[str]
    addons: tuple[str, ...]
    weight: Decimal
    labels: list[str]
    notes: list[str]
    urgent: bool


def _freight(carrier: Carrier, service: str, need: _Need) -> Decimal | None:
    price = carrier.price_for(service, need.group)
    if price is None:
        return None
    billed = need.weight.to_integral_value(rounding=ROUND_CEILING)
    extra = max(Decimal(0), billed - carrier.first_weight_kg)
    total = price.first + extra * price.additional_per_kg
    for s in (service, *need.addons):
        total += carrier.surcharges.get(s, Decimal(0))
    for addon in need.addons:  # an add-on priced per destination (the 保价 rows of the rate sheet)
        fee = carrier.service_prices.get(addon, {}).get(need.group)
        if fee is not None:
            total += fee.first + extra * fee.additional_per_kg
    return total.quantize(TENTH, rounding=ROUND_HALF_UP)


def _able(carrier: Carrier, service: str, need: _Need) -> bool:
    return (service in carrier.services and need.required <= carrier.services
            and carrier.price_for(service, need.group) is not None
            and carrier.promised_days(service, need.group) is not None)


def _missing(carrier: Carrier, need: _Need) -> str:
    lacking = [SERVICE_LABELS[s] for s in sorted(need.required - carrier.services)]
    if lacking:
        return "不提供" + "/".join(lacking)
    return f"未登记到{GROUP_LABELS[need.group]}的价格或时效"


def _declared(value) -> Decimal | None:  # noqa: ANN001 - a number or its text from the order record
    """A positive declared value in yuan, else None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number.quantize(Decimal("0.01")) if number.is_finite() and number > 0 else None


def _money(x: Decimal) -> str:
    return f"¥{x}"


def _rule(order: OrderForShipping, carriers: list[Carrier], need: _Need,
          cache: dict | None = None) -> Selection | Problem:
    """Cheapest able qualified carrier; ``cache`` (one batch, one carrier list) reuses equal decisions."""
    key = None
    if cache is not None:
        key = (need.group, need.service, frozenset(need.required), need.addons, need.weight, need.urgent,
               tuple(need.labels), tuple(need.notes))
        hit = cache.get(key)
        if hit is not None:
            return dataclasses.replace(hit, order_no=order.order_no)
    result = _rule_uncached(order, carriers, need)
    if key is not None and isinstance(result, Selection):
        cache[key] = result
    return result


def _rule_uncached(order: OrderForShipping, carriers: list[Carrier], need: _Need) -> Selection | Problem:
    qualified = [c for c in carriers if c.qualified]
    service = need.service
    able = [c for c in qualified if _able(c, service, need)]
    if not able and need.urgent and service == EXPRESS:
        service = STANDARD
        able = [c for c in qualified if _able(c, service, need)]
        if able:
            need.notes.append("加急: 无合格物流商提供特快, 按标准快递")
    if not able:
        wanted = "+".join(need.labels) or "标准快递"
        unqualified = [c.short_name for c in carriers if not c.qualified and _able(c, service, need)]
        why = f"订单 {order.order_no} 需要{wanted}, 发往{GROUP_LABELS[need.group]}, 合格物流商中没有能承运的"
        if unqualified:
            why += f" (能承运的{'/'.join(unqualified)}不在合格名录中)"
        return Problem("NO_CARRIER", ERROR, "carrier", why + ": 请人工指定物流商或更新合格物流商名录")
    priced = sorted(((_freight(c, service, need), c.promised_days(service, need.group), i, c)
                     for i, c in enumerate(able)), key=lambda t: t[:3])
    best_price, best_days, _, best = priced[0]
    parts = []
    prefix = "+".join(need.labels)
    if prefix and len(able) < len(qualified):
        names = "/".join(c.short_name for c in able)
        parts.append(f"仅{names}可承运" if len(able) <= 4 else f"{len(able)}家可承运")
    if len(priced) == 2 and best_price < priced[1][0]:
        parts.append(f"{best.short_name}更便宜 {_money(best_price)} < {_money(priced[1][0])}")
    elif len(priced) > 1 and best_price < priced[1][0]:
        second = priced[1]
        parts.append(f"{best.short_name}最便宜 {_money(best_price)} < {second[3].short_name} {_money(second[0])}")
    elif len(priced) > 1:
        second = priced[1]
        tie = "时效更快" if best_days != second[1] else "名录中靠前"
        parts.append(f"{best.short_name}与{second[3].short_name}同价 {_money(best_price)}, 取{tie}者")
    else:
        parts.append(f"{best.short_name} {_money(best_price)}")
    if not prefix and len(priced) > 1 and best_price < priced[1][0]:
        parts = [f"{best.short_name} {_money(best_price)} < {priced[1][3].short_name} {_money(priced[1][0])}"]
    text = ", ".join(parts)
    reason = f"{prefix}: {text}" if prefix else f"价格最低: {text}"
    reason += "".join(f"; {n}" for n in need.notes)
    return Selection(order.order_no, best, service, need.addons, best_price, need.weight, need.group,
                     best_days, reason, "rule")


def _finish(sel: Selection, need: _Need, warnings: list[Problem], reason_prefix: str = "") -> Selection:
    notes = [n for n in need.notes if n not in sel.reason]
    reason = reason_prefix + sel.reason + "".join(f"; {n}" for n in notes)
    return Selection(sel.order_no, sel.carrier, sel.service, sel.addons, sel.freight, sel.chargeable_weight_kg,
                     sel.dest_group, sel.transit_days, reason, sel.decided_by, sel.override_author,
                     tuple(warnings))


def _named(order: OrderForShipping, carrier: Carrier, need: _Need, decided_by: str,
           reason: str, author: str | None = None) -> Selection:
    service = need.service
    if service not in carrier.services and service == EXPRESS:
        service = STANDARD
        need.notes.append(f"加急: {carrier.short_name}无特快, 按标准快递")
    elif service not in carrier.services:
        service = STANDARD if STANDARD in carrier.services else sorted(carrier.services)[0]
    return Selection(order.order_no, carrier, service, need.addons, _freight(carrier, service, need), need.weight,
                     need.group, carrier.promised_days(service, need.group), reason, decided_by, author)


# Stands for the order number while a batch's shared answer is worked out; replaced per order.
_ORDER_MARK = "\x00order\x00"


def select_carriers(orders: Iterable[OrderForShipping], carriers: Iterable[Carrier],
                    shipper_province: str) -> list[Selection | Problem]:
    """``select_carrier`` for a batch: orders that differ only in their number share one answer.

    Why: a 100,000-order batch has a few hundred distinct (destination, tags, weight, volume,
    named carrier) combinations; each is decided once with a placeholder order number, and
    every order gets a copy with its own number put into the messages.
    """
    carriers = list(carriers)
    cache: dict = {}
    answers: dict = {}
    out: list[Selection | Problem] = []
    for o in orders:
        try:
            key = (o.destination_province, tuple(o.tags or ()), o.weight_kg, o.volume_m3,
                   o.preferred_carrier, o.override)
            shared = answers.get(key)
        except TypeError:  # an unhashable value: decide this order on its own
            out.append(select_carrier(o, carriers, shipper_province, _cache=cache))
            continue
        if shared is None:
            marked = dataclasses.replace(o, order_no=_ORDER_MARK)
            shared = answers[key] = select_carrier(marked, carriers, shipper_province, _cache=cache)
        out.append(_for_order(shared, o.order_no))
    return out


def _mark(text: str, order_no) -> str:
    return text.replace(_ORDER_MARK, str(order_no)) if _ORDER_MARK in text else text


def _for_order(shared: Selection | Problem, order_no) -> Selection | Problem:
    if isinstance(shared, Problem):
        return Problem(shared.code, shared.severity, shared.column, _mark(shared.message, order_no))
    warnings = tuple(Problem(w.code, w.severity, w.column, _mark(w.message, order_no))
                     for w in shared.warnings) if shared.warnings else ()
    return Selection(order_no, shared.carrier, shared.service, shared.addons, shared.freight,
                     shared.chargeable_weight_kg, shared.dest_group, shared.transit_days,
                     _mark(shared.reason, order_no), shared.decided_by, shared.override_author, warnings)


def select_carrier(order: OrderForShipping, carriers: Iterable[Carrier],
                   shipper_province: str, *, _cache: dict | None = None) -> Selection | Problem:
    """The carrier, service and estimated freight for one order, or a Problem saying why none fits.

    Problem codes: DEST_PROVINCE, WEIGHT_INVALID, NO_CARRIER, OVERRIDE_AUTHOR,
    OVERRIDE_UNKNOWN_CARRIER. Warnings inside a Selection: WEIGHT_DEFAULTED,
    PREFERRED_UNKNOWN / PREFERRED_UNQUALIFIED / PREFERRED_UNABLE (the customer's
    carrier was not used: tell the customer), OVERRIDE_UNQUALIFIED / OVERRIDE_UNFIT.
    """
    carriers = list(carriers)
    warnings: list[Problem] = []
    group = province_group(order.destination_province, shipper_province)
    if group is None:
        if normalize_province(shipper_province) is None:
            return Problem("DEST_PROVINCE", ERROR, "shipper_province",
                           f"发货省份 {shipper_province!r} 无法识别: 请在配置 [desk] shipper_province 填写省份")
        return Problem("DEST_PROVINCE", ERROR, "destination_province",
                       f"订单 {order.order_no} 的收货省份 {order.destination_province!r} 无法识别或不在国内快递范围"
                       " (港澳台需人工安排): 请核对地址")
    weight, bad = _kg(order.weight_kg, "weight_kg", "重量(公斤)")
    volume, bad_volume = _kg(order.volume_m3, "volume_m3", "体积(立方米)")
    if bad or bad_volume:
        return bad or bad_volume
    notes: list[str] = []
    if weight is None:
        weight = DEFAULT_WEIGHT_KG
        notes.append("重量未填, 按1公斤估算")
        warnings.append(Problem("WEIGHT_DEFAULTED", WARNING, "weight_kg",
                                f"订单 {order.order_no} 未填重量, 运费按 1 公斤估算: 请补填重量以免运费偏差"))
    if volume:
        volumetric = (volume * Decimal(1_000_000) / VOLUMETRIC_DIVISOR).quantize(TENTH, rounding=ROUND_CEILING)
        if volumetric > weight:
            notes.append(f"按体积重 {volumetric} 公斤计费")
            weight = volumetric

    tags = canonical_tags(order.tags)
    labels: list[str] = []
    required: set[str] = set()
    addons: tuple[str, ...] = ()
    if COLD in tags:
        required.add(COLD_CHAIN)
        labels.append(COLD)
    if BIG in tags or weight > BULKY_OVER_KG:
        required.add(BULKY)
        labels.append(BIG)
        if BIG not in tags:
            notes.append(f"计费重 {weight} 公斤超过 {BULKY_OVER_KG} 公斤, 按大件")
    declared = _declared(order.declared_value)
    if VALUABLE in tags or INSURE in tags or declared:
        required.add(INSURED)
        addons = (INSURED,)
        labels.append(VALUABLE if VALUABLE in tags else INSURE)
        if declared:
            notes.append(f"保价金额 ¥{declared}")
    urgent = URGENT in tags
    service = COLD_CHAIN if COLD_CHAIN in required else BULKY if BULKY in required else EXPRESS if urgent else STANDARD
    if urgent and service == EXPRESS:
        labels.append(URGENT)
    need = _Need(group, service, required, addons, weight, labels, notes, urgent)

    rule = _rule(order, carriers, _Need(**{**need.__dict__, "notes": list(notes), "labels": list(labels)}), _cache)

    if order.override is not None:
        ov = order.override
        if not (ov.author or "").strip():
            return Problem("OVERRIDE_AUTHOR", ERROR, "override_by", f"订单 {order.order_no} 人工改选物流商时须写明改选人")
        chosen = find_carrier(ov.carrier, carriers)
        if chosen is None:
            return Problem("OVERRIDE_UNKNOWN_CARRIER", ERROR, "carrier",
                           f"订单 {order.order_no} 人工指定的物流商 {ov.carrier!r} 不在物流商名录中: 请改写为名录中的物流商")
        if not chosen.qualified:
            warnings.append(Problem("OVERRIDE_UNQUALIFIED", WARNING, "carrier",
                                    f"订单 {order.order_no} 人工指定的{chosen.name}不在合格名录中 (由 {ov.author} 负责)"))
        if not need.required <= chosen.services:
            warnings.append(Problem("OVERRIDE_UNFIT", WARNING, "carrier",
                                    f"订单 {order.order_no} 人工指定的{chosen.name}{_missing(chosen, need)} (由 {ov.author} 负责)"))
        reason = f"人工指定 ({ov.author.strip()})" + (f": {ov.note.strip()}" if ov.note.strip() else "")
        if isinstance(rule, Selection) and rule.carrier.code != chosen.code:
            reason += f"; 规则建议为{rule.carrier.short_name} {_money(rule.freight)}"
        sel = _named(order, chosen, need, "override", reason, ov.author.strip())
        if sel.freight is None:
            warnings.append(Problem("FREIGHT_UNKNOWN", WARNING, "freight",
                                    f"{chosen.name} 没有到{GROUP_LABELS[group]}的{SERVICE_LABELS.get(sel.service, sel.service)}价格, 运费无法估算"))
        return _finish(sel, need, warnings)

    fallback_prefix = ""
    if order.preferred_carrier and str(order.preferred_carrier).strip():
        wanted = str(order.preferred_carrier).strip()
        named = find_carrier(wanted, carriers)
        if named is None:
            code, text = "PREFERRED_UNKNOWN", f"客户指定的 {wanted} 不在物流商名录中"
        elif not named.qualified:
            code, text = "PREFERRED_UNQUALIFIED", f"客户指定的{named.short_name}不在合格名录中"
        elif not _able(named, need.service, need) and not (
                need.service == EXPRESS and _able(named, STANDARD, need)):
            code, text = "PREFERRED_UNABLE", f"客户指定的{named.short_name}{_missing(named, need)}"
        else:
            return _finish(_named(order, named, need, "customer", "客户指定"), need, warnings)
        warnings.append(Problem(code, WARNING, "preferred_carrier",
                                f"订单 {order.order_no}: {text}, 已按规则改选: 请告知客户"))
        fallback_prefix = text + "; "
    if isinstance(rule, Problem):
        if fallback_prefix:
            return Problem(rule.code, rule.severity, rule.column, fallback_prefix + rule.message)
        return rule
    return _finish(rule, need, warnings, fallback_prefix)
