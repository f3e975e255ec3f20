"""Worksheet functions (the module the add-in's VBA wrappers call): =TRACK(A2), =PHONE_OK(B2), …

Each is a plain Python function (``track``, ``phone_ok``, …), and beside it the Excel name
(``TRACK``, ``PHONE_OK``, …) decorated for xlwings at the bottom of this file. Tracking functions read the state store's cache only — never
the network during recalculation (a provider locks a number queried too
often). Every function also takes a whole column (=TRACK(A2:A5001)) and
returns one result per cell in a single call: one call from Excel to Python
costs far more than our lookup, so staff should prefer the range form.
Problems come back as text ("未跟踪", "#N/A 状态库不可用"), never as an
exception dialog.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from xl_addin.adapters.store.tracking_cache import CacheUnavailable, cache_for

NOT_TRACKED = "未跟踪"
STORE_MISSING = "#N/A 状态库不可用"
NO_ETA = "暂无预计送达"
_CHINA = timezone(timedelta(hours=8))  # carrier times are China time; no DST there
_carriers: list | None = None


# ---------------------------------------------------------------- helpers

def _waybill(value: Any) -> str:
    if value.__class__ is str and value.isalnum():
        return value.upper()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(str(value).split()).upper()


def _over(values: Any, one: Callable[[Any], Any]) -> Any:
    """Apply ``one`` to a single value or to every cell of a 1-D/2-D range, keeping the shape."""
    if isinstance(values, (list, tuple)):
        if values and all(isinstance(r, (list, tuple)) for r in values):
            if len(values) == 1 and len(values[0]) == 1:
                return one(values[0][0])
            return [[one(v) for v in row] for row in values]
        return [one(v) for v in values]
    return one(values)


_cache = cache_for
_times: dict[str, str] = {}


def _short_time(text: str | None) -> str | None:
    """ "MM-DD HH:MM" in China time; memoised (a sheet's waybills share few distinct node times)."""
    if not text:
        return None
    short = _times.get(text)
    if short is None:
        moment = _local_time(text)
        short = f"{moment:%m-%d %H:%M}" if moment else ""
        if len(_times) < 100_000:
            _times[text] = short
    return short or None


def _local_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment.astimezone(_CHINA) if moment.tzinfo else moment).replace(tzinfo=None)


def _status_zh(row) -> str:
    if row.status_zh:
        return row.status_zh
    try:
        from xl_addin.domain.tracking.status import MainStatus

        return MainStatus(row.status).zh
    except (ValueError, ImportError, KeyError):
        return row.status or "状态未知"


def _lookup(value: Any, desk, render: Callable[[Any], Any]) -> Any:
    number = _waybill(value)
    if not number:
        return ""
    try:
        row = _cache(desk).status(number)
    except CacheUnavailable:
        return STORE_MISSING
    return NOT_TRACKED if row is None else render(row)


def _lookup_all(values: Any, desk, render: Callable[[Any], Any]) -> Any:
    """A single value, or a whole range answered with a few IN queries instead of one query per cell."""
    if not isinstance(values, (list, tuple)):
        return _lookup(values, desk, render)
    if (len(values) == 1 and isinstance(values[0], (list, tuple))
                                                  and len(values[0]) == 1):
        return _over(values, lambda v: _lookup(v, desk, render))
    rows = values if values and isinstance(values[0], (list, tuple)) else [values]
    try:
        found = _cache(desk).statuses([_waybill(v) for row in rows for v in row])
    except CacheUnavailable:
        return _over(values, lambda v: STORE_MISSING if _waybill(v) else "")

    def one(v):
        number = _waybill(v)
        if not number:
            return ""
        row = found.get(number)
        return NOT_TRACKED if row is None else render(row)
    return _over(values, one)


# ---------------------------------------------------------------- tracking (state store cache)

def track(waybill: Any, desk: str | Path | None = None) -> Any:
    """Status in Chinese and the last node's time, e.g. "运输中 11-27 14:05"."""
    def render(row):
        short = _short_time(row.last_time)
        return f"{_status_zh(row)} {short}" if short else _status_zh(row)
    return _lookup_all(waybill, desk, render)


def track_status(waybill: Any, desk: str | Path | None = None) -> Any:
    """The normalised status code (17TRACK vocabulary, e.g. InTransit)."""
    return _lookup_all(waybill, desk, lambda row: row.status or "Unknown")


