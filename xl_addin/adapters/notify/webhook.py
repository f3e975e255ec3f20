"""Chat-robot webhooks in the WeCom / DingTalk style: POST a small JSON text message.

Both robots take ``{"msgtype": "text", "text": {"content": ...}}`` and answer
``{"errcode": 0, "errmsg": "ok"}``. DingTalk's "加签" option signs the URL:
``timestamp`` in ms and ``sign`` = url-encoded base64 of HMAC-SHA256(key=secret,
msg="timestamp\\nsecret"). The robot URL carries an access token: it is a secret too,
so it never appears in logs or in the send log (the recipient is the robot's name).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time as _time
from typing import Any, Callable
from urllib.parse import quote_plus, urlsplit

from .base import NotSent, OutcomeUnknown, OutgoingMessage

# Robot error codes meaning "too many messages, try later" (DingTalk 130101, WeCom 45009).
_RATE_LIMITED = {130101, 45009, 45033}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value for a DingTalk signed robot URL (already url-encoded)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def text_payload(message: OutgoingMessage) -> dict[str, Any]:
    content = f"{message.subject}\n{message.body}" if message.subject else message.body
    return {"msgtype": "text", "text": {"content": content}}


def _safe(url: str) -> str:
    """The URL without its token, for messages a person will read."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class WebhookChannel:
    """One robot (one group chat). ``secret``: DingTalk signing secret, or empty for unsigned robots."""

    name = "webhook"

    def __init__(self, url: str, *, secret: str = "", session: Any = None, timeout: float = 10.0,
                 clock_ms: Callable[[], int] | None = None):
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook URL must be http(s)")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self._session = session
        self._clock_ms = clock_ms or (lambda: int(_time.time() * 1000))

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def target(self) -> str:
        return signed_url(self.url, self.secret, self._clock_ms()) if self.secret else self.url

    def send(self, message: OutgoingMessage) -> str:
        import requests

        where = _safe(self.url)
        try:
            resp = self.session.post(self.target(), json=text_payload(message), timeout=self.timeout,
                                     headers={"X-XL-Notice-Key": message.key})
        except requests.exceptions.ConnectionError as exc:
            if not _never_reached(exc):
                raise OutcomeUnknown(f"发送到机器人 {where} 时连接中断，无法确定是否送达",
                                     "请在群里确认；系统不会自动重发以免重复") from None
            raise NotSent(f"无法连接机器人地址 {where}", "请检查网络和地址；恢复后会自动补发") from None
        except requests.exceptions.Timeout:
            raise OutcomeUnknown(f"机器人 {where} 响应超时，无法确定是否送达",
                                 "请在群里确认；系统不会自动重发以免重复") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise NotSent(f"机器人 {where} 暂时不可用（HTTP {resp.status_code}）", "稍后会自动重试")
        if resp.status_code >= 400:
            raise NotSent(f"机器人 {where} 拒绝了消息（HTTP {resp.status_code}）", "请检查机器人地址和密钥",
                          transient=False)
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code not in (0, "0"):
            text = answer.get("errmsg", "")
            transient = int(code) in _RATE_LIMITED if str(code).lstrip("-").isdigit() else False
            raise NotSent(f"机器人拒绝了消息: {code} {text}",
                          "发送太频繁，稍后自动重试" if transient else "请检查机器人的安全设置（加签密钥、关键词、IP）",
                          transient=transient)
        return f"机器人已接收（HTTP {resp.status_code}）"


def _never_reached(exc: Exception) -> bool:
    """True when the connection itself failed (refused, DNS, unreachable): the request never left."""
    text = repr(exc)
    return any(w in text for w in ("NewConnectionError", "ConnectionRefused", "NameResolution",
                                   "Failed to establish", "getaddrinfo", "No route"))
