"""The qualified-carrier list (合格物流商名录): who may carry, what they offer, what it costs.

The list comes from a workbook sheet or the desk config as plain rows
(``carriers_from_rows``); a realistic default ships with the product
(``load_default_carriers``). Money is ``Decimal`` so freight sums exactly.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any

from xl_addin.domain.problems import ERROR, Problem
from xl_addin.domain.waybills.regions import GROUPS

STANDARD = "standard"
EXPRESS = "express"
COLD_CHAIN = "cold_chain"
BULKY = "bulky"
INSURED = "insured"
SERVICES = (STANDARD, EXPRESS, COLD_CHAIN, BULKY, INSURED)
SERVICE_LABELS = {STANDARD: "标准快递", EXPRESS: "特快", COLD_CHAIN: "冷链", BULKY: "大件", INSURED: "保价"}
# Chinese spellings a sheet may use for a service.
_SERVICE_WORDS = {"标准": STANDARD, "标准快递": STANDARD, "标快": STANDARD, "特快": EXPRESS, "加急": EXPRESS,
                  "冷链": COLD_CHAIN, "大件": BULKY, "快运": BULKY, "保价": INSURED}

_SHORT_CODE = re.compile(r"[A-Z]{1,4}")


@dataclass(frozen=True)
class Price:
    """Freight for one destination group: first-weight price and price per additional kg (yuan)."""

    first: Decimal
    additional_per_kg: Decimal


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    short_name: str
    kuaidi100_code: str
    short_code: str
    qualified: bool
    services: frozenset[str]
    prices: Mapping[str, Price]  # destination group → price
    transit_days: Mapping[str, Mapping[str, int]]  # service → group → promised working days
    kuaidi100_needs_phone: bool = False
    name_en: str = ""
    aliases: tuple[str, ...] = ()
    first_weight_kg: Decimal = Decimal(1)
    service_prices: Mapping[str, Mapping[str, Price]] = field(default_factory=dict)
    surcharges: Mapping[str, Decimal] = field(default_factory=dict)

    def price_for(self, service: str, group: str) -> Price | None:
        table = self.service_prices.get(service) or self.prices
        return table.get(group)

    def promised_days(self, service: str, group: str) -> int | None:
        """Promised working days; a service without its own row (insured) uses the standard row."""
        for key in (service, STANDARD):
            days = self.transit_days.get(key, {}).get(group)
            if days is not None:
                return days
        return None

    def names(self) -> tuple[str, ...]:
        return (self.code, self.name, self.short_name, self.name_en, self.kuaidi100_code, self.short_code, *self.aliases)


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def find_carrier(name_or_code: str | None, carriers: Iterable[Carrier]) -> Carrier | None:
    """Resolve a carrier as people write it: code, Chinese or English name, alias, Kuaidi100 code."""
    if not name_or_code or not str(name_or_code).strip():
        return None
    wanted = _key(str(name_or_code))
    carriers = list(carriers)
    for carrier in carriers:  # exact code wins over a name that happens to collide
        if _key(carrier.code) == wanted:
            return carrier
    for carrier in carriers:
        if any(n and _key(n) == wanted for n in carrier.names()):
            return carrier
    return None


# --- building carriers from rows -------------------------------------------------------------

class CarrierRowsError(ValueError):
    """Rows that cannot make a carrier list; ``problems`` says which row and field, in Chinese."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _decimal(value: Any, where: str, errors: list[str]) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.append(f"{where} 应为数字, 实际为 {value!r}")
        return None
    if not number.is_finite() or number < 0:
        errors.append(f"{where} 应为非负数字, 实际为 {value!r}")
        return None
    return number