def track_last(waybill: Any, desk: str | Path | None = None) -> Any:
    """The last node's text as the carrier wrote it."""
    return _lookup_all(waybill, desk, lambda row: row.last_context or "")


def track_eta(waybill: Any, desk: str | Path | None = None) -> Any:
    """Expected delivery date (a date cell), or a text saying there is none yet."""
    def render(row):
        if not row.expected_delivery:
            return NO_ETA
        try:
            return date.fromisoformat(row.expected_delivery[:10])
        except ValueError:
            return row.expected_delivery
    return _lookup_all(waybill, desk, render)


NODE_HEADER = ["时间", "节点", "状态"]


def track_nodes(waybill: Any, desk: str | Path | None = None) -> Any:
    """All nodes of one waybill, newest first, as a table that spills below the cell."""
    number = _waybill(waybill[0][0] if isinstance(waybill, list) and waybill and isinstance(waybill[0], list)
                      else waybill)
    if not number:
        return ""
    try:
        nodes = _cache(desk).nodes(number)
    except CacheUnavailable:
        return STORE_MISSING
    if not nodes:
        return NOT_TRACKED
    return [NODE_HEADER] + [[_local_time(n.time) or n.time or "", n.context or "", n.status or ""] for n in nodes]


def track_many(waybills: Any, desk: str | Path | None = None) -> Any:
    """TRACK over a whole column in one call (same as =TRACK(A2:A5001))."""
    return track(waybills, desk)


# ---------------------------------------------------------------- format checks (pure domain rules)

def _default_carriers() -> list:
    global _carriers
    if _carriers is None:
        from xl_addin.domain.waybills.carriers import load_default_carriers

        _carriers = load_default_carriers()
    return _carriers


def carrier(waybill: Any) -> Any:
    """The carrier(s) whose number format fits, e.g. "顺丰速运"; "无法识别" when none does."""
    def one(value):
        number = _waybill(value)
        if not number:
            return ""
        from xl_addin.domain.waybills.formats import suggest_carriers

        carriers = _default_carriers()
        names = {c.code: c.name for c in carriers}
        codes = suggest_carriers(number, carriers)
        return "、".join(names.get(c, c) for c in codes) if codes else "无法识别"
    return _over(waybill, one)


def _verdict(problems: list) -> Any:
    if not problems:
        return True
    first = next((p for p in problems if p.severity == "error"), problems[0])
    return ("✗ " if first.severity == "error" else "⚠ ") + first.message


def waybill_ok(waybill: Any, carrier_name: Any) -> Any:
    """TRUE when the number fits the carrier's format, else what is wrong."""
    from xl_addin.domain.waybills.formats import check_waybill

    def one(value, name):
        if not _waybill(value):
            return ""
        return _verdict(check_waybill(value, str(name or "").strip(), _default_carriers()))
    if isinstance(waybill, list) and isinstance(carrier_name, list) and len(waybill) == len(carrier_name):
        rows = [(w, c) for w, c in zip(waybill, carrier_name)]
        out = [[one(a, b) for a, b in zip(w if isinstance(w, list) else [w], c if isinstance(c, list) else [c])]
               for w, c in rows]
        return out[0][0] if len(out) == 1 and len(out[0]) == 1 else out
    return _over(waybill, lambda v: one(v, carrier_name))


def phone_ok(phone: Any) -> Any:
    """TRUE for a valid Chinese mobile / landline, else what is wrong."""
    from xl_addin.domain.intake import normalize_phone

    def one(value):
        if value is None or value == "":
            return ""
        canonical, message = normalize_phone(value)
        return True if canonical and not message else ("✗ " + (message or "号码无法识别"))
    return _over(phone, one)


def address_ok(address: Any) -> Any:
    """TRUE when province, city, district, street and number are all there, else what is missing."""
    from xl_addin.domain.intake import parse_address

    def one(value):
        if value is None or not str(value).strip():
            return ""
        parsed = parse_address(str(value))
        if parsed.ambiguous_name:
            return f"✗ 地名“{parsed.ambiguous_name}”有歧义（{'、'.join(parsed.candidates)}），请写明省市"
        if parsed.missing:
            return "✗ 缺少" + "、".join(parsed.missing)
        if parsed.review:
            return "⚠ " + parsed.review
        return True
    return _over(address, one)


