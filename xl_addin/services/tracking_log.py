"""The Real-time Tracking Log (《实时物流跟踪记录表》) written from the state store.

* 跟踪总览: one row per active waybill, in a stable order (new waybills at the end); delivered
  waybills leave after ``keep_delivered_days``. The sheet is product-owned, so it is compacted.
* 节点明细: nodes of the last ``node_days`` days; new nodes are appended, old ones pruned.
* 人工录入: staff rows are read and ingested as manual nodes; the ``已导入`` cell gets the time.

Everything comes from the store, so a workbook open in Excel loses nothing: it is skipped
(``WorkbookLocked``) and caught up on the next run.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from xl_addin.adapters.store.store import Store, from_iso
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.workbook.books import MANUAL_NODES_SHEET, TRACKING_NODES_SHEET, TRACKING_OVERVIEW_SHEET
from xl_addin.domain.tracking.anomalies import AnomalyConfig, Journey, next_key_node_planned
from xl_addin.domain.tracking.events import TrackingEvent, parse_carrier_time
from xl_addin.domain.tracking.manual import manual_event
from xl_addin.domain.tracking.status import display_zh
from xl_addin.errors import WorkbookError, WorkbookLocked

log = logging.getLogger(__name__)

SOURCE_ZH = {"query": "自动", "push": "推送", "manual": "人工"}
KEEP_DELIVERED_DAYS = 3
NODE_DAYS = 7


@dataclass
class LogResult:
    written: bool = False
    message: str = ""
    overview_rows: int = 0
    nodes_added: int = 0
    nodes_pruned: int = 0
    manual_ingested: int = 0
    manual_problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def local(moment: datetime | str | None, tz: tzinfo) -> datetime | None:
    """A stored UTC instant as the desk's wall-clock time (Excel cells have no zone)."""
    if isinstance(moment, str):
        moment = from_iso(moment)
    if moment is None:
        return None
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


# ---------------------------------------------------------------- 人工录入

def ingest_manual(path: Path, store: Store, now: datetime, tz: tzinfo, *, backup_dir: Path | None,
                  carriers: dict[str, str] | None = None) -> LogResult:
    """Read staff-entered nodes, ingest new ones as manual events, mark their 已导入 cell.
    Ingestion is idempotent, so a workbook open in Excel is still read; only the marking waits."""
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    res = LogResult()
    if not path.exists():
        return res
    table = read_sheet(path, MANUAL_NODES_SHEET)
    ts = TrackingStore(store)
    ingested_col = table.columns.get("ingested")
    marks: dict[tuple[int, int], object] = {}
    events: list[TrackingEvent] = []
    for row in table.rows:
        v = row.values
        if _text(v.get("ingested")):
            continue
        waybill = _text(v.get("waybill_no"))
        if not waybill:
            continue
        try:
            when = v.get("actual_time")
            if isinstance(when, date) and not isinstance(when, datetime):
                when = datetime(when.year, when.month, when.day)
            moment = parse_carrier_time(when if isinstance(when, datetime) else str(when or ""), tz)
            status = ts.status(waybill)
            com = (carriers or {}).get(waybill) or (status or {}).get("carrier_code") or ""
            ev = manual_event(waybill, com, str(v.get("node_name") or ""), moment, outlet=_text(v.get("outlet")),
                              note=_text(v.get("status_note")), evidence=_text(v.get("evidence")),
                              entered_by=_text(v.get("entered_by")))
        except ValueError as exc:
            res.manual_problems.append(f"人工录入 第{row.row}行: {exc}")
            continue
        events.append(ev)
        if ingested_col:
            marks[(row.row, ingested_col)] = local(now, tz)
    if events:
        with store.transaction():
            for w in {e.waybill_no for e in events}:
                if ts.status(w) is None:
                    ts.register([{"waybill_no": w, "carrier_code": next(e.carrier_code for e in events
                                                                         if e.waybill_no == w) or None}], now)
            new = ts.add_events(events, now)
            for w in {e.waybill_no for e in events}:
                ts.refresh_status(w, ts.events_for(w), now)
            for e in new:
                store.audit(now, e.extra.get("entered_by") or "跟踪专员", "manual_node", "waybill", e.waybill_no,
                            {"node": e.extra.get("node_name"), "time": e.time.isoformat(), "context": e.context})
        res.manual_ingested = len(new)
    if marks:
        try:
            write_cells(path, table.sheet, table.header_row, {}, marks, backup_dir=backup_dir)
        except WorkbookLocked as exc:
            res.message = str(exc)
    return res


