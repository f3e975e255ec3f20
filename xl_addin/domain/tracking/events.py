"""One tracking node as the desk stores it, whatever its source (query, push, manual entry)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from datetime import datetime, timedelta, timezone, tzinfo

from .status import MainStatus, SubStatus, kuaidi100_code_for_name, map_kuaidi100, refine_by_context

SOURCES = ("query", "push", "manual")

_CHINA_FIXED = timezone(timedelta(hours=8), "CST")
_china_tz: tzinfo | None = None


def china_tz() -> tzinfo:
    """Asia/Shanghai; a fixed UTC+8 when the zone database is missing (Windows without tzdata).
    China has had no daylight saving since 1991, so both give the same times."""
    global _china_tz
    if _china_tz is None:
        try:
            from zoneinfo import ZoneInfo

            _china_tz = ZoneInfo("Asia/Shanghai")
        except Exception:  # ZoneInfoNotFoundError and friends
            _china_tz = _CHINA_FIXED
    return _china_tz


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)


def parse_carrier_time(text: str | datetime, tz: tzinfo | None = None) -> datetime:
    """A carrier's zone-less local time → aware datetime (China time unless told otherwise).
    Raises ValueError on text that is not a time.

    Kuaidi100's own form, ``YYYY-MM-DD HH:MM:SS``, is read by position (``strptime`` costs ~30 µs a call
    and a push carries the whole journey); anything else, and a date that does not exist, goes the
    ``strptime`` way, so a bad time is refused exactly as before."""
    if isinstance(text, datetime):
        dt = text
    else:
        raw = str(text).strip()
        dt = None
        if len(raw) == 19 and _PLAIN_TIME.fullmatch(raw):
            try:
                dt = datetime(int(raw[:4]), int(raw[5:7]), int(raw[8:10]), int(raw[11:13]), int(raw[14:16]),
                              int(raw[17:]))
            except ValueError:
                dt = None
        for fmt in () if dt is not None else _TIME_FORMATS:
            try:
                dt = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
        if dt is None:
            dt = datetime.fromisoformat(raw)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or china_tz())
    return dt


_OUTLET = re.compile(r"【([^】]{2,40})】")
_OUTLET_PLAIN = re.compile(r"(?:^|[\s,，])(?:到达|离开|已到达|已离开|在)?\s*([\u4e00-\u9fa5]{2,20}(?:营业部|营业点|网点|分部|转运中心|分拨中心|集散中心|中转场|公司))")
_COURIER = re.compile(
    r"(?:快递员|派件员|派送员|收件员|揽收员|揽投员|业务员|配送员|小哥)[\s:：（(]*"
    r"(?P<name>[\u4e00-\u9fa5]{1,4}(?:师傅)?)?[\s,，（(]*(?:电话|手机|联系电话)?\s*[:：]?\s*(?P<phone>1\d{2}[\d*]{4}\d{4}|0\d{2,3}-?\d{7,8})?"
)


def extract_outlet(context: str | None) -> str | None:
    """The operating outlet named in the text: the first 【…】, else a named outlet/centre."""
    if not context:
        return None
    m = _OUTLET.search(context)
    if m:
        return m.group(1).strip()
    m = _OUTLET_PLAIN.search(context)
    return m.group(1) if m else None


def extract_courier(context: str | None) -> str | None:
    """Courier name and phone from texts like "快递员 张三 13800001111" / "派件员：李四 电话：…"."""
    if not context:
        return None
    for m in _COURIER.finditer(context):
        name, phone = m.group("name"), m.group("phone")
        if name in ("电话", "手机"):
            name = None
        if name or phone:
            return " ".join(p for p in (name, phone) if p)
    return None


def _norm_context(context: str | None) -> str:
    return " ".join((context or "").split())


def make_event_key(waybill_no: str, time: datetime, context: str | None) -> str:
    """Stable identity of a node: the same node from a query, a push or a re-push is one row."""
    if time.tzinfo:
        utc = time.astimezone(timezone.utc)
        # the same text as strftime("%Y-%m-%dT%H:%M:%SZ"), which writes a year below 1000 unpadded
        instant = (utc.replace(tzinfo=None).isoformat(timespec="seconds") + "Z" if utc.year >= 1000
                   else utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
    else:
        instant = time.isoformat()
    raw = f"{waybill_no.strip().upper()}|{instant}|{_norm_context(context)}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class TrackingEvent:
    """A tracking node; the carrier's raw code and state name are kept beside the normalised status."""

    waybill_no: str
    carrier_code: str
    time: datetime  # aware
    context: str
    status: MainStatus = MainStatus.UNKNOWN
    sub_status: SubStatus = SubStatus.UNKNOWN
    raw_code: str | None = None
    raw_status_name: str | None = None
    location: str | None = None
    area_code: str | None = None
    area_name: str | None = None
    source: str = "query"
    outlet: str | None = None
    courier: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("TrackingEvent.time must be timezone-aware")
        if self.source not in SOURCES:
            raise ValueError(f"unknown event source {self.source!r}")

    @cached_property
    def event_key(self) -> str:
        """Computed once per node (a SHA-256 and a time format; the ingest path asks several times)."""
        return make_event_key(self.waybill_no, self.time, self.context)

    @property
    def is_unknown(self) -> bool:
        return self.status is MainStatus.UNKNOWN

    def with_source(self, source: str) -> "TrackingEvent":
        return replace(self, source=source)

    def as_dict(self) -> dict:
        return {
            "waybill_no": self.waybill_no, "carrier_code": self.carrier_code,
            "time": self.time.isoformat(), "context": self.context,
            "status": self.status.value, "sub_status": self.sub_status.value,
            "raw_code": self.raw_code, "raw_status_name": self.raw_status_name,
            "location": self.location, "area_code": self.area_code, "area_name": self.area_name,
            "source": self.source, "outlet": self.outlet, "courier": self.courier,
            "event_key": self.event_key,
        }


