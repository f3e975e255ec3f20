"""The one interface every channel implements, and the two ways a send can fail.

Why two failure kinds: the send log must know whether a retry could produce a
second message. ``NotSent`` means the recipient cannot have received it (connection
refused, rejected before the content was handed over) — safe to retry.
``OutcomeUnknown`` means the content may have arrived (connection lost after the
data was sent, a read timeout) — never retried automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
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


def notice_email(message: "OutgoingMessage", sender: str) -> EmailMessage:
    """The e-mail a notice becomes, the same whether it is sent or written to the outbox."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = message.recipient
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.body)
    return msg


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
