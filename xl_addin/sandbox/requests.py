"""Reading a request the way Kuaidi100 does (form encoding required, bodies capped) and the faults a test
asks for before or inside an answer; writing a JSON or raw answer."""

from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import parse_qs

from .state import MAX_BODY, SandboxState


class RequestHandling(SandboxState):
    @staticmethod
    def _raw(start_response: Callable, status: str, payload: bytes, ctype: str) -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(payload)))])
        return [payload]

    def _json(self, start_response: Callable, status: str, body: Any) -> list[bytes]:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        return self._raw(start_response, status, payload, "application/json;charset=UTF-8")

    @staticmethod
    def _read_body(environ: dict) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        return environ["wsgi.input"].read(min(length, MAX_BODY))

    def _form(self, environ: dict, method: str, allow_get: bool = False) -> dict[str, str] | None:
        """Form fields, or None when the request is not form-encoded (the real service then says 400)."""
        fields: dict[str, str] = {}
        if allow_get and environ.get("QUERY_STRING"):
            fields.update({k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()})
        if method == "POST":
            ctype = (environ.get("CONTENT_TYPE") or "").lower()
            body = self._read_body(environ)
            if body and not ctype.startswith("application/x-www-form-urlencoded"):
                return None
            fields.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        elif not allow_get:
            return None
        return fields

    # ------------------------------------------------------------ faults

    def _fault_before(self) -> str | None:
        with self._lock:
            f = self.faults
            latency = float(f["latency_ms"]) / 1000.0
            slow = 0.0
            if f["slow_ms"] and f["slow_next"]:
                f["slow_next"] -= 1
                slow = float(f["slow_ms"]) / 1000.0
            result = None
            if f["http_burst"]:
                f["http_burst"] -= 1
                result = "http_burst"
            elif f["burst"]:
                f["burst"] -= 1
                result = "busy"
            elif f["error_rate"] and self._fault_rng.random() < float(f["error_rate"]):
                result = "busy"
        if latency or slow:
            time.sleep(latency + slow)
        return result

    def _fault_malformed(self) -> bool:
        with self._lock:
            f = self.faults
            if f["malformed_next"]:
                f["malformed_next"] -= 1
                return True
            return bool(f["malformed_rate"]) and self._fault_rng.random() < float(f["malformed_rate"])
