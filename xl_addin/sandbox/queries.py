"""Answers to /poll/query.do: signature and credentials checked, the frequency rules, the journey so far."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from .journeys import CARRIERS, Journey
from .requests import RequestHandling
from .state import CHINA, PHONE_REQUIRED, _fail, _Waybill


class QueryAnswers(RequestHandling):

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
