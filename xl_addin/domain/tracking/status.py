"""The normalised tracking status vocabulary (17TRACK main/sub statuses) and the Kuaidi100 mapping.

Why 17TRACK: an industry taxonomy everybody on the desk can look up, instead of
one we invent. Every event keeps the carrier's raw code beside the normalised
pair; a code we do not know becomes ``UNKNOWN`` and is reported, never guessed.
"""

from __future__ import annotations

from enum import StrEnum


class MainStatus(StrEnum):
    NOT_FOUND = "NotFound"
    INFO_RECEIVED = "InfoReceived"
    IN_TRANSIT = "InTransit"
    EXPIRED = "Expired"
    AVAILABLE_FOR_PICKUP = "AvailableForPickup"
    OUT_FOR_DELIVERY = "OutForDelivery"
    DELIVERY_FAILURE = "DeliveryFailure"
    DELIVERED = "Delivered"
    EXCEPTION = "Exception"
    UNKNOWN = "Unknown"

    @property
    def zh(self) -> str:
        return MAIN_ZH[self]


class SubStatus(StrEnum):
    NOT_FOUND_OTHER = "NotFound_Other"
    NOT_FOUND_INVALID_CODE = "NotFound_InvalidCode"
    INFO_RECEIVED = "InfoReceived"
    IN_TRANSIT_PICKED_UP = "InTransit_PickedUp"
    IN_TRANSIT_OTHER = "InTransit_Other"
    IN_TRANSIT_DEPARTURE = "InTransit_Departure"
    IN_TRANSIT_ARRIVAL = "InTransit_Arrival"
    IN_TRANSIT_CUSTOMS_PROCESSING = "InTransit_CustomsProcessing"
    IN_TRANSIT_CUSTOMS_RELEASED = "InTransit_CustomsReleased"
    IN_TRANSIT_CUSTOMS_REQUIRING_INFORMATION = "InTransit_CustomsRequiringInformation"
    EXPIRED_OTHER = "Expired_Other"
    AVAILABLE_FOR_PICKUP_OTHER = "AvailableForPickup_Other"
    OUT_FOR_DELIVERY_OTHER = "OutForDelivery_Other"
    DELIVERY_FAILURE_OTHER = "DeliveryFailure_Other"
    DELIVERY_FAILURE_NO_BODY = "DeliveryFailure_NoBody"
    DELIVERY_FAILURE_SECURITY = "DeliveryFailure_Security"
    DELIVERY_FAILURE_REJECTED = "DeliveryFailure_Rejected"
    DELIVERY_FAILURE_INVALID_ADDRESS = "DeliveryFailure_InvalidAddress"
    DELIVERED_OTHER = "Delivered_Other"
    EXCEPTION_OTHER = "Exception_Other"
    EXCEPTION_RETURNING = "Exception_Returning"
    EXCEPTION_RETURNED = "Exception_Returned"
    EXCEPTION_NO_BODY = "Exception_NoBody"
    EXCEPTION_SECURITY = "Exception_Security"
    EXCEPTION_DAMAGE = "Exception_Damage"
    EXCEPTION_REJECTED = "Exception_Rejected"
    EXCEPTION_DELAYED = "Exception_Delayed"
    EXCEPTION_LOST = "Exception_Lost"
    EXCEPTION_DESTROYED = "Exception_Destroyed"
    EXCEPTION_CANCEL = "Exception_Cancel"
    UNKNOWN = "Unknown"

    @property
    def zh(self) -> str:
        return SUB_ZH[self]

    @property
    def main(self) -> MainStatus:
        if self is SubStatus.UNKNOWN:
            return MainStatus.UNKNOWN
        return MainStatus(self.value.split("_", 1)[0])


MAIN_ZH: dict[MainStatus, str] = {
    MainStatus.NOT_FOUND: "查询不到",
    MainStatus.INFO_RECEIVED: "已下单待揽收",
    MainStatus.IN_TRANSIT: "运输中",
    MainStatus.EXPIRED: "运输过久",
    MainStatus.AVAILABLE_FOR_PICKUP: "到达待取",
    MainStatus.OUT_FOR_DELIVERY: "派送中",
    MainStatus.DELIVERY_FAILURE: "投递失败",
    MainStatus.DELIVERED: "已签收",
    MainStatus.EXCEPTION: "异常",
    MainStatus.UNKNOWN: "未知状态",
}

