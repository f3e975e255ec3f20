"""Kuaidi100 (快递100) enterprise API: real-time query, subscription, push, carrier auto-detection.

Builders and parsers are pure (tested on recorded bodies); ``Kuaidi100Client`` does only HTTP.
Failure bodies arrive with HTTP 200 and a different shape, so every parser looks at
``returnCode`` / ``result: false`` before ``data``.
"""

from __future__ import annotations

import hashlib
import json
import time as _time
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Callable

from xl_addin.domain.tracking.events import TrackingEvent, kuaidi100_event_remembered
from xl_addin.domain.tracking.status import is_known_kuaidi100

DEFAULT_BASE_URL = "https://poll.kuaidi100.com"
DEFAULT_AUTONUMBER_URL = "https://www.kuaidi100.com"
QUERY_PATH = "/poll/query.do"
SUBSCRIBE_PATH = "/poll"
AUTONUMBER_PATH = "/autonumber/auto"

#: carriers whose query needs the sender's or receiver's phone (last 4 digits accepted)
PHONE_REQUIRED = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong"})

#: the only reply a push receiver may give (§3); anything else is retried by Kuaidi100
PUSH_ACK = {"result": True, "returnCode": "200", "message": "成功"}

OK, NOT_FOUND, WAYBILL_PROBLEM, RETRYABLE, CONFIG_ERROR = "ok", "not_found", "waybill_problem", "retryable", "config_error"

_QUERY_HINTS = {
    "400": "快递公司编码或单号有误：请核对承运商（例如 顺丰=shunfeng、中通=zhongtong）和单号后再查。",
    "408": "手机号与运单不匹配：顺丰/中通需填写收件人或寄件人手机号（可只填后4位），请核对订单的收件人电话。",
    "500": "暂无轨迹：快递公司尚未录入，请稍后（30分钟以上）再查。",
    "503": "签名验证失败：请检查 KUAIDI100_CUSTOMER 与 KUAIDI100_KEY 是否配对正确。",
    "600": "授权 key 无效：请检查 KUAIDI100_KEY。",
    "601": "快递100 账户 key 已过期或余额不足：请登录快递100企业后台充值后再运行。",
}
_SUBSCRIBE_HINTS = {
    "700": "订阅数据有误（承运商不支持、单号为空或过长、回调地址不正确）：请核对承运商编码、单号和回调地址。",
    "701": "快递公司拒绝订阅该单号：请核对单号是否属于该承运商。",
    "702": "无法识别承运商：请在绑定表中填写承运商。",
    "600": _QUERY_HINTS["600"],
    "601": _QUERY_HINTS["601"],
}


def sign_query(param_json: str, key: str, customer: str) -> str:
    """Upper-case hex MD5 of ``param + key + customer`` over the exact posted ``param``."""
    return hashlib.md5((param_json + key + customer).encode("utf-8")).hexdigest().upper()


def sign_push(param_json: str, salt: str) -> str:
    return hashlib.md5((param_json + salt).encode("utf-8")).hexdigest().upper()


def verify_push_sign(param: str, salt: str, sign: str | None) -> bool:
    """Check a push before trusting anything in it (constant-time comparison)."""
    import hmac

    if not sign:
        return False
    return hmac.compare_digest(sign_push(param, salt), sign.strip().upper())


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def build_query(
    com: str, num: str, phone: str | None = None, resultv2: str = "4", *,
    customer: str, key: str, from_: str | None = None, to: str | None = None,
    order: str = "desc", lang: str | None = None,
) -> dict[str, str]:
    """Form fields for ``/poll/query.do``: ``customer``, ``param`` (compact JSON string), ``sign``."""
    param: dict[str, str] = {"com": (com or "").strip().lower(), "num": (num or "").strip()}
    if phone:
        param["phone"] = str(phone).strip()
    if from_:
        param["from"] = from_
    if to:
        param["to"] = to
    param["resultv2"] = str(resultv2)
    param["show"] = "0"
    param["order"] = order
    if lang:
        param["lang"] = lang
    param_json = _compact(param)
    return {"customer": customer, "param": param_json, "sign": sign_query(param_json, key, customer)}


