"""SMS through a gateway: one small interface and one HTTP implementation set up by URL and body template.

Gateways differ in field names, so the request body is a template the desk writes, with
``$phone``, ``$text`` and ``$message_id`` placeholders (``string.Template`` syntax, so JSON
braces need no escaping). Values are JSON-escaped for a JSON body and url-encoded for a
form body. ``$message_id`` is stable per notice: gateways that de-duplicate on a client id
then also guard against a repeat.
"""

from __future__ import annotations

import json
from string import Template
from typing import Any, Mapping, Protocol
from urllib.parse import quote_plus

from .base import NotSent, OutcomeUnknown, OutgoingMessage

DEFAULT_BODY = '{"phone": "$phone", "content": "$text", "client_msg_id": "$message_id"}'


class SmsGateway(Protocol):
    def send_sms(self, phone: str, text: str, message_id: str) -> str:
        """Hand one text to the gateway; NotSent / OutcomeUnknown as in ``base``."""
        ...


class HttpSmsGateway:
    """POST (or GET) the filled template to ``url``; success is HTTP 2xx and, when
    ``success_field`` is set, that JSON field equal to ``success_value``."""

    def __init__(self, url: str, body_template: str = DEFAULT_BODY, *, content_type: str = "json",
                 headers: Mapping[str, str] | None = None, success_field: str = "",
                 success_value: str = "0", session: Any = None, timeout: float = 10.0):
        if content_type not in ("json", "form"):
            raise ValueError("content_type must be json or form")
        self.url = url
        self.template = Template(body_template)
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.success_field = success_field
        self.success_value = success_value
        self.timeout = timeout
        self._session = session

    def body(self, phone: str, text: str, message_id: str) -> str:
        values = {"phone": phone, "text": text, "message_id": message_id}
        if self.content_type == "json":
            escaped = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in values.items()}
        else:
            escaped = {k: quote_plus(v) for k, v in values.items()}
        return self.template.safe_substitute(escaped)

    def send_sms(self, phone: str, text: str, message_id: str) -> str:
        import requests

        if self._session is None:
            self._session = requests.Session()
        mime = "application/json; charset=utf-8" if self.content_type == "json" else \
            "application/x-www-form-urlencoded; charset=utf-8"
        try:
            resp = self._session.post(self.url, data=self.body(phone, text, message_id).encode("utf-8"),
                                      headers={"Content-Type": mime, **self.headers}, timeout=self.timeout)
        except requests.exceptions.ConnectTimeout:
            raise NotSent("短信网关连接超时", "稍后会自动重试") from None
        except requests.exceptions.ConnectionError as exc:
            if "NewConnectionError" in repr(exc) or "Failed to establish" in repr(exc):
                raise NotSent("无法连接短信网关", "请检查网关地址和网络；恢复后会自动补发") from None
            raise OutcomeUnknown("发送短信时连接中断，无法确定是否送达", "系统不会自动重发以免重复") from None
        except requests.exceptions.Timeout:
            raise OutcomeUnknown("短信网关响应超时，无法确定是否送达", "系统不会自动重发以免重复") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise NotSent(f"短信网关暂时不可用（HTTP {resp.status_code}）", "稍后会自动重试")
        if resp.status_code >= 400:
            raise NotSent(f"短信网关拒绝了请求（HTTP {resp.status_code}）", "请检查网关地址、模板和账号",
                          transient=False)
        if self.success_field:
            try:
                got = resp.json().get(self.success_field)
            except (ValueError, AttributeError):
                got = None
            if str(got) != self.success_value:
                raise NotSent(f"短信网关返回失败: {self.success_field}={got}", "请查看网关的错误码说明",
                              transient=False)
        return f"短信网关已接收（HTTP {resp.status_code}）"


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway):
        self.gateway = gateway

    def send(self, message: OutgoingMessage) -> str:
        return self.gateway.send_sms(message.recipient, message.body, message.key)
