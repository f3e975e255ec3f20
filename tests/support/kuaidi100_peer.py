"""A stand-in for Kuaidi100 written from its published documents and official demo code, not from
the product's client (it imports nothing from ``xl_addin``): the standard library only.

What it follows (see docs/push-receiver.md for the sources):
- subscription ``POST /poll``, form ``schema=json`` + ``param`` (JSON with ``company``, ``number``,
  ``from``, ``to``, ``key``, ``parameters`` {``callbackurl``, ``salt``, ``resultv2``, ``autoCom``,
  ``phone``}), answered ``{"result":true,"returnCode":"200","message":"提交成功"}``; 501 "重复订阅"
  while the number is being polled *and* for the fifth subscription of a number in one month;
  600 for an unknown key; 700 for bad data;
- real-time query ``POST /poll/query.do``, form ``customer``, ``param``, ``sign`` =
  upper-case MD5(param + key + customer); failures arrive with HTTP 200 as
  ``{"result":false,"returnCode":...,"message":...}`` (500 no result yet, 502 busy, 503 bad sign);
- carrier auto-detection ``/autonumber/auto`` (``key``, ``num``): a JSON array of
  ``{"lengthPre", "comCode", "name"}``, most likely first;
- the push: ``POST callbackurl`` form-encoded ``param`` (JSON: ``status``, ``billstatus``,
  ``message``, ``autoCheck``, ``comOld``, ``comNew``, ``lastResult``) and ``sign`` =
  upper-case MD5(param + salt); only ``{"result":true,"returnCode":"200",...}`` counts as received,
  anything else is sent again (up to three times, half an hour apart).

Every request it receives is recorded, so a test can check what the product subscribed and queried.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CUSTOMER, KEY = "PEER-CUSTOMER", "peer-key"


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


@dataclass
class Received:
    path: str
    form: dict[str, str]
    param: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class Kuaidi100Peer:
    """``start()`` serves on 127.0.0.1; ``url`` is the base URL for the product's client."""

    def __init__(self, *, customer: str = CUSTOMER, key: str = KEY) -> None:
        self.customer, self.key = customer, key
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.polling: dict[str, dict[str, Any]] = {}  # number → its live subscription
        self.month_subscriptions: dict[str, int] = {}  # number → subscriptions accepted this month
        self.answers: dict[str, list[dict[str, Any]]] = {}  # number → scripted query bodies (then 500)
        self.delay: dict[str, float] = {}  # number → seconds to wait before answering a query
        self.http_errors: dict[str, list[int]] = {}  # number → HTTP statuses to answer first
        self.autonumber: dict[str, list[str]] = {}  # number → carrier codes, most likely first

    # ------------------------------------------------------------ what the product sent
    def subscriptions(self, number: str | None = None) -> list[dict[str, Any]]:
        return [r.param for r in self.received if r.path == "/poll" and (number is None or r.param.get("number") == number)]

    def queries(self, number: str | None = None) -> list[dict[str, Any]]:
        return [r.param for r in self.received if r.path == "/poll/query.do"
                and (number is None or r.param.get("num") == number)]

    # ------------------------------------------------------------ HTTP side
    def start(self) -> "Kuaidi100Peer":
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()} \
                    if ctype == "application/x-www-form-urlencoded" else {}
                path = self.path.split("?")[0]
                status, body = peer.handle(path, form)
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="kuaidi100-peer")
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def handle(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            param = json.loads(form.get("param") or "")
        except ValueError:
            param = {}
        if not isinstance(param, dict):
            param = {}
        with self.lock:
            self.received.append(Received(path, form, param))
        if path == "/poll":
            return 200, self._subscribe(form, param)
        if path == "/poll/query.do":
            return self._query(form, param)
        if path == "/autonumber/auto":  # not signed; the key travels as a plain field
            if form.get("key") != self.key:
                return 200, {"returnCode": "601", "message": "key已过期", "result": False}
            num = form.get("num") or ""
            return 200, [{"lengthPre": len(num), "comCode": c, "name": c} for c in self.autonumber.get(num, [])]
        return 404, {"result": False, "returnCode": "404", "message": "not found"}

    def _subscribe(self, form: dict[str, str], param: dict[str, Any]) -> dict[str, Any]:
        if form.get("schema") != "json" or not param:
            return {"result": False, "returnCode": "700", "message": "订阅的数据不完整"}
        if param.get("key") != self.key:
            return {"result": False, "returnCode": "600", "message": "您不是合法的订阅者（即授权Key出错）"}
        number = str(param.get("number") or "")
        parameters = param.get("parameters") or {}
        if not number or not str(parameters.get("callbackurl") or "").startswith(("http://", "https://")):
            return {"result": False, "returnCode": "700", "message": "订阅的数据不完整"}
        with self.lock:
            if number in self.polling or self.month_subscriptions.get(number, 0) >= 4:
                return {"result": False, "returnCode": "501", "message": "POLL:重复订阅"}
            self.month_subscriptions[number] = self.month_subscriptions.get(number, 0) + 1
            self.polling[number] = {"company": param.get("company"), "callbackurl": parameters["callbackurl"],
                                    "salt": parameters.get("salt"), "phone": parameters.get("phone"),
                                    "to": param.get("to")}
        return {"result": True, "returnCode": "200", "message": "提交成功"}

    def _query(self, form: dict[str, str], param: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if form.get("customer") != self.customer or form.get("sign") != md5_upper(
                form.get("param", "") + self.key + self.customer):
            return 200, {"result": False, "returnCode": "503", "message": "验证签名失败"}
        number = str(param.get("num") or "")
        with self.lock:
            codes = self.http_errors.get(number) or []
            if codes:
                return codes.pop(0), {"message": "error"}
            wait = self.delay.get(number, 0.0)
            scripted = self.answers.get(number) or []
            body = scripted.pop(0) if scripted else None
        if wait:
            time.sleep(wait)
        return 200, body or {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}

    # ------------------------------------------------------------ the push
    def end(self, number: str) -> None:
        """The number stops being polled (after a shutdown or abort was delivered)."""
        with self.lock:
            self.polling.pop(number, None)

    def send(self, callbackurl: str, doc: dict[str, Any], salt: str | None) -> tuple[int, dict[str, Any] | None]:
        """POST one push as Kuaidi100 does; (HTTP status, JSON reply or None)."""
        param = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        fields = {"param": param}
        if salt is not None:
            fields["sign"] = md5_upper(param + salt)
        data = urllib.parse.urlencode(fields).encode("utf-8")
        req = urllib.request.Request(callbackurl, data=data, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, text = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def push(self, number: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Push to the callback the product subscribed with, signed with its salt."""
        sub = self.polling[number]
        return self.send(sub["callbackurl"], doc, sub["salt"])

    @staticmethod
    def acknowledged(reply: tuple[int, dict[str, Any] | None]) -> bool:
        """What Kuaidi100 counts as received: ``result`` true and ``returnCode`` "200"."""
        _status, body = reply
        return isinstance(body, dict) and body.get("result") is True and str(body.get("returnCode")) == "200"


def event(time_text: str, context: str, *, code: str | None = None, name: str | None = None) -> dict[str, Any]:
    """One ``data[]`` element; ``code`` only with advanced codes, ``name`` with area parsing."""
    item: dict[str, Any] = {"time": time_text, "ftime": time_text, "context": context, "location": ""}
    if name is not None:
        item["status"] = name
        item["areaCode"], item["areaName"] = None, None
    if code is not None:
        item["statusCode"] = code
    return item


def push_doc(number: str, com: str, events: list[dict[str, Any]], *, status: str = "polling", message: str = "",
             state: str = "0", auto_check: str = "0", com_old: str = "", com_new: str = "") -> dict[str, Any]:
    """A push ``param`` as the push document shows it: every field present, newest event first."""
    data = sorted(events, key=lambda e: e["time"], reverse=True)
    return {"status": status, "billstatus": "check" if status == "shutdown" else "got", "message": message,
            "autoCheck": auto_check, "comOld": com_old, "comNew": com_new,
            "lastResult": {"message": "ok", "nu": number, "ischeck": "1" if state.startswith("3") else "0",
                           "condition": "F00", "com": com, "status": "200", "state": state, "data": data}}


def query_body(number: str, com: str, events: list[dict[str, Any]], state: str = "0") -> dict[str, Any]:
    """A real-time query success body (every scalar a string)."""
    return {"message": "ok", "nu": number, "ischeck": "1" if state.startswith("3") else "0", "condition": "F00",
            "com": com, "status": "200", "state": state, "data": sorted(events, key=lambda e: e["time"], reverse=True)}
