"""The price and transit table (运价与时效) as rows a desk edits: one row per carrier, service and destination group.

Why rows: the desk keeps its contract prices in the workbook, not in code. A row says, for one
carrier, service (标准/特快/冷链/大件) and destination group (同省/邻省/全国/偏远): the full price of
the first weight, the price per additional kg and the promised working days. A 保价 row is an add-on:
its first-weight price is the per-shipment insurance fee added on top of the main service (its
additional price and days are usually blank). When a carrier has rows, they replace its whole
built-in table (prices, per-service prices, surcharges, days), so what the sheet says is what is charged.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from xl_addin.domain.problems import ERROR, Problem
from xl_addin.domain.waybills.carriers import (
    BULKY, COLD_CHAIN, EXPRESS, INSURED, SERVICES, STANDARD, Carrier, CarrierRowsError, Price,
)
from xl_addin.domain.waybills.regions import GROUPS, NATIONAL, NEIGHBOUR, REMOTE, SAME

RATE_SERVICE_LABELS = {STANDARD: "标准", EXPRESS: "特快", COLD_CHAIN: "冷链", BULKY: "大件", INSURED: "保价"}
RATE_GROUP_LABELS = {SAME: "同省", NEIGHBOUR: "邻省", NATIONAL: "全国", REMOTE: "偏远"}

_SERVICE_WORDS = {
    "标准": STANDARD, "标准快递": STANDARD, "标快": STANDARD, "standard": STANDARD, "std": STANDARD,
    "特快": EXPRESS, "加急": EXPRESS, "express": EXPRESS, "urgent": EXPRESS,
    "冷链": COLD_CHAIN, "coldchain": COLD_CHAIN, "cold": COLD_CHAIN,
    "大件": BULKY, "快运": BULKY, "bulky": BULKY, "freight": BULKY,
    "保价": INSURED, "insured": INSURED, "insurance": INSURED,
}
_GROUP_WORDS = {
    "同省": SAME, "省内": SAME, "same": SAME, "sameprovince": SAME,
    "邻省": NEIGHBOUR, "相邻省": NEIGHBOUR, "neighbour": NEIGHBOUR, "neighbor": NEIGHBOUR,
    "全国": NATIONAL, "national": NATIONAL, "other": NATIONAL,
    "偏远": REMOTE, "偏远地区": REMOTE, "remote": REMOTE,
}
# Column keys and labels, as the Binding Table's "运价与时效" sheet names them (for messages).
COLUMN_LABELS = {"carrier_code": "物流商代码", "service": "服务", "dest_group": "目的地分组",
                 "first_weight_price": "首重价格(元)", "additional_price": "续重价格(元/公斤)",
                 "transit_days": "时效(工作日)"}


@dataclass(frozen=True)
class RateRow:
    carrier_code: str
    service: str            # one of SERVICES
    dest_group: str         # one of GROUPS
    first_weight_price: Decimal
    additional_price: Decimal
    transit_days: int | None  # None only for an add-on (保价) row


def _word(value: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).replace("_", "").casefold()


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().lstrip("¥￥"))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and number >= 0 else None


def rates_from_rows(rows: Iterable[tuple[int, Mapping[str, Any]]], known_codes: Iterable[str],
                    sheet: str = "运价与时效") -> list[RateRow]:
    """Rate rows from sheet rows ``(excel_row, {column key: value})``; every bad cell is reported at once.

    Raises CarrierRowsError whose problems name the sheet, the row and the column.
    """
    known = {str(c).strip().upper() for c in known_codes}
    problems: list[Problem] = []
    out: list[RateRow] = []
    seen: dict[tuple[str, str, str], int] = {}

    def bad(row: int, key: str, text: str) -> None:
        problems.append(Problem("RATE_ROW", ERROR, key, f"「{sheet}」第{row}行「{COLUMN_LABELS[key]}」: {text}"))

    for row_no, v in rows:
        before = len(problems)
        code = str(v.get("carrier_code") or "").strip().upper()
        if not code:
            bad(row_no, "carrier_code", "缺少物流商代码")
        elif code not in known:
            bad(row_no, "carrier_code", f"{code} 不在合格物流商名录中: 请先在「合格物流商名录」添加该物流商或改正代码")
        service = _SERVICE_WORDS.get(_word(v.get("service")))
        if service is None:
            bad(row_no, "service", f"{v.get('service')!r} 不是可用的服务 (标准/特快/冷链/大件/保价)")
        group = _GROUP_WORDS.get(_word(v.get("dest_group")))
        if group is None:
            bad(row_no, "dest_group", f"{v.get('dest_group')!r} 不是可用的分组 (同省/邻省/全国/偏远)")
        first = _money(v.get("first_weight_price"))
        if first is None:
            bad(row_no, "first_weight_price", f"应为非负金额, 实际为 {v.get('first_weight_price')!r}")
        raw_extra = v.get("additional_price")
        extra = Decimal(0) if raw_extra in (None, "") and service == INSURED else _money(raw_extra)
        if extra is None:
            bad(row_no, "additional_price", f"应为非负金额, 实际为 {raw_extra!r}")
        raw_days = v.get("transit_days")
        days: int | None = None
        if raw_days in (None, ""):
            if service != INSURED:
                bad(row_no, "transit_days", "缺少承诺工作日数")
        else:
            try:
                number = Decimal(str(raw_days).strip())
                days = int(number) if number == number.to_integral_value() and number >= 0 else None
            except (InvalidOperation, ValueError):
                days = None
            if days is None:
                bad(row_no, "transit_days", f"应为非负整数, 实际为 {raw_days!r}")
        if len(problems) > before:
            continue
        key = (code, service, group)
        if key in seen:
            bad(row_no, "dest_group", f"{code} {RATE_SERVICE_LABELS[service]} {RATE_GROUP_LABELS[group]} "
                                      f"与第{seen[key]}行重复: 请删去其中一行")
            continue
        seen[key] = row_no
        out.append(RateRow(code, service, group, first, extra, days))
    if problems:
        raise CarrierRowsError(problems)
    return out


def apply_rates(carriers: Iterable[Carrier], rates: Iterable[RateRow]) -> list[Carrier]:
    """Carriers with the sheet's prices and days; a carrier with no rows keeps what it had."""
    by_code: dict[str, list[RateRow]] = {}
    for r in rates:
        by_code.setdefault(r.carrier_code, []).append(r)
    out = []
    for c in carriers:
        rows = by_code.get(c.code)
        if not rows:
            out.append(c)
            continue
        prices: dict[str, Price] = {}
        service_prices: dict[str, dict[str, Price]] = {}
        transit: dict[str, dict[str, int]] = {}
        for r in rows:
            price = Price(r.first_weight_price, r.additional_price)
            if r.service == STANDARD:
                prices[r.dest_group] = price
            else:
                service_prices.setdefault(r.service, {})[r.dest_group] = price
            if r.transit_days is not None:
                transit.setdefault(r.service, {})[r.dest_group] = r.transit_days
        out.append(dataclasses.replace(c, prices=prices, service_prices=service_prices, transit_days=transit,
                                       surcharges={}))
    return out


def rate_rows_for(carriers: Iterable[Carrier]) -> list[RateRow]:
    """The rows that say the same as the carriers' built-in tables (to fill an empty sheet).

    A service's full price = its price table + its surcharge; insurance becomes a 保价 row whose
    first-weight price is the fee. Freight computed from these rows equals freight from the built-in tables.
    """
    out = []
    for c in carriers:
        for service in SERVICES:
            if service not in c.services:
                continue
            for group in GROUPS:
                if service == INSURED:
                    fee = c.surcharges.get(INSURED)
                    if fee is not None:
                        out.append(RateRow(c.code, INSURED, group, fee, Decimal(0), None))
                    continue
                price = c.price_for(service, group)
                days = c.promised_days(service, group)
                if price is None or days is None:
                    continue
                out.append(RateRow(c.code, service, group, price.first + c.surcharges.get(service, Decimal(0)),
                                   price.additional_per_kg, days))
    return out
