"""Which carriers a waybill number may belong to (its format, the provider's detection): a suggestion only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from xl_addin.errors import UserError

@dataclass
class CarrierSuggestions:
    """Which carriers a number may belong to, from its format and from the tracking provider."""

    number: str
    by_format: list[str] = field(default_factory=list)       # our carrier codes
    by_provider: list[str] | None = None                    # our codes; None: the provider was not asked
    provider_unlisted: list[str] = field(default_factory=list)  # provider company codes not in our list
    provider_note: str | None = None

    @property
    def candidates(self) -> list[str]:
        """Codes to offer, best first: both sources agree, then the format's, then the provider's."""
        both = [c for c in self.by_format if self.by_provider and c in self.by_provider]
        rest = [c for c in [*self.by_format, *(self.by_provider or [])] if c not in both]
        return list(dict.fromkeys([*both, *rest]))

    @property
    def conflict(self) -> bool:
        return bool(self.by_format and self.by_provider and not set(self.by_format) & set(self.by_provider))

    @property
    def unambiguous(self) -> str | None:
        """The one carrier both sources point to (or the format alone, the provider silent), else None."""
        if len(self.by_format) != 1 or self.conflict:
            return None
        if self.by_provider and self.by_format[0] not in self.by_provider:
            return None
        return self.by_format[0]

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "by_format": self.by_format, "by_provider": self.by_provider,
                "provider_unlisted": self.provider_unlisted, "provider_note": self.provider_note,
                "candidates": self.candidates, "unambiguous": self.unambiguous, "conflict": self.conflict}


class CarrierNeeded(UserError):
    """``bind`` without ``--carrier``: nothing bound; here is what the number looks like and what to run."""

    def __init__(self, message: str, hint: str, suggestions: CarrierSuggestions, commands: list[str]):
        super().__init__(message, hint)
        self.suggestions = suggestions
        self.commands = commands

    def as_dict(self) -> dict[str, Any]:
        return {"bound": False, "message": self.message, "hint": self.hint, "commands": self.commands,
                **self.suggestions.as_dict()}


def suggest_carriers_for(number: str, carriers, autonumber: Callable[[str], Any] | None = None) -> CarrierSuggestions:
    """The carriers a waybill number may belong to. ``autonumber(num)`` is the provider's auto-detection
    (an AutonumberOutcome); its failure is a note, never an error."""
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import normalize_waybill, suggest_carriers

    carriers = list(carriers)
    number = normalize_waybill(number)
    result = CarrierSuggestions(number, suggest_carriers(number, carriers))
    if autonumber is None:
        return result
    try:
        outcome = autonumber(number)
    except OSError as exc:  # requests' connection errors are OSErrors
        result.provider_note = f"物流查询服务无法连接 ({type(exc).__name__})"
        return result
    if getattr(outcome, "kind", None) != "ok":
        result.provider_note = "物流查询服务未能识别: " + (getattr(outcome, "hint", None) or getattr(outcome, "message", "")
                                                   or str(getattr(outcome, "kind", "")))
        return result
    codes: list[str] = []
    for guess in outcome.candidates:
        match = next((c for c in carriers if c.kuaidi100_code and c.kuaidi100_code == guess.com_code), None) \
            or find_carrier(guess.com_code, carriers)
        if match is None:
            result.provider_unlisted.append(guess.com_code)
        elif match.code not in codes:
            codes.append(match.code)
    result.by_provider = codes
    return result


def shell_arg(text: str) -> str:
    """A command-line word as people copy it: plain (Chinese names too) unless it needs quoting."""
    import re
    import shlex

    return text if re.fullmatch(r"[\w.\-/:@+=,]+", text) else shlex.quote(text)
