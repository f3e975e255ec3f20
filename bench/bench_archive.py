"""Monthly archive of half of a 20,000-order desk, beside an openpyxl load+save of its Order Confirmation
workbook measured in the same run (floor: ours ≤ 1.5× that), and beside one streaming read (calamine)
plus one streaming copy (zip re-write) of each book (the goal).

The desk: 20,000 orders in 《订单确认单》 with staff columns (a note, a formula over the row, a
formula over the row above, an absolute reference, a cross-sheet summary), 20,000 bindings, 40,000
tracking nodes in 节点明细, follow-ups for the signed orders; 10,000 orders were completed in
October, the rest in November. Each step runs in a fresh process on its own copy of the desk.

    .venv/bin/python -m bench.bench_archive [--orders 20000] [--desk PATH]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TZ = ZoneInfo("Asia/Shanghai")
OCT = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
NOV = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
ARCHIVED_AT = datetime(2026, 12, 2, 6, 0, tzinfo=TZ)


def build(root: Path, orders: int) -> None:
    """A desk whose first half of orders was completed in October (archived by the run), the rest in November."""
    from openpyxl import load_workbook

    from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.store.waybills import Binding, WaybillStore
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.domain.tracking.events import TrackingEvent
    from xl_addin.domain.tracking.status import MainStatus, SubStatus
    from xl_addin.services.closing.close_orders import complete_signed_orders, sync_followups_sheet
    from xl_addin.services.desk.setup import init_desk

    init_desk(root, OCT)
    desk = load_desk(root)
    half = orders // 2
    nos = [f"SO{i:06d}" for i in range(orders)]
    wbs = [f"SF{i:010d}" for i in range(orders)]
    with store_for(desk) as store:
        for part, when in ((range(0, half), OCT), (range(half, orders), NOV)):
            with store.transaction():
                OrderRecords(store).save([OrderRecord(nos[i], "allocated", "ok", fields={"customer": "甲公司"})
                                          for i in part], when)
                bound = when - timedelta(days=3)
                WaybillStore(store).insert_bindings([Binding(nos[i], wbs[i], "顺丰", "SF", "auto", bound, "系统")
                                                     for i in part])
                store.conn.executemany("INSERT INTO waybill_status (waybill_no, order_no, carrier_code, bound_at, "
                                       "updated_at) VALUES (?, ?, 'SF', ?, ?)",
                                       [(wbs[i], nos[i], bound.isoformat(), when.isoformat()) for i in part])
                ts = TrackingStore(store)
                events = []
                for i in part:
                    ev = [TrackingEvent(wbs[i], "SF", bound + timedelta(hours=2), "已揽收", MainStatus.IN_TRANSIT,
                                        SubStatus.IN_TRANSIT_PICKED_UP),
                          TrackingEvent(wbs[i], "SF", when - timedelta(hours=5), "已签收，签收人：本人",
                                        MainStatus.DELIVERED, SubStatus.DELIVERED_OTHER)]
                    events += ev
                ts.add_events(events, when)
                for i in part:
                    ts.refresh_status(wbs[i], events[2 * (i - part.start): 2 * (i - part.start) + 2], when)
            complete_signed_orders(store, when)

        wb = load_workbook(desk.workbook("orders"))
        ws = wb["订单确认单"]
        head = {c.value: c.column for c in ws[1] if c.value}
        last = ws.max_column
        staff = ["客服备注", "编号-客户", "比上行", "含税金额", "汇总引用"]
        for j, label in enumerate(staff, start=last + 2):
            ws.cell(1, j, label)
        for i, no in enumerate(nos):
            r = i + 2
            ws.cell(r, head["订单编号"], no)
            ws.cell(r, head["客户名称"], "甲公司")
            ws.cell(r, head["货物名称"], "书籍")
            ws.cell(r, head["数量"], 1 + i % 7)
            ws.cell(r, head["物流单号"], wbs[i])
            ws.cell(r, last + 1, 100 + i % 50)
            ws.cell(r, last + 2, f"第{i}单 周末送")
            a, q, m = "A", ws.cell(r, head["数量"]).column_letter, ws.cell(r, last + 1).column_letter
            ws.cell(r, last + 3, f'={a}{r}&"-"&{q}{r}')
            ws.cell(r, last + 4, f"={m}{r}-{m}{r - 1}" if r > 2 else f"={m}{r}")
            ws.cell(r, last + 5, f"=ROUND({m}{r}*$B$1,2)")
            ws.cell(r, last + 6, f"=汇总!$A$1+{m}{r}")
        for t in ws.tables.values():
            t.ref = f"A1:{t.ref.split(':')[1].rstrip('0123456789')}{orders + 1}"
            if t.autoFilter is not None:
                t.autoFilter.ref = t.ref
        s = wb.create_sheet("汇总")
        s["A1"] = 1000
        s["B1"] = f"=SUM(订单确认单!{ws.cell(2, last + 1).column_letter}2:{ws.cell(2, last + 1).column_letter}{orders + 1})"
        wb.save(desk.workbook("orders"))

        wb = load_workbook(desk.workbook("bindings"))
        ws = wb["绑定表"]
        head = {c.value: c.column for c in ws[1] if c.value}
        for i, no in enumerate(nos):
            ws.cell(i + 2, head["订单编号"], no)
            ws.cell(i + 2, head["物流单号"], wbs[i])
            ws.cell(i + 2, head["物流商名称"], "顺丰")
        wb.save(desk.workbook("bindings"))

        wb = load_workbook(desk.workbook("tracking"))
        ws = wb["节点明细"]
        head = {c.value: c.column for c in ws[1] if c.value}
        for i, no in enumerate(nos):
            for k, note in enumerate(("已揽收", "已签收，签收人：本人")):
                r = 2 + 2 * i + k
                ws.cell(r, head["物流单号"], wbs[i])
                ws.cell(r, head["订单编号"], no)
                ws.cell(r, head["状态说明"], note)
        wb.save(desk.workbook("tracking"))
        sync_followups_sheet(desk.workbook("orders"), store, NOV, TZ, backup_dir=None)


def run_archive(root: str) -> int:
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.closing.archive import archive_month

    desk = load_desk(Path(root))
    with store_for(desk) as store:
        res = archive_month(desk, store, "2026-10", ARCHIVED_AT)
    return res["orders"]


def openpyxl_load_save(path: str) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    n = wb.worksheets[0].max_row
    wb.save(path + ".openpyxl.xlsx")
    return n


def streaming_read_write(paths: list[str]) -> int:
    """The goal: what reading every sheet once (calamine) and re-writing each package once costs."""
    from python_calamine import CalamineWorkbook

    n = 0
    for p in paths:
        wb = CalamineWorkbook.from_path(p)
        for name in wb.sheet_names:
            for _ in wb.get_sheet_by_name(name).iter_rows():
                n += 1
        wb.close()
        with zipfile.ZipFile(p) as zin, zipfile.ZipFile(p + ".copy.xlsx", "w", zipfile.ZIP_DEFLATED,
                                                        compresslevel=1) as zout:
            for info in zin.infolist():
                with zin.open(info) as src, zout.open(info.filename, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
    return n


def main(argv: list[str] | None = None) -> int:
    from bench.harness import Figure, environment, measure, print_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--desk", type=Path, default=None, help="keep the generated desk here (re-used when present)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    base = args.desk or work / "base"
    if not (base / "xl-logistics.toml").exists():
        print(f"building a desk of {args.orders} orders in {base} …", file=sys.stderr)
        build(base, args.orders)
    from xl_addin.bootstrap import load_desk

    desk = load_desk(base)
    books = [desk.workbook(k) for k in ("orders", "bindings", "tracking", "exceptions")]
    sizes = {p.name: p.stat().st_size for p in books if p.exists()}
    ours_root = work / "ours"
    shutil.copytree(base, ours_root)
    ours = measure(run_archive, str(ours_root))
    copy = work / "opx.xlsx"
    shutil.copy(desk.workbook("orders"), copy)
    opx = measure(openpyxl_load_save, str(copy))
    opx_all = 0.0
    for p in books:
        if p.exists():
            c = work / f"opx-{p.name}"
            shutil.copy(p, c)
            opx_all += measure(openpyxl_load_save, str(c)).seconds
    streaming = measure(streaming_read_write, [str(p) for p in books if p.exists()])
    figures = [
        Figure("archive vs openpyxl load+save (order book)", "s", ours.seconds, opx.seconds,
               "openpyxl load+save of 订单确认单.xlsx", max_ratio=1.5,
               note=f"{ours.result} orders archived of {args.orders}"),
        Figure("archive vs openpyxl load+save (all four books)", "s", ours.seconds, opx_all,
               "openpyxl load+save of each book"),
        Figure("archive vs one streaming read + write of each book (goal)", "s", ours.seconds, streaming.seconds,
               "calamine read + zip copy"),
        Figure("peak memory", "MB", ours.peak_rss_mb, opx.peak_rss_mb, "openpyxl load+save"),
    ]
    print_table(figures, title=f"bench_archive: {args.orders} orders, half archived; books "
                               + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    print(environment())
    if not args.desk:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
