"""The sandbox as a plain WSGI application: Kuaidi100's endpoints, a simulated clock, faults, push.

It answers the way the real service does (failure bodies with HTTP 200, signatures checked,
form encoding required), so the client runs unchanged against it; only base URL and
credentials differ. Deviation: the 4-subscriptions-per-month limit is refused with 700.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

from .journeys import CARRIERS, DEFAULT_MIX, Journey, build_journey

CHINA = timezone(timedelta(hours=8), "CST")
PHONE_REQUIRED = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong"})
MAX_BODY = 1 << 20

MSG = {
    "400": "找不到对应公司或提交的数据不完整",
    "408": "手机号码与快递单号不匹配，请核对",
    "500": "查询无结果，请隔段时间再查",
    "501": "服务器错误",
    "502": "服务器繁忙，请稍后再试",
    "503": "验证签名失败",
    "601": "key已过期，请充值",
}


def _fail(code: str, message: str | None = None) -> dict:
    return {"result": False, "returnCode": code, "message": message or MSG[code]}


class SimClock:
    """Simulated China time: start + speed × real elapsed + manual advances."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        start = start or datetime.now(CHINA)
        self._base = start if start.tzinfo else start.replace(tzinfo=CHINA)
        self._t0 = time.monotonic()
        self.speed = float(speed)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def set(self, when: datetime, speed: float | None = None) -> None:
        with self._lock:
            self._base = when if when.tzinfo else when.replace(tzinfo=CHINA)
            self._t0 = time.monotonic()
            if speed is not None:
                self.speed = float(speed)

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


@dataclass
class Subscription:
    com: str
    num: str
    callbackurl: str
    salt: str | None
    resultv2: str
    subscribed_at: datetime
    next_push_at: datetime
    status: str = "polling"
    pushed_nodes: int = -1
    retries: int = 0
    pushes_ok: int = 0
    pushes_failed: int = 0
    correction: dict | None = None  # a carrier correction to push next: {"how", "com_old", "com_new"}
    updateall: bool = False  # the next push re-sends everything (status "updateall")


@dataclass
class _Waybill:
    journey: Journey
    queries: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None
    locked_view: datetime | None = None


