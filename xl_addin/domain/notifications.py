"""Customer notifications at key nodes: which node an event is, what the message says, when it may go.

Pure rules only (no clock, no I/O besides reading the packaged template file once):
the service decides who receives what and the adapters do the sending.
The identity of a message is (waybill, node, channel, recipient): ``notice_key``
turns it into the stable key the send log is unique on and the Message-ID is made of.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Iterable, Mapping

from .tracking.events import TrackingEvent, china_tz
from .tracking.status import display_zh, key_node

PICKED_UP = "picked_up"
OUT_FOR_DELIVERY = "out_for_delivery"
SIGNED = "signed"
DELAY = "delay"
NODES = (PICKED_UP, OUT_FOR_DELIVERY, SIGNED, DELAY)
NODE_ZH = {PICKED_UP: "已揽收", OUT_FOR_DELIVERY: "派件中", SIGNED: "已签收", DELAY: "延误通知"}

# Words a data administrator may put in [notifications] key_nodes.
_NODE_WORDS = {
    "已揽收": PICKED_UP, "揽收": PICKED_UP, PICKED_UP: PICKED_UP,
    "派件中": OUT_FOR_DELIVERY, "即将派送": OUT_FOR_DELIVERY, "派送中": OUT_FOR_DELIVERY, "派件": OUT_FOR_DELIVERY,
    OUT_FOR_DELIVERY: OUT_FOR_DELIVERY,
    "已签收": SIGNED, "签收": SIGNED, SIGNED: SIGNED,
    "延误": DELAY, "延误通知": DELAY, "异常": DELAY, DELAY: DELAY,
}

CHANNELS = ("email", "webhook", "sms")


def parse_key_nodes(values: Iterable[str]) -> frozenset[str]:
    """Config words → node ids. Raises ValueError naming the word it does not know."""
    nodes = set()
    for word in values:
        node = _NODE_WORDS.get(str(word).strip())
        if node is None:
            known = "、".join(w for w in _NODE_WORDS if not w.isascii())
            raise ValueError(f"不认识的通知节点“{word}”，可用: {known}")
        nodes.add(node)
    return frozenset(nodes)


@dataclass(frozen=True)
class Notice:
    """One thing a customer should be told about one waybill."""

    waybill_no: str
    node: str
    carrier: str
    status: str  # short Chinese status
    time: datetime  # aware
    context: str = ""
    order_no: str = ""
    customer: str = ""
    expected_date: date | None = None
    reason: str = ""
    urgent: bool = False

    def __post_init__(self) -> None:
        if self.node not in NODES:
            raise ValueError(f"unknown notification node {self.node!r}")
        if self.time.tzinfo is None:
            raise ValueError("Notice.time must be timezone-aware")


def notice_for_event(event: TrackingEvent, enabled: Iterable[str], *, carrier: str | None = None,
                     order_no: str = "", customer: str = "") -> Notice | None:
    """The key-node notice a tracking event calls for, or None (not a key node, or that node is switched off)."""
    node = key_node(event.status, event.sub_status)
    if node is None or node.value not in set(enabled):
        return None
    return Notice(
        waybill_no=event.waybill_no, node=node.value, carrier=carrier or event.carrier_code,
        status=display_zh(event.status, event.sub_status), time=event.time, context=event.context,
        order_no=order_no, customer=customer,
    )


def delay_notice(waybill_no: str, carrier: str, *, expected_date: date, reason: str, at: datetime,
                 order_no: str = "", customer: str = "", urgent: bool = False) -> Notice:
    """An exception notice: the parcel is late and here is the new expected date (DOMAIN stage 4, delay)."""
    return Notice(waybill_no=waybill_no, node=DELAY, carrier=carrier, status="延误", time=at,
                  order_no=order_no, customer=customer, expected_date=expected_date, reason=reason, urgent=urgent)


# -- recipients and identity ------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    channel: str  # email | webhook | sms
    address: str  # e-mail address, phone number, or the robot's name

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        object.__setattr__(self, "address", normalize_address(self.channel, self.address))


def normalize_address(channel: str, address: str) -> str:
    """One spelling per recipient, so the same person is never two keys."""
    text = str(address).strip()
    if channel == "email":
        return text.lower()
    if channel == "sms":
        digits = re.sub(r"[\s\-()（）]", "", text)
        return digits[3:] if digits.startswith("+86") else digits
    return text


def recipients_for_order(fields: Mapping[str, Any], channels: Iterable[str], robot: str = "群机器人") -> list[Recipient]:
    """Who hears about an order: its receiver's phone (sms), a customer e-mail if the order has one,
    and the desk's chat robot. Only channels the desk uses are listed."""
    wanted = set(channels)
    out: list[Recipient] = []
    phone = fields.get("phone") or fields.get("receiver_phone")
    if "sms" in wanted and phone:
        out.append(Recipient("sms", str(phone)))
    email = fields.get("email") or fields.get("customer_email")
    if "email" in wanted and email and "@" in str(email):
        out.append(Recipient("email", str(email)))
    if "webhook" in wanted:
        out.append(Recipient("webhook", robot))
    return out


