"""A desk with a finished month to archive (October 2026) and the keys found live and archived."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from support.closing_desk import make_desk, seed_order

TZ = ZoneInfo("Asia/Shanghai")
OCT = datetime(2026, 10, 10, 9, 0, tzinfo=TZ)
NOV = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)


def build_month(root):
    """Three orders completed in October, one completed in November, one not signed; all in the workbooks."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import complete_signed_orders, sync_followups_sheet

    desk = make_desk(root, OCT)
    with store_for(desk) as store:
        for i in range(3):
            seed_order(desk, store, f"A{i}", f"SF40{i}", bound_at=OCT - timedelta(days=3),
                       signed_at=OCT - timedelta(hours=5 + i), now=OCT)
        complete_signed_orders(store, OCT)
        seed_order(desk, store, "B1", "SF501", bound_at=NOV - timedelta(days=2), signed_at=NOV - timedelta(hours=3),
                   now=NOV)
        seed_order(desk, store, "C1", "SF601", bound_at=NOV - timedelta(days=1), signed_at=None, now=NOV)
        complete_signed_orders(store, NOV)
        sync_followups_sheet(desk.workbook("orders"), store, NOV, TZ, backup_dir=None)
    return desk


def build_busy_month(root, october: int, november: int):
    """``october`` orders completed in October 2026 (to archive) and ``november`` from November, half of them
    signed; orders, bindings and follow-ups in the workbooks, written in one go each."""
    from support.closing_desk import append_rows
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import complete_signed_orders, sync_followups_sheet

    desk = make_desk(root, OCT)
    orders, bindings = [], []
    with store_for(desk) as store:
        for i in range(october):
            seed_order(desk, store, f"A{i:04d}", f"SF4{i:05d}", bound_at=OCT - timedelta(days=3),
                       signed_at=OCT - timedelta(hours=5), now=OCT, in_workbooks=False)
        complete_signed_orders(store, OCT)
        for i in range(november):
            seed_order(desk, store, f"B{i:04d}", f"SF5{i:05d}", bound_at=NOV - timedelta(days=2),
                       signed_at=NOV - timedelta(hours=3) if i % 2 else None, now=NOV, in_workbooks=False)
        complete_signed_orders(store, NOV)
        for no, wb in [(f"A{i:04d}", f"SF4{i:05d}") for i in range(october)] + \
                      [(f"B{i:04d}", f"SF5{i:05d}") for i in range(november)]:
            orders.append({"order_no": no, "customer": "甲公司", "goods_name": "书籍", "quantity": 1})
            bindings.append({"order_no": no, "waybill_no": wb, "carrier": "顺丰"})
        append_rows(desk.workbook("orders"), "订单确认单", *orders)
        append_rows(desk.workbook("bindings"), "绑定表", *bindings)
        sync_followups_sheet(desk.workbook("orders"), store, NOV, TZ, backup_dir=None)
    return desk


def live_keys(desk) -> dict[str, set[str]]:
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET, FOLLOWUPS_SHEET, ORDERS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet

    def keys(book, schema, key):
        return [str(r.values[key]) for r in read_sheet(desk.workbook(book), schema).rows if r.values.get(key)]
    return {"orders": keys("orders", ORDERS_SHEET, "order_no"), "followups": keys("orders", FOLLOWUPS_SHEET, "order_no"),
            "bindings": keys("bindings", BINDINGS_SHEET, "order_no")}


def archived_keys(desk, month="2026-10") -> dict[str, list[str]]:
    from xl_addin.services.closing.archive import read_archive_rows

    folder = desk.archive_dir / month
    if not (folder / "manifest.json").exists():
        return {"orders": [], "followups": [], "bindings": []}
    o = read_archive_rows(folder / f"订单确认单-{month}.xlsx")
    b = read_archive_rows(folder / f"物流单号绑定表-{month}.xlsx")
    return {"orders": [r["订单编号"] for r in o["订单确认单"]], "followups": [r["订单编号"] for r in o["满意度回访"]],
            "bindings": [r["订单编号"] for r in b["绑定表"]]}
