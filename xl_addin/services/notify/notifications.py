"""Outgoing messages: customer notices at key nodes (exactly-once send log) and e-mailed reports.

Exactly once, and what we chose for the crash window:
1. ``offer_*`` writes one intent row per (waybill, node, channel, recipient) — UNIQUE in the
   store — before anything is sent; a duplicate push, a rerun or a second process finds the
   row and adds nothing.
2. ``send_pending`` claims a due row (``pending`` → ``sending``, committed), sends, then marks
   it ``sent``. A failure that certainly did not deliver (server down, refused) goes back to
   ``pending`` with an exponential backoff and is retried; after ``max_attempts`` it is ``failed``.
3. A crash between the send and the mark leaves a ``sending`` row. There is no way to ask an
   SMTP server, a robot or a gateway "did you get this?", so after ``stale_after`` such a row
   becomes ``unknown`` and is reported, not resent: at most once in that narrow window, never
   twice. E-mails carry a Message-ID derived from the key and SMS a stable client id, so a
   person (or a gateway that de-duplicates) can tell; ``requeue`` resends after a person checked.

Quiet hours hold non-urgent notices (``not_before``); notifications off or a channel not
configured → the same rows are "sent" to the outbox folder as files.
"""

from __future__ import annotations

import html
import mimetypes
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from xl_addin.adapters.notify.base import Channel, NotificationError, NotSent, OutcomeUnknown, OutgoingMessage
from xl_addin.adapters.notify.outbox import OutboxChannel, write_eml
from xl_addin.adapters.store.notifications import NotificationLog, NotificationRow
from xl_addin.adapters.store.store import Store, from_iso
from xl_addin.domain.notifications import (
    Notice, QuietHours, Recipient, Templates, load_templates, message_id, not_before, notice_for_event,
    notice_key, parse_key_nodes, parse_quiet_hours, render,
)
from xl_addin.domain.tracking.events import TrackingEvent
from xl_addin.errors import ConfigError

TEMPLATES_FILENAME = "notification_templates.toml"
WEBHOOK_URL_ENV = "XL_LOGISTICS_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "XL_LOGISTICS_WEBHOOK_SECRET"
SMS_URL_ENV = "XL_LOGISTICS_SMS_URL"


@dataclass(frozen=True)
class NotifyPolicy:
    nodes: frozenset[str]
    quiet: QuietHours | None
    tz: tzinfo
    desk_name: str = ""
    max_attempts: int = 6
    backoff_first: timedelta = timedelta(minutes=2)
    backoff_max: timedelta = timedelta(hours=2)
    stale_after: timedelta = timedelta(minutes=10)
    inrun_attempts: int = 2  # quick retries inside one run for a blip (tenacity)
    inrun_wait_seconds: float = 0.5

    def backoff(self, attempts: int) -> timedelta:
        """Wait before the next try after ``attempts`` failed ones: 2, 4, 8 … minutes, capped."""
        return min(self.backoff_first * (2 ** max(attempts - 1, 0)), self.backoff_max)


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)  # keys delivered by a real channel
    outboxed: list[str] = field(default_factory=list)  # keys written to the outbox folder
    retry_later: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)
    held: int = 0  # pending, not yet due (quiet hours or backoff)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or self.retry_later)

    def summary(self) -> str:
        parts = [f"已发送 {len(self.sent)}", f"写入发件箱 {len(self.outboxed)}"]
        if self.held:
            parts.append(f"等待中 {self.held}")
        if self.retry_later:
            parts.append(f"稍后重试 {len(self.retry_later)}")
        if self.failed:
            parts.append(f"失败 {len(self.failed)}")
        if self.unknown:
            parts.append(f"待人工确认 {len(self.unknown)}")
        return "通知: " + "，".join(parts)

    def problems(self) -> list[str]:
        return ([f"{k}: {e}（稍后自动重试）" for k, e in self.retry_later]
                + [f"{k}: {e}（已放弃）" for k, e in self.failed]
                + [f"{k}: {e}（可能已送达，请人工确认）" for k, e in self.unknown])

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "outboxed": self.outboxed, "held": self.held,
                "retry_later": [list(x) for x in self.retry_later], "failed": [list(x) for x in self.failed],
                "unknown": [list(x) for x in self.unknown]}