SUB_ZH: dict[SubStatus, str] = {
    SubStatus.NOT_FOUND_OTHER: "暂无轨迹",
    SubStatus.NOT_FOUND_INVALID_CODE: "单号无效",
    SubStatus.INFO_RECEIVED: "已下单",
    SubStatus.IN_TRANSIT_PICKED_UP: "已揽收",
    SubStatus.IN_TRANSIT_OTHER: "运输中",
    SubStatus.IN_TRANSIT_DEPARTURE: "干线运输",
    SubStatus.IN_TRANSIT_ARRIVAL: "到达目的城市",
    SubStatus.IN_TRANSIT_CUSTOMS_PROCESSING: "清关中",
    SubStatus.IN_TRANSIT_CUSTOMS_RELEASED: "已清关",
    SubStatus.IN_TRANSIT_CUSTOMS_REQUIRING_INFORMATION: "清关异常",
    SubStatus.EXPIRED_OTHER: "运输过久",
    SubStatus.AVAILABLE_FOR_PICKUP_OTHER: "已入柜/驿站待取",
    SubStatus.OUT_FOR_DELIVERY_OTHER: "派件中",
    SubStatus.DELIVERY_FAILURE_OTHER: "投递失败",
    SubStatus.DELIVERY_FAILURE_NO_BODY: "联系不上收件人",
    SubStatus.DELIVERY_FAILURE_SECURITY: "安检未通过",
    SubStatus.DELIVERY_FAILURE_REJECTED: "收件人拒收",
    SubStatus.DELIVERY_FAILURE_INVALID_ADDRESS: "地址超区/无效",
    SubStatus.DELIVERED_OTHER: "已签收",
    SubStatus.EXCEPTION_OTHER: "疑难件",
    SubStatus.EXCEPTION_RETURNING: "退回中",
    SubStatus.EXCEPTION_RETURNED: "已退回签收",
    SubStatus.EXCEPTION_NO_BODY: "无人认领",
    SubStatus.EXCEPTION_SECURITY: "安检异常",
    SubStatus.EXCEPTION_DAMAGE: "破损",
    SubStatus.EXCEPTION_REJECTED: "拒收待处理",
    SubStatus.EXCEPTION_DELAYED: "延误",
    SubStatus.EXCEPTION_LOST: "丢件",
    SubStatus.EXCEPTION_DESTROYED: "已销毁",
    SubStatus.EXCEPTION_CANCEL: "已取消",
    SubStatus.UNKNOWN: "未知状态",
}

UNKNOWN = (MainStatus.UNKNOWN, SubStatus.UNKNOWN)

S = SubStatus
# Kuaidi100 state codes (§5 of the protocol file), base and advanced, one flat table:
# documents disagree on which level a code lives at, so the level does not matter here.
_KUAIDI100: dict[str, SubStatus] = {
    # 1 揽收
    "1": S.IN_TRANSIT_PICKED_UP, "101": S.INFO_RECEIVED, "102": S.INFO_RECEIVED, "103": S.IN_TRANSIT_PICKED_UP,
    # 0 在途
    "0": S.IN_TRANSIT_OTHER, "1001": S.IN_TRANSIT_ARRIVAL, "1002": S.IN_TRANSIT_DEPARTURE, "1003": S.IN_TRANSIT_OTHER,
    # 5 派件
    "5": S.OUT_FOR_DELIVERY_OTHER, "501": S.AVAILABLE_FOR_PICKUP_OTHER,
    # 3 签收
    "3": S.DELIVERED_OTHER, "301": S.DELIVERED_OTHER, "302": S.DELIVERED_OTHER,
    "303": S.DELIVERED_OTHER, "304": S.DELIVERED_OTHER,
    # 6 退回, 4 退签, 14 拒签, 7 转投
    "6": S.EXCEPTION_RETURNING, "4": S.EXCEPTION_RETURNED, "401": S.EXCEPTION_CANCEL,
    "14": S.DELIVERY_FAILURE_REJECTED, "7": S.IN_TRANSIT_OTHER,
    # 2 疑难
    "2": S.EXCEPTION_OTHER, "201": S.DELIVERY_FAILURE_OTHER, "202": S.EXCEPTION_DELAYED,
    "203": S.EXCEPTION_REJECTED, "204": S.DELIVERY_FAILURE_OTHER, "205": S.EXCEPTION_NO_BODY,
    "206": S.DELIVERY_FAILURE_NO_BODY, "207": S.DELIVERY_FAILURE_INVALID_ADDRESS,
    "208": S.EXCEPTION_DELAYED, "209": S.EXCEPTION_DAMAGE,
    # 210 销单: the sender cancelled the shipment — a problem a person must look at (the parcel may be
    # out already), not the end of the journey like 401 已销单
    "210": S.EXCEPTION_OTHER,
    # 8 清关 and 10..13
    "8": S.IN_TRANSIT_CUSTOMS_PROCESSING, "10": S.IN_TRANSIT_CUSTOMS_PROCESSING,
    "11": S.IN_TRANSIT_CUSTOMS_PROCESSING, "12": S.IN_TRANSIT_CUSTOMS_RELEASED,
    "13": S.IN_TRANSIT_CUSTOMS_REQUIRING_INFORMATION,
}

# Chinese state names Kuaidi100 prints per code (resultv2>=1 gives the name, =4 the code too), as its
# advanced-state table spells them (101 已下单, 103 已揽收, 1001 到达派件城, 401 已销单, 210 销单).
KUAIDI100_NAMES: dict[str, str] = {
    "1": "揽收", "101": "已下单", "102": "待揽收", "103": "已揽收",
    "0": "在途", "1001": "到达派件城", "1002": "干线", "1003": "转递",
    "5": "派件", "501": "投柜或驿站",
    "3": "签收", "301": "本人签收", "302": "派件异常后签收", "303": "代签", "304": "投柜或站签收",
    "6": "退回", "4": "退签", "401": "已销单", "14": "拒签", "7": "转投",
    "2": "疑难", "201": "超时未签收", "202": "超时未更新", "203": "拒收", "204": "派件异常",
    "205": "柜或驿站超时未取", "206": "无法联系", "207": "超区", "208": "滞留", "209": "破损", "210": "销单",
    "8": "清关", "10": "待清关", "11": "清关中", "12": "已清关", "13": "清关异常",
}


