"""E-mail over SMTP: STARTTLS, SSL or plain, with the password from the environment or the OS keyring.

The server setting comes from the desk config ([smtp]) or, overriding it, from one URL in
``XL_LOGISTICS_SMTP_URL`` (``smtp://user@host:587?starttls=1``, ``smtps://host:465``)
with the password in ``XL_LOGISTICS_SMTP_PASSWORD``. Errors say whether the message
could have left (see ``base``), so the send log never sends twice.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from xl_addin.errors import ConfigError

from .base import NotSent, OutcomeUnknown, OutgoingMessage, notice_email

URL_ENV = "XL_LOGISTICS_SMTP_URL"
PASSWORD_ENV = "XL_LOGISTICS_SMTP_PASSWORD"
CAFILE_ENV = "XL_LOGISTICS_SMTP_CAFILE"  # a private CA or self-signed server certificate to trust
KEYRING_SERVICE = "xl-logistics-smtp"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    cafile: str = ""
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def from_address(self) -> str:
        if self.sender:
            return self.sender
        if "@" in self.username:
            return self.username
        return f"xl-logistics@{self.host}"


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].strip().lower() in ("1", "true", "yes", "on")


def parse_smtp_url(url: str, env: Mapping[str, str]) -> SmtpConfig:
    """``smtp://user@host:587?starttls=1`` / ``smtps://host:465`` → SmtpConfig; ConfigError when malformed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"{URL_ENV} 格式不对（{parts.scheme or '无协议'}://…）",
                          "应写成 smtp://用户名@服务器:587?starttls=1 或 smtps://服务器:465")
    query = parse_qs(parts.query)
    if parts.scheme == "smtps":
        security = "ssl"
    elif _truthy(query.get("starttls")) or (query.get("security") or [""])[-1] == "starttls":
        security = "starttls"
    else:
        security = "none"
    try:
        port = parts.port or (465 if security == "ssl" else 587 if security == "starttls" else 25)
    except ValueError:
        raise ConfigError(f"{URL_ENV} 的端口不是数字", "例如 smtp://host:587?starttls=1") from None
    sender = (query.get("sender") or query.get("from") or [""])[-1]
    return SmtpConfig(
        host=parts.hostname, port=port, security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password else env.get(PASSWORD_ENV, ""),
        sender=sender, cafile=env.get(CAFILE_ENV, ""),
    )


def _keyring_password(username: str) -> str:
    """The password saved with ``keyring set xl-logistics-smtp USER``, when the keyring package is installed."""
    try:
        import keyring  # optional
    except ImportError:
        return ""
    try:
        return keyring.get_password(KEYRING_SERVICE, username) or ""
    except Exception:  # no usable backend on this machine
        return ""


def smtp_config(settings: Any, env: Mapping[str, str] | None = None) -> SmtpConfig | None:
    """The desk's SMTP server, or None when none is configured (mail then goes to the outbox)."""
    env = os.environ if env is None else env
    url = env.get(URL_ENV, "").strip()
    if url:
        cfg = parse_smtp_url(url, env)
        if cfg.username and not cfg.password:
            cfg = SmtpConfig(**{**cfg.__dict__, "password": _keyring_password(cfg.username)})
        if not cfg.sender and settings is not None and getattr(settings.smtp, "sender", ""):
            cfg = SmtpConfig(**{**cfg.__dict__, "sender": settings.smtp.sender})
        return cfg
    section = getattr(settings, "smtp", None)
    if section is None or not section.host.strip():
        return None
    password = env.get(section.password_env, "") if section.password_env else ""
    if section.username and not password:
        password = _keyring_password(section.username)
    return SmtpConfig(host=section.host.strip(), port=int(section.port), security=section.security,
                      username=section.username, password=password, sender=section.sender,
                      cafile=env.get(CAFILE_ENV, ""))


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cfg.cafile or None)


def _connect(cfg: SmtpConfig) -> smtplib.SMTP:
    if cfg.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=_tls_context(cfg))
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
    try:
        client.ehlo()
        if cfg.security == "starttls":
            client.starttls(context=_tls_context(cfg))
            client.ehlo()
        if cfg.username:
            if not cfg.password:
                raise NotSent(f"邮件服务器 {cfg.where} 需要密码，但没有找到",
                              f"请设置环境变量 {PASSWORD_ENV}（或配置里 password_env 指定的变量）", transient=False)
            client.login(cfg.username, cfg.password)
    except BaseException:
        _quietly_close(client)
        raise
    return client


def _quietly_close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except Exception:
        try:
            client.close()
        except Exception:
            pass


def send_email(msg: EmailMessage, cfg: SmtpConfig) -> str:
    """Send one message. NotSent when it certainly did not leave; OutcomeUnknown when it may have."""
    hint_down = "请检查服务器地址、端口和网络；恢复后重新运行会自动补发"
    try:
        client = _connect(cfg)
    except NotSent:
        raise
    except smtplib.SMTPAuthenticationError:
        raise NotSent(f"邮件服务器 {cfg.where} 拒绝了用户名或密码", "请检查 [smtp] username 和密码环境变量",
                      transient=False) from None
    except smtplib.SMTPNotSupportedError:
        raise NotSent(f"邮件服务器 {cfg.where} 不支持 STARTTLS", "请把 [smtp] security 改为 ssl 或 none",
                      transient=False) from None
    except ssl.SSLError as exc:
        raise NotSent(f"与邮件服务器 {cfg.where} 的加密连接失败: {exc.reason or exc}",
                      f"请确认 security 设置与端口相符；自签名证书可用 {CAFILE_ENV} 指定", transient=False) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise NotSent(f"无法连接邮件服务器 {cfg.where}: {exc}", hint_down) from None
    try:
        refused = client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotSent(f"邮件服务器拒绝了收件人 {', '.join(exc.recipients)}", "请检查收件人地址",
                      transient=False) from None
    except smtplib.SMTPSenderRefused as exc:
        raise NotSent(f"邮件服务器拒绝了发件人 {exc.sender}", "请检查 [smtp] sender", transient=False) from None
    except smtplib.SMTPDataError as exc:
        raise NotSent(f"邮件服务器拒收了邮件内容（{exc.smtp_code}）", "请稍后重试或联系邮件管理员",
                      transient=400 <= exc.smtp_code < 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise OutcomeUnknown(f"发送邮件到 {cfg.where} 时连接中断，无法确定对方是否收到: {exc}",
                             "请向收件人确认；系统不会自动重发以免重复") from None
    finally:
        _quietly_close(client)
    if refused:
        return "部分收件人被拒: " + ", ".join(refused)
    return f"已交给 {cfg.where}"


class SmtpChannel:
    """Customer e-mail notifications (plain text, stable Message-ID derived from the notice key)."""

    name = "email"

    def __init__(self, cfg: SmtpConfig):
        self.cfg = cfg

    def build(self, message: OutgoingMessage) -> EmailMessage:
        return notice_email(message, self.cfg.from_address)

    def send(self, message: OutgoingMessage) -> str:
        return send_email(self.build(message), self.cfg)