# ---------------------------------------------------------------- 跟踪总览 and 节点明细

def _overview_rows(store: Store, now: datetime, tz: tzinfo, keep_days: int, cfg: AnomalyConfig,
                   carrier_names: dict[str, str]) -> list[dict[str, Any]]:
    ts = TrackingStore(store)
    anomalies: dict[str, list[str]] = {}
    for a in ts.anomalies(open_only=True):
        anomalies.setdefault(a["waybill_no"], []).append(a["reason"])
    statuses = ts.all_status()
    leave_before = now - timedelta(days=keep_days)
    keep = [s for s in statuses
            if not (s["is_final"] and s["final_at"] and from_iso(s["final_at"]) < leave_before
                    and s["waybill_no"] not in anomalies)]
    events = ts.events_of(s["waybill_no"] for s in keep)
    rows = []
    for s in keep:
        w = s["waybill_no"]
        j = Journey(w, from_iso(s["bound_at"]), date.fromisoformat(s["expected_delivery"]) if s["expected_delivery"] else None,
                    events.get(w, []))
        planned = next_key_node_planned(j, cfg, tz=tz)
        who = " ".join(p for p in (s["outlet"], s["courier"]) if p) or None
        rows.append({
            "order_no": s["order_no"], "waybill_no": w,
            "carrier": carrier_names.get(w) or s["carrier_code"],
            "status": s["status_zh"] or "待查询", "last_node": s["last_context"],
            "last_node_time": local(s["last_time"], tz), "outlet": who,
            "next_node_planned": local(planned, tz),
            "next_node_actual": local(s["final_at"], tz),
            "anomaly": "是" if w in anomalies else "否",
            "anomaly_reason": "；".join(anomalies.get(w, [])) or None,
            "last_checked": local(s["last_checked_at"], tz), "next_check": local(s["next_check_at"], tz),
        })
    return rows


def _node_row(e: TrackingEvent, order_no: str | None, tz: tzinfo) -> dict[str, Any]:
    extra = e.extra or {}
    return {
        "waybill_no": e.waybill_no, "order_no": order_no,
        "node_name": extra.get("node_name") or display_zh(e.status, e.sub_status),
        "planned_time": None, "actual_time": local(e.time, tz),
        "outlet": " ".join(p for p in (e.outlet, e.courier) if p) or None,
        "status_note": e.context, "evidence": extra.get("evidence"),
        "source": SOURCE_ZH.get(e.source, e.source),
    }


def _node_key(waybill: Any, when: Any, note: Any) -> tuple:
    t = when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else str(when or "")
    return (str(waybill or "").strip(), t, " ".join(str(note or "").split()))


def _cells_for(rows: list[dict[str, Any]], columns: dict[str, int], first_row: int) -> dict[tuple[int, int], object]:
    cells: dict[tuple[int, int], object] = {}
    for i, row in enumerate(rows):
        for key, col in columns.items():
            if key in row:
                cells[(first_row + i, col)] = row[key]
    return cells