def _caller_folder(caller) -> str | None:
    """The calling workbook's folder (only asked when XL_LOGISTICS_DESK is not set)."""
    import os

    from xl_addin.adapters.store.tracking_cache import DESK_ENV

    if os.environ.get(DESK_ENV) or caller is None:
        return None
    try:
        full = caller.sheet.book.fullname
    except Exception:  # an unsaved book has no folder
        return None
    return str(Path(full).parent) if full and ("\\" in full or "/" in full) else None


# ---------------------------------------------------------------- the Excel names (xlwings)
#
# Written out one by one, exactly as xlwings reads them: ``xw.func`` takes the function's own
# parameter names (``inspect.signature``) and its docstring (the function wizard's description);
# every ``xw.arg`` must name one of those parameters (the real ``xlarg`` raises "Invalid argument
# name" otherwise, and the UDF server then cannot import this module). A parameter called
# ``caller`` is xlwings' reserved one: the VBA wrapper passes ``Nothing`` and ``call_udf`` puts
# the calling cell there. ``ndim=2``: one cell and a range arrive the same way, as a 2-D list.
# Off Windows ``xw.func``/``xw.arg`` are xlwings' no-op stand-ins; ``xl_addin.excel.xlwings_real``
# binds the real ones (as xlwings/__init__.py does on Windows) to build and test the add-in.

import xlwings as xw  # noqa: E402  (a hard dependency; xlwings has imported it already inside Excel)

CATEGORY = "物流助手"
_WAYBILL_DOC = "运单号：一个单元格，或一整列如 A2:A5001（一次调用返回每行的结果）"


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
def TRACK(waybill, caller):
    """运单的最新状态和最后节点时间（中国时间），如“运输中 11-27 14:05”；只读状态库，不联网。"""
    return track(waybill, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
def TRACK_STATUS(waybill, caller):
    """运单的标准状态代码（如 InTransit、Delivered）。"""
    return track_status(waybill, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
def TRACK_LAST(waybill, caller):
    """运单最后一个节点的原文（物流商写的内容）。"""
    return track_last(waybill, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
def TRACK_ETA(waybill, caller):
    """预计送达日期（日期单元格）；还没有时显示“暂无预计送达”。"""
    return track_eta(waybill, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc="运单号：一个单元格")
def TRACK_NODES(waybill, caller):
    """一个运单的全部节点（时间、节点、状态），最新的在前，作为表格向下展开。"""
    return track_nodes(waybill, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybills", ndim=2, doc="一整列运单号，如 A2:A5001")
def TRACK_MANY(waybills, caller):
    """对一整列运单一次返回 TRACK 的结果（与 =TRACK(A2:A5001) 相同）。"""
    return track_many(waybills, _caller_folder(caller))


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
def CARRIER(waybill):
    """按运单号格式判断物流商，如“顺丰速运”；都不符合时显示“无法识别”。"""
    return carrier(waybill)


@xw.func(category=CATEGORY)
@xw.arg("waybill", ndim=2, doc=_WAYBILL_DOC)
@xw.arg("carrier", ndim=2, doc="物流商代码或名称，如 SF、顺丰")
def WAYBILL_OK(waybill, carrier):
    """运单号符合该物流商的格式时为 TRUE，否则说明哪里不对。"""
    return waybill_ok(waybill, carrier)


@xw.func(category=CATEGORY)
@xw.arg("phone", ndim=2, doc="电话号码：一个单元格或一整列")
def PHONE_OK(phone):
    """有效的中国手机或固定电话为 TRUE，否则说明哪里不对。"""
    return phone_ok(phone)


@xw.func(category=CATEGORY)
@xw.arg("address", ndim=2, doc="收货地址：一个单元格或一整列")
def ADDRESS_OK(address):
    """省、市、区县、街道和门牌齐全时为 TRUE，否则说明缺什么。"""
    return address_ok(address)


# Every worksheet function, in the order the add-in registers them.
EXCEL_FUNCTIONS = (TRACK, TRACK_STATUS, TRACK_LAST, TRACK_ETA, TRACK_NODES, TRACK_MANY,
                   CARRIER, WAYBILL_OK, PHONE_OK, ADDRESS_OK)
