"""转投 (Kuaidi100 state 7): the parcel was handed to another carrier under a new number.

The node's text names the new carrier and number in the carrier's own words, e.g.
"快件已转投 中国邮政，新单号：9876543210123". This finds them; when the text gives no number, the
forwarding is still a fact for a person to act on (the number is then ``None``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .events import TrackingEvent

FORWARDED_CODES = frozenset({"7"})

_NUMBER = re.compile(r"(?:新单号|转单号|新运单号|运单号|单号)\s*[:：为是]?\s*([A-Za-z]{0,4}\d[A-Za-z0-9]{7,31})")


@dataclass(frozen=True)
class Forwarding:
    old_waybill: str
    new_waybill: str | None
    carrier_code: str | None  # our code, when the text names a carrier we know
    kuaidi100_code: str | None
    context: str


def is_forwarded(event: TrackingEvent) -> bool:
    return (event.raw_code or "") in FORWARDED_CODES or (event.raw_status_name or "").strip() == "转投"


def forwarding_of(event: TrackingEvent, carriers: Iterable) -> Forwarding | None:
    """The forwarding a 转投 node announces, or None for any other node."""
    if not is_forwarded(event):
        return None
    text = event.context or ""
    m = _NUMBER.search(text)
    number = m.group(1).upper() if m else None
    if number == event.waybill_no.upper():
        number = None
    found = None
    best = 0
    for c in carriers:
        for name in c.names():
            if name and len(name) >= 2 and not name.isascii() and name in text and len(name) > best:
                found, best = c, len(name)
    return Forwarding(event.waybill_no, number, found.code if found else None,
                      (found.kuaidi100_code or None) if found else None, text)