def write_tracking_log(path: Path, store: Store, now: datetime, tz: tzinfo, *, backup_dir: Path | None,
                       keep_delivered_days: int = KEEP_DELIVERED_DAYS, node_days: int = NODE_DAYS,
                       config: AnomalyConfig | None = None, carrier_names: dict[str, str] | None = None) -> LogResult:
    """Bring 跟踪总览 and 节点明细 up to date from the store. Raises ``WorkbookLocked`` when open in Excel."""
    from xl_addin.adapters.workbook.files import assert_not_open_in_excel
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    res = LogResult()
    if not path.exists():
        raise WorkbookError("找不到实时物流跟踪记录表", "请运行 xl-logistics init --force 重新生成模板", path=str(path))
    assert_not_open_in_excel(path)
    cfg = config or AnomalyConfig()
    names = carrier_names or {}

    # 跟踪总览: rewrite in order (existing order kept, new waybills appended), clear what is left over
    ov = read_sheet(path, TRACKING_OVERVIEW_SHEET)
    wanted = _overview_rows(store, now, tz, keep_delivered_days, cfg, names)
    by_no = {r["waybill_no"]: r for r in wanted}
    order = [str(r.values.get("waybill_no")).strip() for r in ov.rows if r.values.get("waybill_no")]
    seen = set()
    ordered = []
    for w in order:
        if w in by_no and w not in seen:
            ordered.append(by_no[w])
            seen.add(w)
    ordered += [r for r in wanted if r["waybill_no"] not in seen]
    first = ov.header_row + 1
    cells = _cells_for(ordered, ov.columns, first)
    last_old = max((r.row for r in ov.rows), default=ov.header_row)
    for r in range(first + len(ordered), last_old + 1):
        for col in ov.columns.values():
            cells[(r, col)] = None
    write_cells(path, ov.sheet, ov.header_row, {}, cells, backup_dir=backup_dir, append_table_rows=True)
    res.overview_rows = len(ordered)

    # 节点明细: append new nodes of the window; prune old rows by rewriting when there are any
    nd = read_sheet(path, TRACKING_NODES_SHEET)
    since = now - timedelta(days=node_days)
    since_local = local(since, tz)
    existing, kept_rows, pruned = set(), [], 0
    for r in nd.rows:
        v = r.values
        when = v.get("actual_time")
        if isinstance(when, datetime) and when < since_local:
            pruned += 1
            continue
        existing.add(_node_key(v.get("waybill_no"), when, v.get("status_note")))
        kept_rows.append({k: v.get(k) for k in nd.columns})
    orders = {s["waybill_no"]: s["order_no"] for s in TrackingStore(store).all_status()}
    new_rows = []
    for e in TrackingStore(store).events_between(since, now + timedelta(days=1)):
        row = _node_row(e, orders.get(e.waybill_no), tz)
        key = _node_key(row["waybill_no"], row["actual_time"], row["status_note"])
        if key not in existing:
            existing.add(key)
            new_rows.append(row)
    first = nd.header_row + 1
    if pruned:
        rows = kept_rows + new_rows
        cells = _cells_for(rows, nd.columns, first)
        last_old = max((r.row for r in nd.rows), default=nd.header_row)
        for r in range(first + len(rows), last_old + 1):
            for col in nd.columns.values():
                cells[(r, col)] = None
    else:
        start = max((r.row for r in nd.rows), default=nd.header_row) + 1
        cells = _cells_for(new_rows, nd.columns, start)
    if cells:
        write_cells(path, nd.sheet, nd.header_row, {}, cells, backup_dir=backup_dir, append_table_rows=True)
    res.nodes_added, res.nodes_pruned = len(new_rows), pruned
    res.written = True
    return res


# ---------------------------------------------------------------- daily export

def export_day(store: Store, day: date, tz: tzinfo, out_dir: Path) -> tuple[Path, int]:
    """That day's nodes (desk time) into a dated archive workbook; returns (path, rows)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    ts = TrackingStore(store)
    events = ts.events_between(start, start + timedelta(days=1))
    status = {s["waybill_no"]: s for s in ts.all_status()}
    wb = Workbook()
    ws = wb.active
    ws.title = TRACKING_NODES_SHEET.name
    cols = list(TRACKING_NODES_SHEET.columns)
    ws.append([c.label for c in cols] + ["当前状态"])
    for c in ws[1]:
        c.font = Font(bold=True)
    from xl_addin.adapters.workbook.cells import safe_text

    for e in events:
        row = _node_row(e, (status.get(e.waybill_no) or {}).get("order_no"), tz)
        values = [row.get(c.key) for c in cols] + [(status.get(e.waybill_no) or {}).get("status_zh")]
        ws.append([safe_text(v) if isinstance(v, str) else v for v in values])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                cell.data_type = "s"  # carrier text is data, never a formula
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = c.width or 14
        if c.number_format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = c.number_format
    ws.freeze_panes = "A2"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"实时物流跟踪记录-{day.isoformat()}.xlsx"
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".xlsx", dir=out_dir)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path, len(events)
