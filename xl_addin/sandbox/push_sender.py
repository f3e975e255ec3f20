"""Sending the due pushes to the subscribers' callback URLs, as Kuaidi100 does (form post, signed)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timedelta

from .subscriptions import SubscriptionRegistry
from .state import Subscription


class PushSender(SubscriptionRegistry):

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
