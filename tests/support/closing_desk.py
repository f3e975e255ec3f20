"""A small desk for the closing and archive tests: orders with bindings, tracking nodes and workbook rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

# ---------------------------------------------------------------- a small desk (shared with the other test files)

def make_desk(root: Path, now: datetime):
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.desk.setup import init_desk

    init_desk(root, now)
    return load_desk(root)


def seed_order(desk, store, order_no: str, waybill: str, *, bound_at: datetime, signed_at: datetime | None,
               now: datetime, in_workbooks: bool = True) -> None:
    """An order, its binding, tracking nodes (signed when ``signed_at``) and its rows in the live workbooks."""
    from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.store.waybills import Binding, WaybillStore
    from xl_addin.domain.tracking.events import TrackingEvent
    from xl_addin.domain.tracking.status import MainStatus, SubStatus

    with store.transaction():
        OrderRecords(store).save([OrderRecord(order_no, "allocated", "ok", fields={"customer": "甲公司"})], now)
        WaybillStore(store).insert_bindings([Binding(order_no, waybill, "顺丰", "SF", "auto", bound_at, "系统")])
        store.conn.execute("INSERT INTO waybill_status (waybill_no, order_no, carrier_code, bound_at, updated_at) "
                           "VALUES (?, ?, 'SF', ?, ?)", (waybill, order_no, bound_at.isoformat(), now.isoformat()))
        ts = TrackingStore(store)
        events = [TrackingEvent(waybill, "SF", bound_at + timedelta(hours=2), "已揽收", MainStatus.IN_TRANSIT,
                                SubStatus.IN_TRANSIT_PICKED_UP)]
        if signed_at:
            events.append(TrackingEvent(waybill, "SF", signed_at, "已签收，签收人：本人", MainStatus.DELIVERED,
                                        SubStatus.DELIVERED_OTHER))
        ts.add_events(events, now)
        ts.refresh_status(waybill, events, now)
    if in_workbooks:
        append_rows(desk.workbook("orders"), "订单确认单",
                    {"order_no": order_no, "customer": "甲公司", "goods_name": "书籍", "quantity": 1})
        append_rows(desk.workbook("bindings"), "绑定表", {"order_no": order_no, "waybill_no": waybill, "carrier": "顺丰"})


def append_rows(path: Path, sheet: str, *rows: dict) -> None:
    from xl_addin.adapters.workbook.books import ALL_BOOKS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    schema = next(s for b in ALL_BOOKS for s in b.sheets if s.name == sheet)
    t = read_sheet(path, schema)
    start = max([t.header_row] + [r.row for r in t.rows]) + 1
    cells = {(start + i, t.columns[k]): v for i, row in enumerate(rows) for k, v in row.items()}
    write_cells(path, t.sheet, t.header_row, {}, cells, backup_dir=None, append_table_rows=True)
