"""Formats, fixed choice lists and the columns that recur across the desk workbooks (same label and aliases
everywhere); the books themselves are declared in ``books``."""

from __future__ import annotations


from .schema import (
    DATE,
    DATETIME,
    INT,
    MONEY,
    NUMBER,
    PHONE,
    PRODUCT,
    TEXT,
    USER,
    Column,
)

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "¥#,##0.00"
TEXT_FORMAT = "@"  # long digit strings (phones, waybills) must not become 1.38E+10

_DEFAULT_FORMATS = {
    DATETIME: DATETIME_FORMAT,
    DATE: DATE_FORMAT,
    MONEY: MONEY_FORMAT,
    PHONE: TEXT_FORMAT,
    INT: "0",
    NUMBER: "0.###",
}

YES_NO = ("是", "否")
CARRIER_NAMES = ("顺丰", "京东物流", "中通", "圆通", "申通", "韵达", "EMS", "极兔", "德邦")
NODE_NAMES = ("已揽收", "运输中", "到达派送网点", "派件中", "已签收", "异常")
SPECIAL_REQUIREMENT_TAGS = ("易碎", "加急", "冷链", "大件", "贵重", "到付")


def _col(key: str, label: str, *aliases: str, **kw) -> Column:
    """A column with the number format its type implies unless one is given."""
    kind = kw.get("type", TEXT)
    kw.setdefault("number_format", _DEFAULT_FORMATS.get(kind))
    if kind in (DATE, DATETIME):
        kw.setdefault("width", 17.0 if kind == DATETIME else 12.0)
    return Column(key=key, label=label, aliases=tuple(aliases), **kw)


# --- columns that recur across books (same label and aliases everywhere) ---

def _order_no(owner: str = USER, required: bool = False, help: str = "本公司订单编号") -> Column:
    return _col("order_no", "订单编号", "order_no", "order no", "order number", "order id", "订单号",
                owner=owner, required=required, width=18.0, number_format=TEXT_FORMAT, help=help)


def _waybill_no(owner: str = PRODUCT, required: bool = False, help: str = "物流商运单号") -> Column:
    return _col("waybill_no", "物流单号", "waybill_no", "waybill no", "waybill", "tracking number",
                "tracking no", "运单号", "快递单号",
                owner=owner, required=required, width=20.0, number_format=TEXT_FORMAT, help=help)


def _carrier(owner: str = PRODUCT, help: str = "承运物流商") -> Column:
    return _col("carrier", "物流商名称", "carrier", "carrier name", "courier", "物流商", "快递公司",
                owner=owner, width=12.0, help=help)