def _parse(value: Any) -> Any:
    """A cell holding a table (prices, transit days) is JSON text; config rows give it already parsed."""
    if isinstance(value, str) and value.strip()[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _list(value: Any) -> list[str]:
    value = _parse(value)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [p for p in re.split(r"[,，、;；\s]+", value) if p]
    return [str(v) for v in value]


def _bool(value: Any, where: str, errors: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = _key(str(value)) if value is not None else ""
    if text in {"1", "true", "yes", "y", "是", "合格", "启用", "√", "✓"}:
        return True
    if text in {"0", "false", "no", "n", "否", "不合格", "停用", "", "×", "✗"}:
        return False
    errors.append(f"{where} 应为 是/否, 实际为 {value!r}")
    return False


def _price_table(value: Any, where: str, errors: list[str]) -> dict[str, Price]:
    value = _parse(value)
    if not isinstance(value, Mapping):
        errors.append(f"{where} 应为按目的地分组的价格表, 如 {{\"same\": [12, 2], \"national\": [18, 8]}}")
        return {}
    table: dict[str, Price] = {}
    for group, pair in value.items():
        if group not in GROUPS:
            errors.append(f"{where} 的分组 {group!r} 未知 (可用: {', '.join(GROUPS)})")
            continue
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            errors.append(f"{where}.{group} 应为 [首重价, 续重每公斤价], 实际为 {pair!r}")
            continue
        first = _decimal(pair[0], f"{where}.{group} 首重价", errors)
        extra = _decimal(pair[1], f"{where}.{group} 续重价", errors)
        if first is not None and extra is not None:
            table[group] = Price(first, extra)
    return table


def carrier_from_row(row: Mapping[str, Any], row_label: str = "") -> Carrier:
    """One carrier from one row (sheet or config); raises CarrierRowsError naming each bad field."""
    errors: list[str] = []
    where = f"{row_label} " if row_label else ""

    def text(key: str, required: bool = True) -> str:
        value = row.get(key)
        s = "" if value is None else str(value).strip()
        if required and not s:
            errors.append(f"{where}缺少 {key}")
        return s

    code = text("code").upper()
    name = text("name")
    short_code = text("short_code", required=False).upper()
    if short_code and not _SHORT_CODE.fullmatch(short_code):
        errors.append(f"{where}short_code {short_code!r} 应为 1-4 个英文字母 (用于自动单号)")
    services: set[str] = set()
    for s in _list(row.get("services")):
        service = _SERVICE_WORDS.get(s, s.lower())
        if service not in SERVICES:
            errors.append(f"{where}服务 {s!r} 未知 (可用: {', '.join(SERVICES)})")
        services.add(service)
    if not services:
        errors.append(f"{where}缺少 services (至少 standard)")
    prices = _price_table(row.get("prices"), f"{where}prices", errors)
    service_prices = {}
    for service, table in (_parse(row.get("service_prices")) or {}).items():
        service_prices[service] = _price_table(table, f"{where}service_prices.{service}", errors)
    surcharges = {}
    for service, amount in (_parse(row.get("surcharges")) or {}).items():
        value = _decimal(amount, f"{where}surcharges.{service}", errors)
        if value is not None:
            surcharges[service] = value
    transit: dict[str, dict[str, int]] = {}
    raw_transit = _parse(row.get("transit_days"))
    if not isinstance(raw_transit, Mapping):
        errors.append(f"{where}transit_days 应为按服务和目的地分组的承诺工作日, 如 {{\"standard\": {{\"national\": 3}}}}")
        raw_transit = {}
    for service, groups in raw_transit.items():
        if not isinstance(groups, Mapping):
            errors.append(f"{where}transit_days.{service} 应为 {{分组: 天数}}")
            continue
        for group, days in groups.items():
            if group not in GROUPS or not isinstance(days, int) or isinstance(days, bool) or days < 0:
                errors.append(f"{where}transit_days.{service}.{group} = {days!r} 无效 (分组 {', '.join(GROUPS)}, 天数为非负整数)")
                continue
            transit.setdefault(service, {})[group] = days
    if STANDARD not in transit and transit:
        errors.append(f"{where}transit_days 缺少 standard 一行 (其他服务缺省时使用)")
    first_weight = _decimal(row.get("first_weight_kg", 1), f"{where}first_weight_kg", errors)
    qualified = _bool(row.get("qualified", True), f"{where}qualified", errors)
    needs_phone = _bool(row.get("kuaidi100_needs_phone", False), f"{where}kuaidi100_needs_phone", errors)
    if errors:
        raise CarrierRowsError([Problem("CARRIER_ROW", ERROR, None, m) for m in errors])
    return Carrier(
        code=code,
        name=name,
        short_name=text("short_name", required=False) or name,
        kuaidi100_code=text("kuaidi100_code", required=False),
        short_code=short_code or code[:4],
        qualified=qualified,
        services=frozenset(services),
        prices=prices,
        transit_days=transit,
        kuaidi100_needs_phone=needs_phone,
        name_en=text("name_en", required=False),
        aliases=tuple(_list(row.get("aliases"))),
        first_weight_kg=first_weight or Decimal(1),
        service_prices=service_prices,
        surcharges=surcharges,
    )


def carriers_from_rows(rows: list[dict[str, Any]]) -> list[Carrier]:
    """A carrier list from rows; every bad row and field is reported at once (CarrierRowsError)."""
    problems: list[Problem] = []
    carriers: list[Carrier] = []
    seen: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        label = f"第{i}行({row.get('code') or row.get('name') or '?'})"
        try:
            carrier = carrier_from_row(row, label)
        except CarrierRowsError as exc:
            problems.extend(exc.problems)
            continue
        for key, what in ((carrier.code, "code"), ("#" + carrier.short_code, "short_code")):
            if key in seen:
                problems.append(Problem("CARRIER_ROW", ERROR, None, f"{label} {what} 与{seen[key]}重复"))
            seen[key] = label
        carriers.append(carrier)
    if problems:
        raise CarrierRowsError(problems)
    return carriers


@lru_cache(maxsize=1)
def _default_rows() -> tuple[dict[str, Any], ...]:
    import tomllib

    text = resources.files(__package__).joinpath("data/carriers.toml").read_text("utf-8")
    return tuple(tomllib.loads(text)["carrier"])


def load_default_carriers() -> list[Carrier]:
    """The shipped default list (SF, JD, ZTO, YTO, STO, Yunda, EMS, J&T, Deppon)."""
    return carriers_from_rows([dict(r) for r in _default_rows()])
