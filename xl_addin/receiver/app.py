"""The callback endpoint as a plain WSGI application (served by waitress in ``server``).

Order of trust: size limit → form decoding → signature (inside the handler) → content.
Every reply is JSON. Only an acknowledged push gets exactly ``PUSH_ACK``; anything else gets a
non-success body, which the provider treats as failed and retries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qs

from xl_addin.adapters.providers.kuaidi100 import PUSH_ACK

from .jsonlog import event

CALLBACK_PATH = "/kuaidi100/callback"
MAX_BODY = 256 * 1024  # a push with a long journey is ~20 KB; anything far bigger is not Kuaidi100

_ACK_BYTES = json.dumps(PUSH_ACK, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


class CallbackApp:
    """``handler(form) -> verdict`` with ``.ack``, ``.outcome`` and ``.log_fields()``;
    ``health() -> dict`` for ``/healthz``."""

    def __init__(self, handler: Callable[[dict[str, str]], Any], *, health: Callable[[], dict] | None = None,
                 logger: logging.Logger | None = None, max_body: int = MAX_BODY, path: str = CALLBACK_PATH):
        self.handler = handler
        self.health = health
        self.logger = logger or logging.getLogger("xl_addin.receiver")
        self.max_body = max_body
        self.path = path
        self.started = time.monotonic()
        self.draining = False  # set on shutdown: /healthz says so, so a proxy stops sending
        self.active = 0  # callbacks being handled (graceful shutdown waits for them)
        self._active_lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        t0 = time.perf_counter()
        path = environ.get("PATH_INFO") or "/"
        method = (environ.get("REQUEST_METHOD") or "GET").upper()
        remote = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip() or environ.get("REMOTE_ADDR", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._healthz(start_response)
        if path != self.path:
            return self._reply(start_response, "404 Not Found", _refusal("404", "not found"))
        if method != "POST":
            return self._reply(start_response, "405 Method Not Allowed", _refusal("405", "POST only"),
                               [("Allow", "POST")])
        if self.draining:  # shutting down: not acknowledged, so the provider sends it again later
            return self._reply(start_response, "503 Service Unavailable", _refusal("503", "shutting down"))
        with self._active_lock:
            self.active += 1
        try:
            status, body, fields = self._callback(environ)
        finally:
            with self._active_lock:
                self.active -= 1
        fields.update(remote=remote, http=status.split()[0], ms=round((time.perf_counter() - t0) * 1000, 2),
                      query=environ.get("QUERY_STRING") or None)
        level = logging.INFO if status.startswith("200") and body is PUSH_ACK else logging.WARNING
        event(self.logger, "push", level, **{k: v for k, v in fields.items() if v is not None})
        return self._reply(start_response, status, body)

    def _callback(self, environ: dict) -> tuple[str, dict, dict]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request", _refusal("400", "bad Content-Length"), {"outcome": "malformed"}
        if length > self.max_body:
            return ("413 Payload Too Large", _refusal("413", f"body over {self.max_body} bytes"),
                    {"outcome": "too_large", "bytes": length})
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if len(raw) > self.max_body:
            return "413 Payload Too Large", _refusal("413", "body too large"), {"outcome": "too_large"}
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return ("415 Unsupported Media Type", _refusal("415", "form encoding expected"),
                    {"outcome": "malformed", "content_type": ctype or None})
        try:
            text = raw.decode("utf-8")
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, strict_parsing=False,
                                                    max_num_fields=20).items()}
        except (UnicodeDecodeError, ValueError) as exc:
            return "400 Bad Request", _refusal("400", "bad form body"), {"outcome": "malformed", "detail": str(exc)}
        verdict = self.handler(form)
        fields = verdict.log_fields()
        if verdict.ack:
            return "200 OK", PUSH_ACK, fields
        if verdict.outcome == "bad_sign":
            return "403 Forbidden", _refusal("403", "sign mismatch"), fields
        if verdict.outcome == "error":
            return "503 Service Unavailable", _refusal("500", "temporarily unable to store, retry later"), fields
        return "400 Bad Request", _refusal("400", "malformed push"), fields

    def _healthz(self, start_response: Callable) -> list[bytes]:
        doc: dict[str, Any] = {"status": "draining" if self.draining else "ok",
                               "uptime_s": round(time.monotonic() - self.started, 1)}
        status = "503 Service Unavailable" if self.draining else "200 OK"
        if self.health is not None:
            try:
                doc.update(self.health())
            except Exception as exc:
                doc.update(status="unhealthy", error=f"{type(exc).__name__}: {exc}")
                status = "503 Service Unavailable"
        return self._reply(start_response, status, doc)

    @staticmethod
    def _reply(start_response: Callable, status: str, body: dict, extra: list | None = None) -> list[bytes]:
        payload = _ACK_BYTES if body is PUSH_ACK else json.dumps(body, ensure_ascii=False).encode("utf-8")
        start_response(status, [("Content-Type", "application/json;charset=UTF-8"),
                                ("Content-Length", str(len(payload))), ("Cache-Control", "no-store")] + (extra or []))
        return [payload]