def notice_key(waybill_no: str, node: str, channel: str, recipient: str) -> str:
    """Stable identity of one message: the send log's unique key and the Message-ID's local part."""
    raw = "|".join((waybill_no.strip().upper(), node, channel, normalize_address(channel, recipient)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def message_id(key: str, domain: str = "xl-logistics.local") -> str:
    return f"<{key}@{domain}>"


# -- templates ---------------------------------------------------------------
@dataclass(frozen=True)
class Template:
    subject: str
    body: str


@dataclass(frozen=True)
class Templates:
    entries: Mapping[tuple[str, str], Template] = field(default_factory=dict)

    def get(self, node: str, channel: str) -> Template:
        found = self.entries.get((node, channel)) or self.entries.get((node, "default"))
        if found is None:
            raise KeyError(f"没有“{NODE_ZH.get(node, node)}”节点的通知模板")
        default = self.entries.get((node, "default"))
        # only e-mail has a subject line; a chat or SMS message is its body alone
        subject = found.subject or (default.subject if default and channel == "email" else "")
        return Template(subject, found.body)

    def merged(self, other: "Templates") -> "Templates":
        combined = dict(self.entries)
        for k, t in other.entries.items():
            base = combined.get(k)
            combined[k] = Template(t.subject or (base.subject if base else ""), t.body or (base.body if base else ""))
        return Templates(combined)


def parse_templates(data: Mapping[str, Any]) -> Templates:
    """``{node: {channel: {subject, body}}}`` → Templates; ValueError names the entry that is wrong."""
    entries: dict[tuple[str, str], Template] = {}
    for node, per_channel in data.items():
        if node not in NODES:
            raise ValueError(f"模板里的节点“{node}”不认识，可用: {', '.join(NODES)}")
        if not isinstance(per_channel, Mapping):
            raise ValueError(f"模板 [{node}] 应按渠道分项，例如 [{node}.sms]")
        for channel, item in per_channel.items():
            if channel not in CHANNELS + ("default",):
                raise ValueError(f"模板 [{node}.{channel}] 的渠道不认识，可用: email、webhook、sms、default")
            if not isinstance(item, Mapping) or not isinstance(item.get("body", ""), str):
                raise ValueError(f"模板 [{node}.{channel}] 应有文字 body")
            entries[(node, channel)] = Template(str(item.get("subject", "")), str(item.get("body", "")))
    return Templates(entries)


_DEFAULT_FILE = Path(__file__).with_name("notification_templates") / "templates.toml"
_defaults: Templates | None = None


def default_templates() -> Templates:
    """The packaged templates, read once on first use (nothing is loaded at import time)."""
    global _defaults
    if _defaults is None:
        _defaults = parse_templates(tomllib.loads(_DEFAULT_FILE.read_text(encoding="utf-8")))
    return _defaults


def load_templates(override: Path | None = None) -> Templates:
    """Packaged templates, with a desk's own file laid over them entry by entry."""
    base = default_templates()
    if override is None or not Path(override).is_file():
        return base
    data = tomllib.loads(Path(override).read_text(encoding="utf-8-sig"))
    return base.merged(parse_templates(data))


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(notice: Notice, channel: str, templates: Templates, *, desk: str = "", tz: tzinfo | None = None) -> Rendered:
    """The message text for one notice on one channel; unknown placeholders stay visible, never crash."""
    template = templates.get(notice.node, channel)
    local = notice.time.astimezone(tz or china_tz())
    values = _Keep(
        waybill_no=notice.waybill_no, carrier=notice.carrier, status=notice.status,
        time=local.strftime("%Y-%m-%d %H:%M"), context=notice.context, node=NODE_ZH[notice.node],
        order_no=notice.order_no, customer=notice.customer, desk=desk, reason=notice.reason or "承运商未说明原因",
        expected_date=notice.expected_date.isoformat() if notice.expected_date else "待承运商确认",
    )
    return Rendered(template.subject.format_map(values), template.body.format_map(values))


# -- quiet hours --------------------------------------------------------------
@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # wraps past midnight


_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-~–至]\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str | None) -> QuietHours | None:
    """"22:00-08:00" → QuietHours; empty/"off"/"无" → None. ValueError on anything else."""
    if text is None or str(text).strip().lower() in ("", "off", "none", "无"):
        return None
    m = _QUIET.match(str(text))
    if not m:
        raise ValueError(f"免打扰时段“{text}”格式不对，应写成 22:00-08:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"免打扰时段“{text}”的时间不存在")
    return QuietHours(time(h1, m1), time(h2, m2))


def not_before(now: datetime, quiet: QuietHours | None, *, urgent: bool = False, tz: tzinfo | None = None) -> datetime:
    """Earliest moment a message may go: ``now``, or the end of the quiet hours it falls into."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz or china_tz())
    if urgent or quiet is None or not quiet.contains(local.time().replace(tzinfo=None)):
        return now
    release = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release