class SandboxApp:
    """WSGI callable. All state lives here; ``clock`` is the simulated now."""

    def __init__(
        self, *, customer: str = "SANDBOX-CUSTOMER", key: str = "sandbox-key",
        credentials: dict[str, str] | None = None, expired_customers: tuple[str, ...] = (),
        seed: int | str = 0, mix: dict[str, float] | None = None, start: datetime | None = None,
        speed: float = 1.0, ship_window_hours: float = 48, faults: dict | None = None,
        push_timeout: float = 20.0,
    ) -> None:
        self.credentials = dict(credentials or {customer: key})
        self.expired_customers = set(expired_customers)
        self.seed = seed
        self.mix = dict(mix or DEFAULT_MIX)
        self.clock = SimClock(start, speed)
        self.start = self.clock.now()
        self.ship_window_hours = ship_window_hours
        self.push_timeout = push_timeout
        self._lock = threading.RLock()
        self._waybills: dict[tuple[str, str], _Waybill] = {}
        self._pins: dict[tuple[str, str], dict] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._sub_counts: dict[tuple[str, str, str], int] = {}  # (com, number, month) → subscriptions
        self._moved: dict[tuple[str, str], str] = {}  # (wrong com, number) → the right com
        self.faults: dict[str, Any] = {}
        self._fault_rng = random.Random(f"faults:{seed}")
        self.set_faults(faults or {})
        self.stats: dict[str, Any] = {
            "requests": 0, "queries": 0, "served_queries": 0, "violations": 0, "violations_30min": 0,
            "violations_48_per_day": 0, "locked_numbers": 0, "subscriptions": 0, "pushes_ok": 0,
            "pushes_failed": 0, "return_codes": {}, "queried_numbers": {}, "queried_companies": {},
            "subscribed_companies": {}, "subscribe_requests": {},
        }

    # ------------------------------------------------------------ state helpers

    def set_faults(self, faults: dict) -> None:
        defaults = {"latency_ms": 0, "error_rate": 0.0, "burst": 0, "http_burst": 0, "slow_ms": 0,
                    "slow_next": 0, "malformed_next": 0, "malformed_rate": 0.0}
        with self._lock:
            merged = dict(defaults)
            if not faults.get("reset"):
                merged.update(self.faults)
            merged.update({k: v for k, v in faults.items() if k in defaults})
            self.faults = merged

    def pin(self, num: str, com: str, **spec: Any) -> Journey:
        """Fix a waybill's journey (scenario, phone, shipped_at, from, to) before it is queried."""
        with self._lock:
            key = (com.lower(), num.strip())
            self._pins[key] = spec
            self._waybills.pop(key, None)
            return self._waybill(com, num).journey

    def _waybill(self, com: str, num: str, *, phone: str | None = None, to: str | None = None,
                 origin: str | None = None) -> _Waybill:
        """The waybill's record, created on first sight: a pinned journey, else one built from the
        seed that takes the phone, origin and destination the desk sent (the carrier has the order's receiver)."""
        key = (com.lower(), num.strip())
        wb = self._waybills.get(key)
        if wb is None:
            spec = dict(self._pins.get(key, {}))
            if phone and not spec.get("phone"):
                digits = "".join(ch for ch in str(phone) if ch.isdigit())
                if len(digits) >= 11:
                    spec["phone"] = digits[-11:]
                elif len(digits) >= 4:
                    spec["phone"] = "1380000" + digits[-4:]
            if to and not spec.get("to"):
                spec["to"] = str(to)
            if origin and not spec.get("from"):
                spec["from"] = str(origin)
            shipped = spec.get("shipped_at")
            if isinstance(shipped, str):
                shipped = datetime.fromisoformat(shipped)
                if shipped.tzinfo is None:
                    shipped = shipped.replace(tzinfo=CHINA)
            journey = build_journey(
                key[1], key[0], seed=self.seed, start=self.start, mix=self.mix,
                scenario=spec.get("scenario"), shipped_at=shipped, phone=spec.get("phone"),
                origin_text=spec.get("from"), dest_text=spec.get("to"), window_hours=self.ship_window_hours,
            )
            wb = self._waybills[key] = _Waybill(journey)
        return wb

    def journey(self, com: str, num: str) -> Journey:
        with self._lock:
            return self._waybill(com, num).journey

    def _count(self, code: str) -> None:
        rc = self.stats["return_codes"]
        rc[code] = rc.get(code, 0) + 1

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

    # ------------------------------------------------------------ real-time query

    def _query(self, method: str, environ: dict) -> dict:
        with self._lock:
            self.stats["queries"] += 1
        form = self._form(environ, method)
        body = self._query_body(form)
        with self._lock:
            self._count(str(body.get("returnCode") or body.get("status") or "200"))
        return body

    def _query_body(self, form: dict[str, str] | None) -> dict:
        if not form or not all(form.get(k) for k in ("customer", "param", "sign")):
            return _fail("400")
        customer, param_text, sign = form["customer"], form["param"], form["sign"]
        key = self.credentials.get(customer)
        if key is None:
            return _fail("503")
        expected = hashlib.md5((param_text + key + customer).encode("utf-8")).hexdigest().upper()
        if sign != expected:
            return _fail("503")
        if customer in self.expired_customers:
            return _fail("601")
        try:
            param = json.loads(param_text)
        except ValueError:
            return _fail("400")
        if not isinstance(param, dict):
            return _fail("400")
        com = str(param.get("com") or "").strip()
        num = str(param.get("num") or "").strip()
        if com not in CARRIERS or not (6 <= len(num) <= 32):
            return _fail("400")
        now = self.clock.now()
        with self._lock:
            qc = self.stats["queried_companies"]  # what was asked (tests check our carrier → com mapping)
            qc[com] = qc.get(com, 0) + 1
            if (com, num) in self._moved:  # asked under the carrier Kuaidi100 corrected away from
                self._frequency(self._waybill(self._moved[(com, num)], num), num, now)
                return _fail("500")
            wb = self._waybill(com, num, phone=param.get("phone"), to=param.get("to"), origin=param.get("from"))
            j = wb.journey
            if com in PHONE_REQUIRED:
                phone = str(param.get("phone") or "").strip()
                if not phone or not (phone == j.phone or (len(phone) == 4 and j.phone.endswith(phone))):
                    return _fail("408")
            view_at = self._frequency(wb, num, now)
            nodes = j.visible(view_at)
            self.stats["served_queries"] += 1
        if not nodes:
            return _fail("500")
        return self._success_body(j, nodes, str(param.get("resultv2") or ""), str(param.get("order") or "desc"))

    def _frequency(self, wb: _Waybill, num: str, now: datetime) -> datetime:
        """Count rule violations; a number over 48 queries in 24 h is locked and stops updating."""
        qn = self.stats["queried_numbers"]
        qn[num] = qn.get(num, 0) + 1
        if wb.queries and now - wb.queries[-1] < timedelta(minutes=30):
            self.stats["violations"] += 1
            self.stats["violations_30min"] += 1
        wb.queries = [t for t in wb.queries if now - t < timedelta(hours=24)] + [now]
        if wb.locked_until and now >= wb.locked_until:
            wb.locked_until = wb.locked_view = None
        if wb.locked_until is None and len(wb.queries) > 48:
            self.stats["violations"] += 1
            self.stats["violations_48_per_day"] += 1
            self.stats["locked_numbers"] += 1
            wb.locked_until, wb.locked_view = now + timedelta(hours=24), now
        return wb.locked_view or now

    def _success_body(self, j: Journey, nodes: list, resultv2: str, order: str) -> dict:
        advanced = resultv2 in ("4", "8")
        with_area = resultv2 in ("1", "4", "8")
        from xl_addin.domain.tracking.status import KUAIDI100_NAMES

        items = []
        for n in nodes:
            t = n.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
            item: dict[str, Any] = {"time": t, "ftime": t, "context": n.context, "location": ""}
            if with_area:
                code = n.code if advanced else n.base
                item.update({"areaCode": n.city.area_code if n.city else None,
                             "areaName": n.city.area_name if n.city else None,
                             "status": KUAIDI100_NAMES.get(code, KUAIDI100_NAMES.get(n.base, ""))})
            if advanced:
                item.update({"statusCode": n.code, "areaCenter": n.city.center if n.city else None,
                             "areaPinYin": n.city.pinyin if n.city else None})
            items.append(item)
        if order != "asc":
            items.reverse()
        last = nodes[-1]
        body: dict[str, Any] = {
            "message": "ok", "nu": j.waybill, "ischeck": "1" if last.base in ("3", "4") else "0",
            "condition": "F00", "com": j.com, "status": "200",
            "state": last.code if advanced else last.base, "data": items,
        }
        if advanced:
            cur = last.city or j.origin
            body["isLoop"] = False
            body["routeInfo"] = {
                "from": {"number": j.origin.area_code, "name": j.origin.area_name},
                "cur": {"number": cur.area_code, "name": cur.area_name},
                "to": {"number": j.dest.area_code, "name": j.dest.area_name},
            }
        return body

    # ------------------------------------------------------------ subscription

    def _subscribe(self, method: str, environ: dict) -> dict:
        form = self._form(environ, method)
        body = self._subscribe_body(form)
        with self._lock:
            self._count("sub" + body["returnCode"])
        return body

    def _subscribe_body(self, form: dict[str, str] | None) -> dict:
        bad = {"result": False, "returnCode": "700", "message": "订阅的数据不完整或不正确"}
        if not form or not form.get("param"):
            return bad
        try:
            param = json.loads(form["param"])
        except ValueError:
            return bad
        if not isinstance(param, dict):
            return bad
        key = str(param.get("key") or "")
        customer = next((c for c, k in self.credentials.items() if k == key), None)
        if customer is None:
            return {"result": False, "returnCode": "600", "message": "您不是合法的订阅者（即授权Key出错）"}
        if customer in self.expired_customers:
            return {"result": False, "returnCode": "601", "message": "POLL:KEY已过期"}
        params = param.get("parameters") if isinstance(param.get("parameters"), dict) else {}
        com = str(param.get("company") or "").strip()
        num = str(param.get("number") or "").strip()
        url = str(params.get("callbackurl") or "")
        if not com and str(params.get("autoCom")) == "1":
            com = self.guess_carriers(num)[0]["comCode"] if self.guess_carriers(num) else ""
            if not com:
                return {"result": False, "returnCode": "702", "message": "POLL:识别不到该单号对应的快递公司"}
        if com not in CARRIERS or not (6 <= len(num) <= 32) or not url.startswith(("http://", "https://")):
            return bad
        now = self.clock.now()
        with self._lock:
            sub = self.subscriptions.get(num)
            month = (com, num, now.astimezone(CHINA).strftime("%Y-%m"))  # counted per carrier code and number
            sc = self.stats["subscribe_requests"]
            sc[num] = sc.get(num, 0) + 1
            if sub and sub.status == "polling":
                return {"result": False, "returnCode": "501", "message": "POLL:重复订阅"}
            if self._sub_counts.get(month, 0) >= 4:  # the fifth of the month: the same answer, and nothing comes
                return {"result": False, "returnCode": "501", "message": "POLL:重复订阅"}
            self._sub_counts[month] = self._sub_counts.get(month, 0) + 1
            self._waybill(com, num, phone=params.get("phone"), to=param.get("to"))
            rng = random.Random(f"{self.seed}:push:{num}")
            salt = params.get("salt")
            self.subscriptions[num] = Subscription(
                com, num, url, None if salt is None else str(salt), str(params.get("resultv2") or ""),
                now, now + timedelta(minutes=rng.randint(15, 240)))
            self.stats["subscriptions"] += 1
            sc = self.stats["subscribed_companies"]
            sc[com] = sc.get(com, 0) + 1
        return {"result": True, "returnCode": "200", "message": "提交成功"}

    # ------------------------------------------------------------ push

    def due_pushes(self, now: datetime | None = None) -> list[tuple[Subscription, dict]]:
        """Push bodies due at ``now`` (changes since the last accepted push, or abort/shutdown)."""
        now = now or self.clock.now()
        out = []
        with self._lock:
            for sub in self.subscriptions.values():
                if sub.status != "polling" or sub.next_push_at > now:
                    continue
                fix = sub.correction
                j = self._waybill(fix["com_new"] if fix else sub.com, sub.num).journey
                nodes = j.visible(now)
                if fix is not None:
                    if fix["how"] == "abort":  # stopped under the old code; Kuaidi100 re-subscribes under comNew
                        doc = {"status": "abort", "billstatus": "", "message": "快递公司编码错误，已更正为" + fix["com_new"],
                               "lastResult": self._success_body(j, nodes, sub.resultv2, "desc") if nodes else
                               {"message": "ok", "nu": sub.num, "com": fix["com_old"], "status": "200", "state": "",
                                "ischeck": "0", "condition": "", "data": []}}
                        doc["lastResult"]["com"] = fix["com_old"]
                    else:
                        doc = {"status": "polling", "billstatus": "got", "message": "",
                               "lastResult": self._success_body(j, nodes, sub.resultv2, "desc")}
                    # the SDK's push document: autoCheck=1 with comOld and comNew; the abort that announces a
                    # re-subscription under comNew has autoCheck=0 and an empty comOld
                    doc.update(autoCheck="1" if fix["how"] == "autocheck" else "0",
                               comOld=fix["com_old"] if fix["how"] == "autocheck" else "",
                               comNew=fix["com_new"], _nodes=len(nodes), _fix=True)
                    out.append((sub, doc))
                    continue
                if not nodes:
                    if now - sub.subscribed_at >= timedelta(days=3):
                        out.append((sub, {"status": "abort", "billstatus": "", "message": "3天查询无记录",
                                          "lastResult": {"message": "ok", "nu": sub.num, "com": sub.com,
                                                         "status": "200", "state": "", "ischeck": "0",
                                                         "condition": "", "data": []}}))
                    else:
                        sub.next_push_at = now + timedelta(hours=4)
                    continue
                if len(nodes) == sub.pushed_nodes and sub.retries == 0:
                    if now - nodes[-1].at >= timedelta(days=60):
                        out.append((sub, {"status": "abort", "billstatus": "", "message": "60天无变化",
                                          "lastResult": self._success_body(j, nodes, sub.resultv2, "desc")}))
                    else:
                        sub.next_push_at = now + timedelta(hours=4)
                    continue
                final = nodes[-1].base in ("3", "4")
                status = "shutdown" if final else ("updateall" if sub.updateall else "polling")
                out.append((sub, {"status": status, "billstatus": "check" if final else "got",
                                  "message": "", "lastResult": self._success_body(j, nodes, sub.resultv2, "desc"),
                                  "_nodes": len(nodes)}))
        for _sub, doc in out:  # the service sends these three on every push
            doc.setdefault("autoCheck", "0")
            doc.setdefault("comOld", "")
            doc.setdefault("comNew", "")
        return out

    def correct_carrier(self, num: str, com_new: str, how: str = "autocheck") -> None:
        """Kuaidi100 finds the number belongs to ``com_new``: the next push says so, either with
        ``autoCheck=1`` (it keeps tracking under comNew) or as an ``abort`` naming comNew (it
        re-subscribes under comNew itself). Queries under the old code then find nothing."""
        if how not in ("autocheck", "abort"):
            raise ValueError("how must be autocheck or abort")
        with self._lock:
            sub = self.subscriptions[num]
            old = sub.com
            wb = self._waybills.pop((old, num), None) or self._waybill(old, num)
            self._waybills.pop((old, num), None)
            if (old, num) in self._pins:
                self._pins[(com_new, num)] = self._pins.pop((old, num))
            wb.journey.com = com_new
            self._waybills[(com_new, num)] = wb
            self._moved[(old, num)] = com_new
            sub.correction = {"how": how, "com_old": old, "com_new": com_new}
            sub.next_push_at = min(sub.next_push_at, self.clock.now())

    def repush_all(self, num: str) -> None:
        """The next push of ``num`` re-sends its whole history with status ``updateall``."""
        with self._lock:
            sub = self.subscriptions[num]
            sub.updateall, sub.pushed_nodes = True, -1
            sub.next_push_at = min(sub.next_push_at, self.clock.now())

    def push_due(self, now: datetime | None = None, session=None, *, workers: int = 1) -> dict[str, int]:
        """POST every due push to its callback (form ``param`` + ``sign`` = MD5(param+salt), upper-case).

        The receiver must answer exactly the success JSON within ``push_timeout``; anything else is
        sent again 30 simulated minutes later (the FAQ's half hour), at most 3 times, then this change is given up (the next
        change is pushed again). ``workers`` > 1 posts in parallel, like the real service."""
        import requests

        now = now or self.clock.now()
        due = self.due_pushes(now)
        if not due:
            return {"sent": 0, "failed": 0}
        local = threading.local()

        def http():
            if session is not None:
                return session
            s = getattr(local, "session", None)
            if s is None:
                s = local.session = requests.Session()
            return s

        def post(item) -> tuple[Subscription, dict, int, bool]:
            sub, doc = item
            nodes = doc.pop("_nodes", sub.pushed_nodes)
            doc.pop("_fix", None)
            param = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            form = {"param": param}
            if sub.salt is not None:
                form["sign"] = hashlib.md5((param + sub.salt).encode("utf-8")).hexdigest().upper()
            try:
                resp = http().post(sub.callbackurl, data=form, timeout=self.push_timeout)
                reply = resp.json() if resp.status_code == 200 else None
                ok = (isinstance(reply, dict) and reply.get("result") is True
                      and str(reply.get("returnCode")) == "200")
            except (requests.RequestException, ValueError):
                ok = False
            return sub, doc, nodes, ok

        if workers > 1 and len(due) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(workers, len(due)), thread_name_prefix="sandbox-push") as pool:
                results = list(pool.map(post, due))
        else:
            results = [post(item) for item in due]
        sent = failed = 0
        with self._lock:
            for sub, doc, nodes, ok in results:
                if ok:
                    sent += 1
                    sub.pushes_ok += 1
                    self.stats["pushes_ok"] += 1
                    sub.retries, sub.pushed_nodes = 0, nodes
                    sub.next_push_at = now + timedelta(hours=4)
                    sub.updateall = False
                    if sub.correction is not None:
                        sub.com = sub.correction["com_new"]  # abort with comNew: re-subscribed under it, polling
                        sub.correction = None
                    elif doc["status"] in ("shutdown", "abort"):
                        sub.status = doc["status"]
                else:
                    failed += 1
                    sub.pushes_failed += 1
                    self.stats["pushes_failed"] += 1
                    sub.retries += 1
                    if sub.retries > 3:  # 1 try + 3 retries: give up on this change
                        sub.retries, sub.pushed_nodes = 0, nodes
                        sub.next_push_at = now + timedelta(hours=4)
                    else:
                        sub.next_push_at = now + timedelta(minutes=30)  # the FAQ: every half hour
        return {"sent": sent, "failed": failed}

    # ------------------------------------------------------------ autonumber

    def guess_carriers(self, num: str) -> list[dict]:
        n = num.strip().upper()
        rules = [("SF", "shunfeng"), ("YT", "yuantong"), ("JDV", "jd"), ("JD", "jd"), ("JT", "jtexpress"),
                 ("DPK", "debangkuaidi"), ("ZJS", "zhaijisong"), ("KY", "kuayue"), ("E", "ems"),
                 ("77", "shentong"), ("78", "zhongtong"), ("75", "zhongtong"), ("73", "zhongtong"),
                 ("43", "yunda"), ("46", "yunda"), ("31", "yunda"), ("98", "youzhengguonei")]
        found = [com for pre, com in rules if n.startswith(pre)]
        with self._lock:
            found = [c for (c, w) in self._pins if w == num.strip()] + found
        if not found and n.isdigit():
            found = ["zhongtong", "yunda", "shentong"]
        seen: list[str] = []
        for c in found:
            if c not in seen:
                seen.append(c)
        return [{"lengthPre": len(n), "comCode": c, "name": CARRIERS[c]} for c in seen]

    def _autonumber(self, method: str, environ: dict) -> Any:
        form = self._form(environ, method, allow_get=True) or {}
        key = form.get("key") or ""
        if not key:
            return {"returnCode": "701", "message": "key缺失", "result": False}
        customer = next((c for c, k in self.credentials.items() if k == key), None)
        if customer is None or customer in self.expired_customers:
            return {"returnCode": "601", "message": "key已过期或未开通智能判断", "result": False}
        num = (form.get("num") or "").strip()
        if not (6 <= len(num) <= 32) or not num.isalnum():
            return {"returnCode": "201", "message": "单号不正确", "result": False}
        return self.guess_carriers(num)

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