class Notifier:
    """Offers notices (intent rows) and sends what is due. Channels: name → Channel ("email", "webhook", "sms")."""

    def __init__(self, store: Store, *, channels: Mapping[str, Channel], outbox: OutboxChannel,
                 templates: Templates, policy: NotifyPolicy, live: bool):
        self.log = NotificationLog(store)
        self.channels = dict(channels)
        self.outbox = outbox
        self.templates = templates
        self.policy = policy
        self.live = live  # False: notifications switched off, everything goes to the outbox

    # -- offering --------------------------------------------------------------
    def route(self, channel: str) -> str:
        return channel if self.live and channel in self.channels else "outbox"

    def offer_notice(self, notice: Notice, recipients: Iterable[Recipient], now: datetime) -> list[str]:
        """Record one intent per recipient; returns the keys that are new (duplicates add nothing)."""
        created = []
        for rcpt in recipients:
            key = notice_key(notice.waybill_no, notice.node, rcpt.channel, rcpt.address)
            via = self.route(rcpt.channel)
            text = render(notice, rcpt.channel, self.templates, desk=self.policy.desk_name, tz=self.policy.tz)
            release = now if via == "outbox" else not_before(now, self.policy.quiet, urgent=notice.urgent,
                                                                tz=self.policy.tz)
            if self.log.add_intent(key=key, waybill_no=notice.waybill_no, node=notice.node, channel=rcpt.channel,
                                   recipient=rcpt.address, via=via, subject=text.subject, body=text.body,
                                   message_id=message_id(key), event_time=notice.time, urgent=notice.urgent,
                                   now=now, not_before=release):
                created.append(key)
        return created

    def offer_event(self, event: TrackingEvent, recipients: Iterable[Recipient], now: datetime, *,
                    carrier: str | None = None, order_no: str = "", customer: str = "") -> list[str]:
        """The tracking refresh and the push receiver call this for every new event; non-key events add nothing."""
        notice = notice_for_event(event, self.policy.nodes, carrier=carrier, order_no=order_no, customer=customer)
        return [] if notice is None else self.offer_notice(notice, recipients, now)

    # -- sending ---------------------------------------------------------------
    def _transport(self, row: NotificationRow) -> Channel:
        if row.via == "outbox":
            return self.outbox
        return self.channels.get(row.via) or self.outbox  # channel removed from config since: keep it visible

    def _send_once(self, transport: Channel, message: OutgoingMessage) -> str:
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.policy.inrun_attempts)),
            wait=wait_exponential(multiplier=self.policy.inrun_wait_seconds, max=5),
            retry=retry_if_exception(lambda e: isinstance(e, NotSent) and e.transient),
            reraise=True,
        )
        return retrying(transport.send, message)

    def send_pending(self, now: datetime, limit: int | None = None) -> SendReport:
        """Send every due message once. Safe to run twice, from two processes, or after a crash."""
        report = SendReport()
        for row in self.log.resolve_stale(now, self.policy.stale_after):
            report.unknown.append((row.key, "发送中途程序中断，无法确定是否已送达"))
        for row in self.log.due(now, limit):
            if not self.log.claim(row.id, now):
                continue  # another sender took it
            transport = self._transport(row)
            message = OutgoingMessage(key=row.key, channel=row.channel, recipient=row.recipient,
                                      subject=row.subject, body=row.body, message_id=row.message_id,
                                      headers={"X-XL-Notice-Key": row.key})
            try:
                receipt = self._send_once(transport, message)
            except NotSent as exc:
                attempts = row.attempts + 1
                if exc.transient and attempts < self.policy.max_attempts:
                    self.log.mark_retry(row, now, now + self.policy.backoff(attempts), str(exc))
                    report.retry_later.append((row.key, str(exc)))
                else:
                    self.log.mark_failed(row, now, str(exc))
                    report.failed.append((row.key, str(exc)))
            except OutcomeUnknown as exc:
                self.log.mark_unknown(row, now, str(exc))
                report.unknown.append((row.key, str(exc)))
            except Exception as exc:  # a bug in a channel: it may have sent; never resend blindly
                self.log.mark_unknown(row, now, f"意外错误: {exc!r}")
                report.unknown.append((row.key, f"意外错误: {exc!r}"))
            else:
                self.log.mark_sent(row, now, receipt)
                (report.outboxed if transport is self.outbox else report.sent).append(row.key)
        report.held = sum(1 for r in self.log.all("pending") if (from_iso(r.not_before) or now) > now)
        return report


