"""Answers to /autonumber/auto: which carriers a number may belong to."""

from __future__ import annotations

from typing import Any

from .journeys import CARRIERS
from .requests import RequestHandling


class CarrierGuess(RequestHandling):

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