def kuaidi100_event(
    item: dict, waybill_no: str, carrier_code: str, *, source: str = "query",
    tz: tzinfo | None = None, fallback_code: str | None = None,
) -> TrackingEvent:
    """One element of Kuaidi100's ``data[]`` → TrackingEvent. Without a per-event ``statusCode``
    (resultv2 < 4) the status stays UNKNOWN unless a fallback code is given (the top-level state
    for the newest event only — older events must not inherit it)."""
    time_text = item.get("ftime") or item.get("time")
    context = _norm_context(item.get("context"))
    raw_code = item.get("statusCode")
    raw_code = str(raw_code).strip() if raw_code not in (None, "") else None
    code = raw_code if raw_code is not None else fallback_code
    if code is None and item.get("status"):
        code = kuaidi100_code_for_name(str(item["status"]))  # resultv2=1 (and some =4 accounts) give only the name
    main, sub = map_kuaidi100(code)
    main, sub = refine_by_context(main, sub, context)
    return TrackingEvent(
        waybill_no=waybill_no, carrier_code=carrier_code,
        time=parse_carrier_time(time_text, tz), context=context,
        status=main, sub_status=sub,
        raw_code=raw_code if raw_code is not None else (str(fallback_code) if fallback_code is not None else None),
        raw_status_name=item.get("status") or None,
        location=item.get("location") or None,
        area_code=item.get("areaCode") or None, area_name=item.get("areaName") or None,
        source=source, outlet=extract_outlet(context), courier=extract_courier(context),
    )


#: what ``kuaidi100_event`` reads of a ``data[]`` element
_ITEM_FIELDS = ("ftime", "time", "context", "statusCode", "status", "location", "areaCode", "areaName")


@lru_cache(maxsize=8192)
def _cached_event(values: tuple, waybill_no: str, carrier_code: str, source: str, tz: tzinfo | None,
                  fallback: str | None) -> TrackingEvent:
    return kuaidi100_event(dict(zip(_ITEM_FIELDS, values)), waybill_no, carrier_code, source=source, tz=tz,
                           fallback_code=fallback)


def kuaidi100_event_remembered(item: dict, waybill_no: str, carrier_code: str, source: str, tz: tzinfo | None,
                               fallback: str | None) -> TrackingEvent:
    """``kuaidi100_event``, remembered: every push carries the whole journey again (one node new), so the
    same node is read again and again — the event (immutable, its key computed once) is reused."""
    values = tuple(map(item.get, _ITEM_FIELDS))
    try:
        return _cached_event(values, waybill_no, carrier_code, source, tz, fallback)
    except TypeError:  # a value that cannot be a key (a list where text belongs): read it uncached
        return kuaidi100_event(item, waybill_no, carrier_code, source=source, tz=tz, fallback_code=fallback)
