"""Deterministic parcel journeys: the same (seed, waybill) always yields the same story.

A journey is a list of timed nodes written the way Chinese carriers write them; the sandbox
returns those at or before its simulated clock.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .geography import CITIES, City, locate, route

CARRIERS = {
    "shunfeng": "顺丰速运", "shunfengkuaiyun": "顺丰快运", "fengwang": "丰网速运", "jd": "京东物流",
    "zhongtong": "中通快递", "yuantong": "圆通速递", "shentong": "申通快递", "yunda": "韵达快递",
    "huitongkuaidi": "百世快递", "ems": "EMS", "youzhengguonei": "邮政快递包裹", "jtexpress": "极兔速递",
    "debangkuaidi": "德邦快递", "debangwuliu": "德邦物流", "zhaijisong": "宅急送", "youshuwuliu": "优速快递",
    "danniao": "丹鸟", "kuayue": "跨越速运", "annengwuliu": "安能快运", "sxjdfreight": "顺心捷达",
}

SCENARIOS = (
    "normal", "locker", "delayed", "stalled_after_pickup", "stalled_in_transit",
    "lost", "damaged", "rejected_returned", "no_record",
)
DEFAULT_MIX = {
    "normal": 40, "locker": 15, "delayed": 10, "stalled_after_pickup": 6, "stalled_in_transit": 6,
    "lost": 4, "damaged": 5, "rejected_returned": 6, "no_record": 8,
}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
_GIVEN = ("伟", "芳", "军", "磊", "洋", "勇", "杰", "涛", "明", "超", "强", "平", "刚", "辉", "鹏", "华", "斌", "飞")
_LOCKERS = ("丰巢智能快递柜", "菜鸟驿站", "兔喜生活驿站", "妈妈驿站")
_STREETS = ("人民路", "建设路", "中山路", "解放路", "新华路", "和平路", "青年路", "文化路")

_DATE_IN_NUMBER = re.compile(r"(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


@dataclass(frozen=True)
class Node:
    at: datetime  # aware, China time
    context: str
    base: str  # base state code
    code: str  # advanced code (== base when none)
    city: City | None


@dataclass
class Journey:
    waybill: str
    com: str
    scenario: str
    shipped_at: datetime
    phone: str
    origin: City
    dest: City
    nodes: list[Node] = field(default_factory=list)

    def visible(self, now: datetime) -> list[Node]:
        return [n for n in self.nodes if n.at <= now]

    @property
    def final_at(self) -> datetime | None:
        """When the journey ends (signed / returned-signed), None if it never does."""
        last = self.nodes[-1] if self.nodes else None
        if last and last.base in ("3", "4"):
            return last.at
        return None


def _rng(seed: int | str, waybill: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{waybill.strip().upper()}".encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pick_scenario(rng: random.Random, mix: dict[str, float]) -> str:
    names = [s for s in SCENARIOS if mix.get(s, 0) > 0]
    if not names:
        return "normal"
    return rng.choices(names, weights=[float(mix[s]) for s in names])[0]


def shipped_at_for(waybill: str, rng: random.Random, start: datetime, window_hours: float) -> datetime:
    """A YYYYMMDD date in the number (JD2024102800001) fixes the day; else hash-derived before start."""
    m = _DATE_IN_NUMBER.search(waybill)
    if m:
        try:
            day = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=start.tzinfo)
            return day + timedelta(hours=9, minutes=rng.randint(0, 9 * 60))
        except ValueError:
            pass
    return start - timedelta(minutes=rng.randint(0, int(window_hours * 60)))


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.5 else "")


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "136", "137", "150", "151", "158", "186", "188", "177")) + "".join(
        str(rng.randint(0, 9)) for _ in range(8))


def _outlet(com: str, c: City, rng: random.Random) -> str:
    if com == "yuantong":
        return f"{c.province_full}{c.city}{c.district}公司"
    if com in ("shunfeng", "shunfengkuaiyun"):
        return f"{c.city}{c.district}{rng.choice(_STREETS)}营业点"
    if com == "jd":
        return f"{c.city}{c.district}营业部"
    return f"{c.city}{c.district}{rng.choice(('网点', '分部', '营业部'))}"


def _city_hub(c: City) -> str:
    return f"{c.city.rstrip('市')}转运中心"


class _Builder:
    def __init__(self, rng: random.Random, com: str, t: datetime) -> None:
        self.rng, self.com, self.t = rng, com, t
        self.nodes: list[Node] = []

    def add(self, hours: tuple[float, float], context: str, base: str, code: str, city: City | None) -> None:
        lo, hi = hours
        self.t = self.t + timedelta(minutes=self.rng.randint(int(lo * 60), max(int(lo * 60), int(hi * 60))),
                                    seconds=self.rng.randint(0, 59))
        self.nodes.append(Node(self.t, context, base, code, city))


def build_journey(
    waybill: str, com: str, *, seed: int | str = 0, start: datetime,
    mix: dict[str, float] | None = None, scenario: str | None = None,
    shipped_at: datetime | None = None, phone: str | None = None,
    origin_text: str | None = None, dest_text: str | None = None, window_hours: float = 48,
) -> Journey:
    rng = _rng(seed, waybill)
    scen = scenario or pick_scenario(rng, mix or DEFAULT_MIX)
    ship = shipped_at or shipped_at_for(waybill, rng, start, window_hours)
    origin = locate(origin_text) or rng.choice(CITIES)
    dest = locate(dest_text) or rng.choice([c for c in CITIES if c.city != origin.city])
    if dest.city == origin.city and not dest_text:  # a made-up same-city route: pick another so it passes a hub
        near = [c for c in CITIES if c.province == origin.province and c.city != origin.city]
        dest = rng.choice(near or [c for c in CITIES if c.city != origin.city])
    if dest is origin:
        dest = replace(dest)  # the same place, but its own stop on the route
    j = Journey(waybill, com, scen, ship, phone or _phone(rng), origin, dest)
    if scen == "no_record":
        return j
    b = _Builder(rng, com, ship)
    o_outlet, d_outlet = _outlet(com, origin, rng), _outlet(com, dest, rng)
    picker, picker_phone = _person(rng), _phone(rng)
    b.add((0, 0.2), f"【{o_outlet}】 已揽收，揽投员：{picker} 电话：{picker_phone}", "1", "103", origin)
    if scen == "stalled_after_pickup":
        j.nodes = b.nodes
        return j
    stops = route(origin, dest)
    if len(stops) == 1:  # a same-city parcel: the city's hub, then the district's sorting centre
        stops = [origin, dest]
    local = {id(dest): f"{dest.city.rstrip('市')}{dest.district}分拨中心"} if dest.city == origin.city else {}

    def _hub(c: City) -> str:
        return local.get(id(c)) or _city_hub(c)

    b.add((2, 5), f"【{o_outlet}】 已发出 下一站 【{_hub(origin)}】", "0", "0", origin)
    b.add((1, 3), f"【{_hub(origin)}】 已收入", "0", "0", origin)
    for here, nxt in zip(stops, stops[1:]):
        b.add((0.5, 3), f"【{_hub(here)}】 已发出 下一站 【{_hub(nxt)}】", "0", "1002", here)
        if scen == "stalled_in_transit" and here is stops[0]:
            j.nodes = b.nodes
            return j
        if scen == "delayed" and here is stops[0]:
            b.add((30, 40), f"【{_hub(nxt)}】 受天气影响，快件延误，预计晚24小时送达", "2", "208", nxt)
        if scen == "lost" and nxt is stops[-1]:
            b.add((70, 80), f"【{_hub(here)}】 快件遗失，已登记理赔，请联系寄件方处理", "2", "2", here)
            j.nodes = b.nodes
            return j
        hours = (6, 14) if nxt is stops[-1] else (8, 18)
        code = "1001" if nxt is stops[-1] else "0"
        b.add(hours, f"【{_hub(nxt)}】 已收入", "0", code, nxt)
    b.add((1, 4), f"【{_hub(dest)}】 已发出 下一站 【{d_outlet}】", "0", "0", dest)
    b.add((2, 6), f"【{d_outlet}】 已收入", "0", "0", dest)
    if scen == "damaged":
        b.add((0.5, 2), f"【{d_outlet}】 快件外包装破损，已联系寄件方处理", "2", "209", dest)
        j.nodes = b.nodes
        return j
    courier, courier_phone = _person(rng), _phone(rng)
    b.add((0.5, 3), f"【{d_outlet}】 派件员：{courier} 电话：{courier_phone} 正在为您派件", "5", "5", dest)
    if scen == "locker":
        locker = rng.choice(_LOCKERS)
        b.add((1, 3), f"快件已放入{dest.district}{rng.choice(_STREETS)}{locker}，取件码 {rng.randint(1000, 9999)}，"
                      f"如有疑问请联系派件员 {courier_phone}", "5", "501", dest)
        b.add((2, 20), "快件已签收，签收人凭取货码签收", "3", "304", dest)
    elif scen == "rejected_returned":
        b.add((1, 3), f"【{d_outlet}】 收件人拒收，快件将退回寄件人", "14", "14", dest)
        b.add((6, 12), f"【{d_outlet}】 快件已退回，正在发往【{_hub(origin)}】", "6", "6", dest)
        b.add((24, 40), f"【{_hub(origin)}】 退回件已收入", "6", "6", origin)
        b.add((6, 12), f"【{o_outlet}】 退回件已签收，签收人：寄件人", "4", "4", origin)
    else:  # normal, delayed
        signer = rng.choice(("本人", "家人", "前台", "门卫"))
        code = "301" if signer == "本人" else "303"
        b.add((1, 4), f"快件已签收，签收人：{signer}，如有疑问请联系派件员 {courier} {courier_phone}", "3", code, dest)
    j.nodes = b.nodes
    return j