# -- composition from a desk ---------------------------------------------------
def desk_tz(settings: Any) -> tzinfo:
    from xl_addin.config.timezone import desk_timezone

    return desk_timezone(settings)


def policy_from_settings(settings: Any) -> NotifyPolicy:
    section = settings.notifications
    try:
        nodes = parse_key_nodes(section.key_nodes)
        quiet = parse_quiet_hours(section.quiet_hours)
    except ValueError as exc:
        raise ConfigError(f"[notifications] {exc}", "请对照默认配置修改", path=str(settings.source or "")) from None
    stale = getattr(section, "stale_after_minutes", 10)
    return NotifyPolicy(nodes=nodes, quiet=quiet, tz=desk_tz(settings), desk_name=settings.desk.name,
                        stale_after=timedelta(minutes=int(stale)))


def channels_from_settings(settings: Any, env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """The channels this desk has configured. Secrets (webhook token, passwords) come from the environment."""
    from xl_addin.adapters.notify.smtp import SmtpChannel, smtp_config

    env = os.environ if env is None else env
    section = settings.notifications
    channels: dict[str, Channel] = {}
    cfg = smtp_config(settings, env)
    if cfg is not None:
        channels["email"] = SmtpChannel(cfg)
    hook = env.get(getattr(section, "webhook_url_env", WEBHOOK_URL_ENV), "").strip()
    if hook:
        from xl_addin.adapters.notify.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(hook, secret=env.get(
            getattr(section, "webhook_secret_env", WEBHOOK_SECRET_ENV), "").strip())
    sms_url = (env.get(SMS_URL_ENV, "") or getattr(section, "sms_url", "")).strip()
    if sms_url:
        from xl_addin.adapters.notify.sms import DEFAULT_BODY, HttpSmsGateway, SmsChannel

        channels["sms"] = SmsChannel(HttpSmsGateway(
            sms_url, getattr(section, "sms_body", "") or DEFAULT_BODY,
            content_type=getattr(section, "sms_content_type", "json") or "json",
            success_field=getattr(section, "sms_success_field", "")))
    return channels


def build_notifier(desk: Any, store: Store, *, env: Mapping[str, str] | None = None,
                   channels: Mapping[str, Channel] | None = None) -> Notifier:
    """The desk's notifier: its policy, templates (a desk file overrides the packaged ones), channels."""
    settings = desk.settings
    override = getattr(settings.notifications, "templates_file", "") or TEMPLATES_FILENAME
    path = Path(override) if Path(override).is_absolute() else Path(desk.root) / override
    try:
        templates = load_templates(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"通知模板文件有误: {exc}", "请对照默认模板修改", path=str(path)) from None
    if channels is None:
        channels = channels_from_settings(settings, env)
    sender = getattr(settings.smtp, "sender", "") or "xl-logistics@localhost"
    return Notifier(store, channels=channels, outbox=OutboxChannel(desk.outbox_dir, sender=sender),
                    templates=templates, policy=policy_from_settings(settings),
                    live=bool(settings.notifications.enabled))


# -- e-mailed reports ------------------------------------------------------------
_MIME = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
    ".xls": ("application", "vnd.ms-excel"),
    ".csv": ("text", "csv"),
    ".pdf": ("application", "pdf"),
    ".json": ("application", "json"),
    ".zip": ("application", "zip"),
}


def mime_type(path: Path) -> tuple[str, str]:
    known = _MIME.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return tuple(guessed.split("/", 1)) if guessed else ("application", "octet-stream")  # type: ignore[return-value]


def _headline_html(headline: str | Mapping[str, Any]) -> str:
    if isinstance(headline, Mapping):
        items = "".join(f"<li>{html.escape(str(k))}：<b>{html.escape(str(v))}</b></li>" for k, v in headline.items())
        return f"<ul>{items}</ul>"
    return f"<p><b>{html.escape(str(headline))}</b></p>"


