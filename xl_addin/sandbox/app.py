"""The sandbox as a plain WSGI application: Kuaidi100's endpoints, a simulated clock, faults, push.

It answers the way the real service does (failure bodies with HTTP 200, signatures checked,
form encoding required), so the client runs unchanged against it; only base URL and
credentials differ. Deviation: the 4-subscriptions-per-month limit is refused with 700.
"""


from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import parse_qs

from .journeys import Journey
from .push_sender import PushSender
from .state import CHINA, MAX_BODY, MSG, PHONE_REQUIRED, SimClock, Subscription, _fail

__all__ = ["CHINA", "MAX_BODY", "MSG", "PHONE_REQUIRED", "SandboxApp", "SimClock", "Subscription", "journey_summary"]


class SandboxApp(PushSender):
    """WSGI callable: routes a request to its answer. The state lives in ``SandboxState``; ``clock`` is the
    simulated now."""

    # ------------------------------------------------------------ WSGI

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        with self._lock:
            self.stats["requests"] += 1
        try:
            if path.startswith("/_sandbox/"):
                status, body = self._control(path[len("/_sandbox/"):], method, environ)
                return self._json(start_response, status, body)
            if path in ("/poll/query.do", "/poll", "/autonumber/auto"):
                fault = self._fault_before()
                if fault == "http_burst":
                    return self._raw(start_response, "502 Bad Gateway", b"<html>502 Bad Gateway</html>", "text/html")
                if fault == "busy":
                    self._count("502")
                    return self._json(start_response, "200 OK", _fail("502"))
                if path == "/poll/query.do":
                    body = self._query(method, environ)
                elif path == "/poll":
                    body = self._subscribe(method, environ)
                else:
                    body = self._autonumber(method, environ)
                text = json.dumps(body, ensure_ascii=False)
                if self._fault_malformed():
                    text = text[: max(1, len(text) // 2)]
                return self._raw(start_response, "200 OK", text.encode("utf-8"), "application/json;charset=UTF-8")
            return self._json(start_response, "404 Not Found", {"error": "not found", "path": path})
        except Exception as exc:  # the sandbox must not die on a bad request
            return self._json(start_response, "500 Internal Server Error", {"error": repr(exc)})


    # ------------------------------------------------------------ control

    def _control(self, what: str, method: str, environ: dict) -> tuple[str, Any]:
        data: dict = {}
        if method == "POST":
            raw = self._read_body(environ)
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return "400 Bad Request", {"error": "JSON body expected"}
        if what == "state" and method == "GET":
            with self._lock:
                return "200 OK", {
                    "now": self.clock.now().isoformat(), "start": self.start.isoformat(), "speed": self.clock.speed,
                    "seed": self.seed, "mix": self.mix, "faults": dict(self.faults),
                    "subscriptions": {n: {"com": s.com, "status": s.status, "next_push_at": s.next_push_at.isoformat(),
                                          "pushes_ok": s.pushes_ok, "pushes_failed": s.pushes_failed}
                                      for n, s in self.subscriptions.items()},
                    "locked": [w for (c, w), wb in self._waybills.items() if wb.locked_until],
                }
        if what == "stats" and method == "GET":
            with self._lock:
                return "200 OK", json.loads(json.dumps(self.stats))
        if what == "clock" and method == "POST":
            if "set" in data:
                when = datetime.fromisoformat(data["set"])
                self.clock.set(when, data.get("speed"))
            elif "speed" in data:
                self.clock.set(self.clock.now(), data["speed"])
            delta = timedelta(minutes=float(data.get("advance_minutes", 0)), hours=float(data.get("advance_hours", 0)),
                              days=float(data.get("advance_days", 0)))
            if delta:
                self.clock.advance(delta)
            return "200 OK", {"now": self.clock.now().isoformat(), "speed": self.clock.speed}
        if what == "faults" and method == "POST":
            self.set_faults(data)
            return "200 OK", {"faults": dict(self.faults)}
        if what == "waybills" and method == "POST":
            if not data.get("num") or not data.get("com"):
                return "400 Bad Request", {"error": "num and com required"}
            spec = {k: data[k] for k in ("scenario", "phone", "shipped_at", "from", "to") if data.get(k)}
            j = self.pin(str(data["num"]), str(data["com"]), **spec)
            return "200 OK", journey_summary(j)
        if what == "waybill" and method == "GET":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            if not q.get("num") or not q.get("com"):
                return "400 Bad Request", {"error": "num and com required"}
            return "200 OK", journey_summary(self.journey(q["com"], q["num"]))
        if what == "push" and method == "POST":
            return "200 OK", self.push_due()
        if what == "correct" and method == "POST":
            if not data.get("num") or not data.get("com_new"):
                return "400 Bad Request", {"error": "num and com_new required"}
            try:
                self.correct_carrier(str(data["num"]), str(data["com_new"]), str(data.get("how") or "autocheck"))
            except (KeyError, ValueError) as exc:
                return "400 Bad Request", {"error": f"cannot correct: {exc}"}
            return "200 OK", {"num": data["num"], "com_new": data["com_new"]}
        if what == "repush" and method == "POST":
            try:
                self.repush_all(str(data.get("num") or ""))
            except KeyError:
                return "400 Bad Request", {"error": "not subscribed"}
            return "200 OK", {"num": data["num"]}
        return "404 Not Found", {"error": f"unknown control {method} /_sandbox/{what}"}


def journey_summary(j: Journey) -> dict:
    return {
        "num": j.waybill, "com": j.com, "scenario": j.scenario, "phone": j.phone,
        "shipped_at": j.shipped_at.isoformat(), "from": j.origin.area_name, "to": j.dest.area_name,
        "final_at": j.final_at.isoformat() if j.final_at else None,
        "nodes": [{"at": n.at.isoformat(), "context": n.context, "base": n.base, "code": n.code} for n in j.nodes],
    }
