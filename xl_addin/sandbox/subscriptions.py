"""The subscription registry behind /poll: subscribing, the monthly limit, which pushes are due, carrier
corrections and re-pushes."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from .journeys import CARRIERS
from .autonumber import CarrierGuess
from .queries import QueryAnswers
from .state import CHINA, Subscription

class SubscriptionRegistry(QueryAnswers, CarrierGuess):
    """Subscriptions by number; a push carries the same body as a query answer."""

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
        given = param.get("parameters")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
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
