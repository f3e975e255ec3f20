"""Shared set-up for the push tests: a desk with bound waybills and orders, signed push forms."""

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.services.desk.setup import init_desk

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)
SALT = "pepper-salt"


def make_desk(root: Path, n: int, *, carriers=("ZTO", "YTO"), config_extra=None, emails=False):
    cfg = DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1).replace(
        "requests_per_second = 1.0", "requests_per_second = 500.0")
    for a, b in (config_extra or {}).items():
        cfg = cfg.replace(a, b)
    init_desk(root, NOW, config_text=cfg)
    desk = load_desk(root)
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([
            Binding(order_no=f"O{i:05d}", waybill_no=f"WB{i:08d}", carrier="中通", carrier_code=carriers[i % len(carriers)],
                    source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统",
                    expected_delivery=(NOW + timedelta(days=3)).date()) for i in range(n)])
        def fields(i):
            return {"receiver_phone": "13800138000", "customer": "测试客户",
                    **({"email": f"c{i}@example.com"} if emails else {})}

        OrderRecords(st).save([OrderRecord(order_no=f"O{i:05d}", status="allocated", check_status="ok",
                                           fields=fields(i)) for i in range(n)], NOW)
    return desk


def event_item(at: datetime, context: str, code: str) -> dict:
    t = at.astimezone(CN).strftime("%Y-%m-%d %H:%M:%S")
    return {"time": t, "ftime": t, "context": context, "location": "", "status": "", "statusCode": code}


def push_form(waybill: str, items: list[dict], *, status="polling", com="zhongtong", salt=SALT, extra=None,
              state=None) -> dict:
    items = sorted(items, key=lambda i: i["time"], reverse=True)
    doc = {"status": status, "billstatus": "got", "message": "",
           "lastResult": {"message": "ok", "nu": waybill, "ischeck": "1" if state == "3" else "0", "com": com,
                          "status": "200", "state": state or (items[0]["statusCode"] if items else ""),
                          "condition": "F00", "data": items}}
    doc.update(extra or {})
    param = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return {"param": param, "sign": hashlib.md5((param + salt).encode()).hexdigest().upper()}
