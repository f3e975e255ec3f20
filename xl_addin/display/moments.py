"""Moments for people: the desk's time zone, written ``YYYY-MM-DD HH:MM`` (seconds where they matter).

Everything a person reads — command text, workbook cells and the text written into them, e-mails,
message boxes — shows a moment through :func:`desk_time`. The store and JSON keep ISO 8601 with an
offset; this module is the one place that turns that into what a clerk in the desk's zone reads.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"

# an ISO 8601 moment inside free text: 2026-12-04T16:25, …T16:25:00, …+00:00, …Z, fractions
_ISO_IN_TEXT = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?(?![\d:])")


def zone(tz: tzinfo | str | None) -> tzinfo:
    """The desk's zone from a tzinfo, a zone name or nothing (the default desk zone)."""
    if tz is None:
        return ZoneInfo(DEFAULT_ZONE)
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def parse_moment(value: Any) -> datetime | None:
    """A datetime from a datetime or ISO text; None for empty or unparseable values."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def local(value: Any, tz: tzinfo | str | None = None) -> datetime | None:
    """The moment as a naive wall-clock datetime in the desk's zone (for workbook cells).

    A naive input is taken as already in the desk's zone (that is how the workbooks store times)."""
    moment = parse_moment(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone(tz)).replace(tzinfo=None)


def desk_time(value: Any, tz: tzinfo | str | None = None, *, seconds: bool = False, empty: str = "-") -> str:
    """``YYYY-MM-DD HH:MM`` (or with ``:SS``) in the desk's zone; ``empty`` for no moment.

    Dates stay dates; text that is not a moment is returned unchanged."""
    if value is None or value == "":
        return empty
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = local(value, tz)
    if moment is None:
        return str(value)
    return moment.strftime(SECONDS if seconds else MINUTES)


def desk_text(text: str, tz: tzinfo | str | None = None) -> str:
    """Free text with every ISO moment in it rewritten as desk time (messages built from stored values).

    A moment with an offset is converted to the desk's zone; one without stays on its wall clock."""
    def repl(m: re.Match) -> str:
        stamp = f"{m.group(1)}T{m.group(2)}{(m.group(3) or '')}"
        with_seconds = len(m.group(2)) > 5 and not m.group(2).endswith(":00")
        return desk_time(stamp, tz, seconds=with_seconds)

    return _ISO_IN_TEXT.sub(repl, text) if text else text


def for_people(value: Any, tz: tzinfo | str | None = None) -> Any:
    """A copy of a result (dicts, lists, strings) with every moment as desk time, for text output."""
    if isinstance(value, dict):
        return {k: for_people(v, tz) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [for_people(v, tz) for v in value]
    if isinstance(value, datetime):
        return desk_time(value, tz)
    if isinstance(value, str):
        return desk_text(value, tz)
    return value
