"""The one interface every channel implements, and the two ways a send can fail.

Why two failure kinds: the send log must know whether a retry could produce a
second message. ``NotSent`` means the recipient cannot have received it (connection
refused, rejected before the content was handed over) — safe to retry.
``OutcomeUnknown`` means the content may have arrived (connection lost after the
data was sent, a read timeout) — never retried automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from xl_addin.errors import UserError


@dataclass(frozen=True)
class OutgoingMessage:
    key: str  # stable identity (waybill, node, channel, recipient)
    channel: str  # email | webhook | sms
    recipient: str
    subject: str
    body: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


class NotificationError(UserError):
    """A message could not be delivered; the message says why and what to do."""


class NotSent(NotificationError):
    """Definitely not delivered. ``transient``: worth retrying later (server down, rate limit)."""

    def __init__(self, message: str, hint: str | None = None, *, transient: bool = True):
        super().__init__(message, hint)
        self.transient = transient


class OutcomeUnknown(NotificationError):
    """The message may or may not have arrived; retrying could duplicate it."""


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> str:
        """Deliver one message; returns a short receipt for the log. Raises NotSent or OutcomeUnknown."""
        ...