@dataclass
class QueryOutcome:
    """What one waybill's query produced; never an exception for a single waybill's failure."""

    kind: str
    waybill_no: str
    carrier_code: str
    events: list[TrackingEvent] = field(default_factory=list)
    state: str | None = None  # raw top-level state code
    ischeck: bool = False
    return_code: str | None = None
    message: str = ""
    hint: str | None = None
    http_status: int | None = None
    unknown_codes: list[str] = field(default_factory=list)
    route: dict | None = None
    attempts: int = 1  # requests of this number that reached the service

    @property
    def ok(self) -> bool:
        return self.kind == OK

    @property
    def latest(self) -> TrackingEvent | None:
        return max(self.events, key=lambda e: e.time) if self.events else None


def _load_body(body: dict | str | bytes) -> tuple[dict | list | None, str | None]:
    if isinstance(body, (dict, list)):
        return body, None
    try:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        return json.loads(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"返回内容不是合法的 JSON：{exc}"


def _classify_query_code(code: str) -> str:
    if code == "500":
        return NOT_FOUND
    if code in ("400", "408"):
        return WAYBILL_PROBLEM
    if code in ("503", "600", "601"):
        return CONFIG_ERROR
    return RETRYABLE  # 501, 502, other 5xx and anything unexpected: try again later


def events_from_result(
    result: dict, waybill_no: str, carrier_code: str, tz: tzinfo | None, source: str,
) -> tuple[list[TrackingEvent], list[str]]:
    """``data[]`` of a success body (query or push lastResult) → events (newest first) + unknown codes."""
    data = result.get("data") or []
    state = result.get("state")
    events: list[TrackingEvent] = []
    unknown: list[str] = []
    # the newest event is the one with the latest time, whatever the order asked for
    parsed_items = [item for item in data if isinstance(item, dict)]
    newest_index = None
    if parsed_items and all(not it.get("statusCode") for it in parsed_items):
        times = [str(it.get("ftime") or it.get("time") or "") for it in parsed_items]
        newest_index = max(range(len(times)), key=lambda i: times[i])
    for i, item in enumerate(parsed_items):
        fallback = str(state) if (i == newest_index and state not in (None, "")) else None
        ev = kuaidi100_event_remembered(item, waybill_no, carrier_code, source, tz, fallback)
        if ev.raw_code is not None and not is_known_kuaidi100(ev.raw_code):
            unknown.append(ev.raw_code)
        events.append(ev)
    events.sort(key=lambda e: e.time, reverse=True)
    if state not in (None, "") and not is_known_kuaidi100(state):
        unknown.append(str(state))
    return events, sorted(set(unknown))


def parse_query_response(
    body: dict | str | bytes, waybill: str, carrier: str, tz: tzinfo | None = None,
    *, http_status: int | None = 200,
) -> QueryOutcome:
    """A ``/poll/query.do`` reply → QueryOutcome (kinds: ok, not_found, waybill_problem, retryable, config_error)."""
    out = QueryOutcome(kind=RETRYABLE, waybill_no=waybill, carrier_code=carrier, http_status=http_status)
    if http_status is not None and http_status != 200:
        out.message = f"快递100 返回 HTTP {http_status}"
        out.hint = "服务暂时不可用，稍后自动重试。"
        return out
    doc, err = _load_body(body)
    if err or not isinstance(doc, dict):
        out.message = err or "返回内容格式不正确"
        out.hint = "服务返回异常，稍后自动重试。"
        return out
    code = doc.get("returnCode")
    if code not in (None, "") or doc.get("result") is False:
        code = str(code) if code not in (None, "") else ""
        out.return_code = code or None
        out.kind = _classify_query_code(code)
        out.message = str(doc.get("message") or "")
        out.hint = _QUERY_HINTS.get(code) or ("服务繁忙或出错，稍后自动重试。" if out.kind == RETRYABLE else None)
        return out
    status = str(doc.get("status") or "")
    if status != "200" or not isinstance(doc.get("data"), list):
        out.message = f"意外的返回：status={status or '缺失'}"
        out.hint = "服务返回异常，稍后自动重试。"
        return out
    try:
        events, unknown = events_from_result(doc, waybill, carrier, tz, "query")
    except (ValueError, TypeError) as exc:
        out.message = f"轨迹时间无法解析：{exc}"
        return out
    out.kind = OK
    out.return_code = "200"
    out.events = events
    out.state = str(doc["state"]) if doc.get("state") not in (None, "") else None
    out.ischeck = str(doc.get("ischeck")) == "1"
    out.message = str(doc.get("message") or "ok")
    out.unknown_codes = unknown
    out.route = doc.get("routeInfo") if isinstance(doc.get("routeInfo"), dict) else None
    return out


# ---------------------------------------------------------------- subscription


def build_subscribe(
    company: str, number: str, key: str, callbackurl: str, salt: str | None = None,
    phone: str | None = None, resultv2: str = "4", *, from_: str | None = None,
    to: str | None = None, auto_com: bool = False,
) -> dict[str, str]:
    """Form fields for ``/poll``: ``schema=json`` and ``param`` (not signed: the key is inside)."""
    parameters: dict[str, str] = {"callbackurl": callbackurl, "resultv2": str(resultv2)}
    if salt is not None:
        parameters["salt"] = salt
    if phone:
        parameters["phone"] = str(phone)
    if auto_com:
        parameters["autoCom"] = "1"
    param: dict[str, Any] = {"company": (company or "").strip().lower(), "number": (number or "").strip(), "key": key}
    if from_:
        param["from"] = from_
    if to:
        param["to"] = to
    param["parameters"] = parameters
    return {"schema": "json", "param": _compact(param)}


@dataclass
class SubscribeOutcome:
    kind: str  # accepted | duplicate | waybill_problem | config_error | retryable
    return_code: str | None
    message: str = ""
    hint: str | None = None

    @property
    def ok(self) -> bool:
        """501 duplicate means the number is already being polled: success for us."""
        return self.kind in ("accepted", "duplicate")


def parse_subscribe_response(body: dict | str | bytes, *, http_status: int | None = 200) -> SubscribeOutcome:
    if http_status is not None and http_status != 200:
        return SubscribeOutcome(RETRYABLE, None, f"快递100 返回 HTTP {http_status}", "稍后自动重试。")
    doc, err = _load_body(body)
    if err or not isinstance(doc, dict):
        return SubscribeOutcome(RETRYABLE, None, err or "返回内容格式不正确", "稍后自动重试。")
    code = str(doc.get("returnCode") or "")
    msg = str(doc.get("message") or "")
    if code == "200" and doc.get("result") is not False:
        return SubscribeOutcome("accepted", code, msg)
    if code == "501":
        return SubscribeOutcome("duplicate", code, msg)
    if code in ("700", "701", "702"):
        return SubscribeOutcome(WAYBILL_PROBLEM, code, msg, _SUBSCRIBE_HINTS[code])
    if code in ("600", "601"):
        return SubscribeOutcome(CONFIG_ERROR, code, msg, _SUBSCRIBE_HINTS[code])
    return SubscribeOutcome(RETRYABLE, code or None, msg, "服务繁忙或出错，稍后自动重试。")


# ---------------------------------------------------------------- push


@dataclass
class PushOutcome:
    """A decoded push. ``valid`` is False for a body we cannot trust or read (then nothing else is set)."""

    valid: bool
    status: str | None = None  # polling | shutdown | abort | updateall
    message: str = ""
    waybill_no: str | None = None
    carrier_code: str | None = None
    auto_check: bool = False
    com_old: str | None = None
    com_new: str | None = None
    state: str | None = None
    ischeck: bool = False
    events: list[TrackingEvent] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def corrected_carrier(self) -> str | None:
        """The carrier Kuaidi100 says this number really belongs to: ``comNew`` on a push with
        ``autoCheck=1`` (it keeps tracking under it), or on an abort (it re-subscribed it under
        ``comNew`` itself). Every later query and subscription must use it."""
        if self.com_new and (self.auto_check or self.status == "abort"):
            return self.com_new
        return None


def parse_push(form: dict[str, Any], salt: str | None = None, tz: tzinfo | None = None) -> PushOutcome:
    """The callback form (``param``, ``sign``) → PushOutcome. With a salt the sign is checked first."""
    param = form.get("param")
    if isinstance(param, list):
        param = param[0] if param else None
    sign = form.get("sign")
    if isinstance(sign, list):
        sign = sign[0] if sign else None
    if not param or not isinstance(param, str):
        return PushOutcome(False, error="缺少 param")
    if salt is not None and not verify_push_sign(param, salt, sign):
        return PushOutcome(False, error="签名校验失败")
    doc, err = _load_body(param)
    if err or not isinstance(doc, dict):
        return PushOutcome(False, error=err or "param 不是 JSON 对象")
    last = doc.get("lastResult") if isinstance(doc.get("lastResult"), dict) else {}
    waybill = str(last.get("nu") or "").strip() or None
    auto_check = str(doc.get("autoCheck") or "").strip() == "1"
    com_new = str(doc.get("comNew") or "").strip().lower() or None
    status = str(doc.get("status") or "").strip() or None
    carrier = (com_new if com_new and (auto_check or status == "abort") else last.get("com")) or None
    out = PushOutcome(
        True, status=status, message=str(doc.get("message") or ""),
        waybill_no=waybill, carrier_code=carrier, auto_check=auto_check,
        com_old=str(doc.get("comOld") or "").strip().lower() or None, com_new=com_new,
        state=str(last["state"]) if last.get("state") not in (None, "") else None,
        ischeck=str(last.get("ischeck")) == "1",
    )
    if waybill and last.get("data"):
        try:
            out.events, out.unknown_codes = events_from_result(last, waybill, carrier or "", tz, "push")
        except (ValueError, TypeError) as exc:
            return PushOutcome(False, error=f"轨迹时间无法解析：{exc}")
    return out


# ---------------------------------------------------------------- autonumber


def build_autonumber(num: str, key: str) -> dict[str, str]:
    return {"key": key, "num": (num or "").strip()}


@dataclass(frozen=True)
class CarrierGuess:
    com_code: str
    name: str
    length_pre: int | None


@dataclass
class AutonumberOutcome:
    kind: str  # ok | not_a_waybill | config_error | retryable
    candidates: list[CarrierGuess] = field(default_factory=list)
    return_code: str | None = None
    message: str = ""
    hint: str | None = None


def parse_autonumber_response(body: dict | list | str | bytes, *, http_status: int | None = 200) -> AutonumberOutcome:
    if http_status is not None and http_status != 200:
        return AutonumberOutcome(RETRYABLE, message=f"HTTP {http_status}")
    doc, err = _load_body(body)
    if err:
        return AutonumberOutcome(RETRYABLE, message=err)
    if isinstance(doc, list):
        cands = []
        for item in doc:
            if isinstance(item, dict) and item.get("comCode"):
                lp = item.get("lengthPre")
                try:
                    lp = int(lp) if lp not in (None, "") else None
                except (TypeError, ValueError):
                    lp = None
                cands.append(CarrierGuess(str(item["comCode"]), str(item.get("name") or ""), lp))
        return AutonumberOutcome(OK, cands, "200")
    if isinstance(doc, dict):
        code = str(doc.get("returnCode") or "")
        msg = str(doc.get("message") or "")
        if code == "201":
            return AutonumberOutcome("not_a_waybill", [], code, msg, "这不像一个有效的运单号，请核对。")
        if code in ("601", "701", "600"):
            return AutonumberOutcome(CONFIG_ERROR, [], code, msg, "请检查 KUAIDI100_KEY（智能判断需付费账户）。")
        return AutonumberOutcome(RETRYABLE, [], code or None, msg)
    return AutonumberOutcome(RETRYABLE, message="返回内容格式不正确")


# ---------------------------------------------------------------- HTTP


class Kuaidi100Client:
    """HTTP only: posts built forms and hands bodies to the parsers. urllib3's ``Retry`` repeats only failed
    *connections* (never seen by the service). A request that may have reached it (read timeout, HTTP
    429/5xx, returnCode 501/502) counts against Kuaidi100's frequency rules and spends a subscription, so
    a query is sent again only when the caller's ``may_resend`` allows it; every request is counted."""

    def __init__(
        self, base_url: str = DEFAULT_BASE_URL, customer: str = "", key: str = "",
        session=None, timeout: tuple[float, float] | float = (5, 5), retries: int = 2,
        *, autonumber_url: str | None = None, backoff_factor: float = 0.5,
        tz: tzinfo | None = None, resultv2: str = "4",
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.base_url = base_url.rstrip("/")
        self.autonumber_url = (autonumber_url or (DEFAULT_AUTONUMBER_URL if base_url.rstrip("/") == DEFAULT_BASE_URL
                                                  else base_url)).rstrip("/")
        self.customer = customer
        self.key = key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff_factor = backoff_factor
        self.tz = tz
        self.resultv2 = resultv2
        self.session = session or requests.Session()
        retry = Retry(
            total=self.retries, connect=self.retries, read=0, status=0, other=0,
            backoff_factor=backoff_factor, allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.http_requests = 0  # requests that may have reached the service (connection retries not counted)

    def _post(self, url: str, data: dict[str, str]):
        """(HTTP status, body, error text, whether the request may have reached the service)."""
        import requests

        self.http_requests += 1
        try:
            resp = self.session.post(url, data=data, timeout=self.timeout)
            return resp.status_code, resp.content, None, True
        except requests.ConnectTimeout as exc:
            self.http_requests -= 1
            return None, None, f"连接超时：{type(exc).__name__}", False
        except requests.Timeout as exc:
            return None, None, f"请求超时：{type(exc).__name__}", True
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if reason is not None and "ReadTimeout" in type(reason).__name__:
                return None, None, f"请求超时：{type(reason).__name__}", True
            self.http_requests -= 1  # no connection: the service never saw it
            return None, None, f"网络错误：{type(exc).__name__}: {exc}", False
        except requests.RequestException as exc:
            return None, None, f"网络错误：{type(exc).__name__}: {exc}", True

    def _sleep_backoff(self, attempt: int) -> None:
        _time.sleep(self.backoff_factor * (2 ** attempt))

    def query(self, com: str, num: str, phone: str | None = None, *,
              may_resend: Callable[[], bool] | None = None, **extra: Any) -> QueryOutcome:
        """One real-time query. After an answer that may be re-sent (read timeout, HTTP 429/5xx,
        501/502) the query is sent again — at most ``retries`` times — only if ``may_resend()``
        says yes; that call is where the caller counts the re-send against the frequency rules.
        Without ``may_resend`` (a one-off look-up outside the scheduled refresh) it is sent again."""
        form = build_query(com, num, phone, self.resultv2, customer=self.customer, key=self.key, **extra)
        url = self.base_url + QUERY_PATH
        out: QueryOutcome | None = None
        for attempt in range(self.retries + 1):
            status, content, err, reached = self._post(url, form)
            if err:
                out = QueryOutcome(RETRYABLE, num, com, message=err, hint="网络或服务暂时不可用，稍后自动重试。")
                out.attempts = attempt + int(reached)
                if not reached:
                    return out  # connection retries already happened in urllib3
            else:
                out = parse_query_response(content, num, com, self.tz, http_status=status)
                out.attempts = attempt + 1
                resend = out.kind == RETRYABLE and (out.return_code in ("501", "502")
                                                    or (status is not None and (status == 429 or status >= 500)))
                if not resend:
                    return out
            if attempt == self.retries or (may_resend is not None and not may_resend()):
                return out
            self._sleep_backoff(attempt)
        return out  # pragma: no cover

    def subscribe(
        self, company: str, number: str, callbackurl: str, salt: str | None = None,
        phone: str | None = None, **extra: Any,
    ) -> SubscribeOutcome:
        form = build_subscribe(company, number, self.key, callbackurl, salt, phone, self.resultv2, **extra)
        status, content, err, _reached = self._post(self.base_url + SUBSCRIBE_PATH, form)
        if err:
            return SubscribeOutcome(RETRYABLE, None, err, "稍后自动重试。")
        return parse_subscribe_response(content, http_status=status)

    def autonumber(self, num: str) -> AutonumberOutcome:
        status, content, err, _reached = self._post(self.autonumber_url + AUTONUMBER_PATH, build_autonumber(num, self.key))
        if err:
            return AutonumberOutcome(RETRYABLE, message=err)
        return parse_autonumber_response(content, http_status=status)

    def close(self) -> None:
        self.session.close()