def _names_to_codes() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, name in KUAIDI100_NAMES.items():
        out.setdefault(name, code)  # base codes come first in the table ("揽收" → 1)
    return out


_NAME_TO_CODE = _names_to_codes()

# Other spellings seen in older documents and accounts: a name without its code must still map.
KUAIDI100_NAME_ALIASES: dict[str, str] = {
    "下单": "101", "到达派件城市": "1001", "销单": "210", "已签收": "3", "派送中": "5", "派件中": "5",
    "运输中": "0", "投柜或驿站签收": "304", "退回签收": "4", "已退签": "4",
}


def kuaidi100_code_for_name(name: str | None) -> str | None:
    """The state code behind a Kuaidi100 state name (pushes may carry names without codes)."""
    text = (name or "").strip()
    if not text:
        return None
    return _NAME_TO_CODE.get(text) or KUAIDI100_NAME_ALIASES.get(text)


def _code_text(code: str | int | None) -> str | None:
    if code is None or isinstance(code, bool):
        return None
    text = str(code).strip()
    if not text.isdigit():
        return None
    return str(int(text))  # "03" and 3 are the same code


def map_kuaidi100(code: str | int | None) -> tuple[MainStatus, SubStatus]:
    """Kuaidi100 ``state``/``statusCode`` (any level) → (main, sub); unknown → ``UNKNOWN``."""
    key = _code_text(code)
    sub = _KUAIDI100.get(key) if key is not None else None
    if sub is None:
        return UNKNOWN
    return sub.main, sub


def is_known_kuaidi100(code: str | int | None) -> bool:
    key = _code_text(code)
    return key is not None and key in _KUAIDI100


_LOST_WORDS = ("遗失", "丢失", "丢件")
_DAMAGE_WORDS = ("破损", "损坏")


def refine_by_context(main: MainStatus, sub: SubStatus, context: str | None) -> tuple[MainStatus, SubStatus]:
    """Sharpen a generic problem state (疑难 / delayed) from the event text: lost and damaged
    have no code of their own at Kuaidi100. Never turns a non-problem state into a problem."""
    if not context or sub not in (S.EXCEPTION_OTHER, S.EXCEPTION_DELAYED, S.DELIVERY_FAILURE_OTHER):
        return main, sub
    if any(w in context for w in _LOST_WORDS):
        return MainStatus.EXCEPTION, S.EXCEPTION_LOST
    if any(w in context for w in _DAMAGE_WORDS):
        return MainStatus.EXCEPTION, S.EXCEPTION_DAMAGE
    return main, sub


_FINAL_SUBS = frozenset({S.EXCEPTION_RETURNED, S.EXCEPTION_CANCEL, S.EXCEPTION_DESTROYED})


def is_final(main: MainStatus | str, sub: MainStatus | SubStatus | str | None = None) -> bool:
    """True when the journey is over: delivered, returned and signed by the sender, cancelled, destroyed.
    Tracking stops for final waybills (the refresh job never queries them again)."""
    if str(main) == MainStatus.DELIVERED.value:
        return True
    return sub is not None and str(sub) in {s.value for s in _FINAL_SUBS}


class KeyNode(StrEnum):
    """Nodes the customer is told about (DOMAIN stage 3)."""

    PICKED_UP = "picked_up"
    OUT_FOR_DELIVERY = "out_for_delivery"
    SIGNED = "signed"

    @property
    def zh(self) -> str:
        return {"picked_up": "已揽收", "out_for_delivery": "派件中", "signed": "已签收"}[self.value]


def key_node(main: MainStatus | str, sub: SubStatus | str | None = None) -> KeyNode | None:
    """Which customer-facing key node a status reaches, if any. A parcel put into a locker
    or station counts as "about to be delivered": the customer must go and fetch it."""
    main_v = str(main)
    if sub is not None and str(sub) == S.IN_TRANSIT_PICKED_UP.value:
        return KeyNode.PICKED_UP
    if main_v in (MainStatus.OUT_FOR_DELIVERY.value, MainStatus.AVAILABLE_FOR_PICKUP.value):
        return KeyNode.OUT_FOR_DELIVERY
    if main_v == MainStatus.DELIVERED.value:
        return KeyNode.SIGNED
    return None


def display_zh(main: MainStatus | str, sub: SubStatus | str | None = None) -> str:
    """Chinese label for a cell: the sub-status name when there is one, else the main name."""
    try:
        if sub:
            return SubStatus(str(sub)).zh
        return MainStatus(str(main)).zh
    except ValueError:
        return MAIN_ZH[MainStatus.UNKNOWN]
