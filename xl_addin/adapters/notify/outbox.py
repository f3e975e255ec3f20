"""The outbox folder: what would have been sent, written as files a person can open.

Used when notifications are off or a channel is not configured, and for report e-mails
without an SMTP server. E-mail becomes a standard ``.eml`` file (opens in Outlook/Foxmail);
other channels a ``.json`` file. File names come from the message key, so writing the same
message twice leaves one file. Writes are atomic (temporary file, then replace).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from .base import OutgoingMessage, notice_email


def _atomic_write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name part that works on Windows: no reserved characters, not too long."""
    return _UNSAFE.sub("_", text).strip("._")[:limit] or "message"


def write_eml(msg: EmailMessage, outbox_dir: Path, stem: str | None = None) -> Path:
    """Write ``msg`` as an .eml file in the outbox; returns its path."""
    if stem is None:
        stem = datetime.now().strftime("%Y%m%d-%H%M%S-") + safe_name(str(msg.get("Subject", "")), 40)
    return _atomic_write(Path(outbox_dir) / f"{safe_name(stem, 100)}.eml", msg.as_bytes(policy=SMTP))


class OutboxChannel:
    """Writes each notice into ``outbox_dir/notifications/`` instead of sending it."""

    name = "outbox"

    def __init__(self, outbox_dir: Path, sender: str = "xl-logistics@localhost"):
        self.folder = Path(outbox_dir) / "notifications"
        self.sender = sender

    def path_for(self, message: OutgoingMessage) -> Path:
        suffix = ".eml" if message.channel == "email" else ".json"
        return self.folder / f"{message.channel}-{message.key}{suffix}"

    def send(self, message: OutgoingMessage) -> str:
        path = self.path_for(message)
        if message.channel == "email":
            _atomic_write(path, notice_email(message, self.sender).as_bytes(policy=SMTP))
        else:
            record = {"channel": message.channel, "recipient": message.recipient, "subject": message.subject,
                      "body": message.body, "message_id": message.message_id, "key": message.key,
                      **({"headers": message.headers} if message.headers else {})}
            _atomic_write(path, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
        return f"已写入发件箱 {path.name}"