def _headline_text(headline: str | Mapping[str, Any]) -> str:
    if isinstance(headline, Mapping):
        return "\n".join(f"{k}：{v}" for k, v in headline.items())
    return str(headline)


def _table_rows(rows: Sequence[Any]) -> list[list[str]]:
    """Rows as lists of text; a list of dicts gets its keys as the header row."""
    if rows and isinstance(rows[0], Mapping):
        header = list(rows[0].keys())
        return [[str(h) for h in header]] + [["" if r.get(h) is None else str(r.get(h)) for h in header] for r in rows]
    return [["" if c is None else str(c) for c in row] for row in rows]


def compose_report_email(subject: str, html_headline: str | Mapping[str, Any], table_rows: Sequence[Any],
                         attachments: Sequence[Path], sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A report e-mail: plain text and HTML body (headline numbers, a small table), the files attached.

    ``html_headline`` is text (escaped, never trusted as markup) or a mapping label → number.
    ``table_rows``: the first row is the header (or a list of dicts). Chinese subject and file
    names are encoded by the stdlib's default policy (RFC 2047 subject, RFC 2231 filename).
    """
    if not recipients:
        raise NotificationError("没有收件人", "请用 --email 指定，或在配置里写发送名单")
    rows = _table_rows(table_rows)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="xl-logistics.local")
    text_table = "\n".join("\t".join(r) for r in rows)
    names = "、".join(Path(p).name for p in attachments)
    msg.set_content(f"{subject}\n\n{_headline_text(html_headline)}\n\n{text_table}\n"
                    + (f"\n附件: {names}\n" if names else ""))
    cell = 'style="border:1px solid #999;padding:4px 8px"'
    table = ""
    if rows:
        head = "".join(f"<th {cell}>{html.escape(c)}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
        table = f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    page = (f'<html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">'
            f"<h2>{html.escape(subject)}</h2>{_headline_html(html_headline)}{table}"
            + (f"<p>附件：{html.escape(names)}</p>" if names else "") + "</body></html>")
    msg.add_alternative(page, subtype="html")
    for item in attachments:
        path = Path(item)
        maintype, subtype = mime_type(path)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


@dataclass(frozen=True)
class DeliveryResult:
    sent: bool  # True: handed to the SMTP server; False: written to the outbox
    path: Path | None  # the .eml file when written to the outbox
    server: str | None
    recipients: tuple[str, ...]
    detail: str = ""

    def describe(self) -> str:
        if self.sent:
            return f"邮件已发送到 {', '.join(self.recipients)}（{self.server}）"
        return f"未配置邮件服务器，邮件已保存到 {self.path}"


class ReportEmailNotSent(NotificationError):
    """The report e-mail could not be sent; a copy is in the outbox so nothing is lost."""


def deliver_email(msg: EmailMessage, settings: Any, outbox_dir: Path, *,
                  env: Mapping[str, str] | None = None) -> DeliveryResult:
    """Send over SMTP when configured, else write an .eml into the outbox. A failed send keeps a copy
    in the outbox and raises ReportEmailNotSent (a UserError); the caller's report file is untouched."""
    from xl_addin.adapters.notify.smtp import send_email, smtp_config

    recipients = tuple(addr for _name, addr in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if addr)
    cfg = smtp_config(settings, env)
    if cfg is None:
        path = write_eml(msg, outbox_dir)
        return DeliveryResult(False, path, None, recipients, "未配置邮件服务器")
    if not msg.get("From"):
        msg["From"] = cfg.from_address
    try:
        detail = send_email(msg, cfg)
    except (NotSent, OutcomeUnknown) as exc:
        path = write_eml(msg, outbox_dir)
        may_have = isinstance(exc, OutcomeUnknown)
        raise ReportEmailNotSent(
            f"报表邮件{'可能' if may_have else ''}未能发送: {exc.message}",
            f"{exc.hint or ''}；报表文件已保存，邮件副本在 {path}，可稍后重试或手动发送".lstrip("；"),
            path=None) from None
    return DeliveryResult(True, None, cfg.where, recipients, detail)
