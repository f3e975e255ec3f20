"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it is sent."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller

from support.net import free_port


class Received(NamedTuple):
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # the message as it came over the wire

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


class Inbox:
    """aiosmtpd handler: what arrived, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.logins: list[str] = []  # filled by an authenticator a test gives the server

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def parsed(self, i: int = -1) -> EmailMessage:
        return self.received[i].message


def start_smtp(inbox: Inbox, port: int | None = None, **kw: Any) -> Controller:
    """Starts aiosmtpd on 127.0.0.1 delivering into ``inbox``; the caller stops it (``ctl.stop()``)."""
    ctl = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **kw)
    ctl.start()
    return ctl
