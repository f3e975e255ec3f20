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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from xl_addin.adapters.store.store import Store, from_iso
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.store.tracking_log_reads import TrackingLogReads
from xl_addin.adapters.workbook.books import MANUAL_NODES_SHEET, TRACKING_NODES_SHEET, TRACKING_OVERVIEW_SHEET
from xl_addin.domain.tracking.anomalies import AnomalyConfig, Journey, next_key_node_planned
from xl_addin.domain.tracking.events import TrackingEvent, parse_carrier_time
from xl_addin.domain.tracking.manual import manual_event
from xl_addin.domain.tracking.status import display_zh
from xl_addin.display.vocabulary import NODE_SOURCE_LABELS as SOURCE_ZH
from xl_addin.errors import WorkbookError, WorkbookLocked
from xl_addin.services.closing.order_completion import complete_on_signing

log = logging.getLogger(__name__)

FAILED_OUTCOMES = ("retryable", "waybill_problem")


def query_problem(status: dict | None) -> str | None:
    """Why the last query of a waybill failed (the carrier's message and what to do), or None."""
    if not status or status.get("last_outcome") not in FAILED_OUTCOMES:
        return None
    return (status.get("last_message") or "").strip() or "查询失败，下次刷新时自动重试"


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
                complete_on_signing(store, w, now)
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
    """The same key for a node from the store and for the row read back from the sheet: the note as
    the cell holds it (control characters dropped, cut at Excel's limit), the time to the minute."""
    from xl_addin.adapters.workbook.cells import safe_text

    t = when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else str(when or "")
    text = str(note or "")
    if "_x" in text:  # the sheet shows Excel's escape look-alikes as written: compare the shown text
        text = text.replace("_x005F_", "_")
    return (str(waybill or "").strip(), t, " ".join(safe_text(text).replace("_x005F_", "_").split()))


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
    writer = LogWriter(path, now, tz, backup_dir=backup_dir, keep_delivered_days=keep_delivered_days,
                       node_days=node_days, config=config, carrier_names=carrier_names)
    return writer.write(store)


class LogWriter:
    """Writes the Tracking Log as of one ``now``, as often as asked, touching only what changed.

    Why: a refresh of thousands of waybills can bring the log up to date in rounds while it is
    still querying, so little is left once the last answer arrives. The writer remembers what the
    sheets hold after its own writes (read once; read again if someone else changed the file), which
    nodes are already listed, and each waybill's planned time with the node count it came from.
    One writer is used by one thread at a time; every round reads the store afresh.
    """

    def __init__(self, path: Path, now: datetime, tz: tzinfo, *, backup_dir: Path | None,
                 keep_delivered_days: int = KEEP_DELIVERED_DAYS, node_days: int = NODE_DAYS,
                 config: AnomalyConfig | None = None, carrier_names: dict[str, str] | None = None) -> None:
        self.path, self.now, self.tz = path, now, tz
        self.backup_dir = backup_dir
        self.keep_days, self.node_days = keep_delivered_days, node_days
        self.cfg = config or AnomalyConfig()
        self.names = carrier_names or {}
        self.backed_up = False
        self._signature: tuple | None = None
        # 跟踪总览 as written: header row, columns, [(waybill, {key: value})] in sheet order, last used row
        self._ov: dict[str, Any] | None = None
        self._planned: dict[str, tuple[tuple, datetime | None]] = {}
        # 节点明细: header row, columns, keys listed, next free row, highest event id seen
        self._nd: dict[str, Any] | None = None
        self.rounds = 0

    # -- the file -----------------------------------------------------------------------------------
    def _file_signature(self) -> tuple:
        st = self.path.stat()
        return (st.st_size, st.st_mtime_ns)

    def _write_cells(self, sheet: str, header_row: int, cells: dict[tuple[int, int], object]) -> None:
        from xl_addin.adapters.workbook.xml_patch import write_cells

        # the first write of a run keeps a backup of the file as it was; later rounds only add to it
        write_cells(self.path, sheet, header_row, {}, cells, backup_dir=None if self.backed_up else self.backup_dir,
                    append_table_rows=True)
        self.backed_up = True
        self._signature = self._file_signature()

    def write(self, store: Store, *, overview: bool = True) -> LogResult:
        """One round. ``overview=False`` (a round while queries still run) appends the new nodes and
        only prepares the overview's planned times, leaving its one rewrite to the last round."""
        from xl_addin.adapters.workbook.files import assert_not_open_in_excel

        res = LogResult()
        if not self.path.exists():
            raise WorkbookError("找不到实时物流跟踪记录表", "请运行 xl-logistics init --force 重新生成模板", path=str(self.path))
        assert_not_open_in_excel(self.path)
        if self._signature != self._file_signature():  # first round, or changed by someone else: read again
            self._ov = self._nd = None
        self.rounds += 1
        if overview:
            self._write_overview(store, res)
        else:
            self._overview_rows(store)
        self._write_nodes(store, res)
        res.written = True
        return res

    # -- 跟踪总览 ----------------------------------------------------------------------------------------
    def _read_overview(self) -> dict[str, Any]:
        from xl_addin.adapters.workbook.reader import read_sheet

        ov = read_sheet(self.path, TRACKING_OVERVIEW_SHEET)
        rows, seen = [], set()
        for r in ov.rows:  # in sheet order; a waybill listed twice keeps its first row
            w = r.values.get("waybill_no")
            w = str(w).strip() if w else ""
            rows.append((w if w and w not in seen else "", r.row, {k: r.values.get(k) for k in ov.columns}))
            if w:
                seen.add(w)
        return {"sheet": ov.sheet, "header_row": ov.header_row, "columns": dict(ov.columns), "rows": rows,
                "last_row": max((r.row for r in ov.rows), default=ov.header_row)}

    def _write_overview(self, store: Store, res: LogResult) -> None:
        if self._ov is None:
            self._ov = self._read_overview()
        ov = self._ov
        wanted = self._overview_rows(store)
        by_no = {r["waybill_no"]: r for r in wanted}
        ordered, seen = [], set()
        for w, _row, _values in ov["rows"]:
            if w in by_no and w not in seen:
                ordered.append(by_no[w])
                seen.add(w)
        ordered += [r for r in wanted if r["waybill_no"] not in seen]
        first = ov["header_row"] + 1
        columns = ov["columns"]
        old = {row: values for _w, row, values in ov["rows"]}
        cells: dict[tuple[int, int], object] = {}
        for i, row in enumerate(ordered):
            have = old.get(first + i, {})
            for key, col in columns.items():
                if key in row and not _same_cell(have.get(key), row[key]):
                    cells[(first + i, col)] = row[key]
        for r in range(first + len(ordered), ov["last_row"] + 1):  # rows left over are cleared
            have = old.get(r, {})
            for key, col in columns.items():
                if have.get(key) is not None:
                    cells[(r, col)] = None
        if cells:
            self._write_cells(ov["sheet"], ov["header_row"], cells)
        ov["rows"] = [(row["waybill_no"], first + i, {k: row.get(k) for k in columns}) for i, row in enumerate(ordered)]
        ov["last_row"] = first + len(ordered) - 1 if ordered else ov["header_row"]
        res.overview_rows = len(ordered)

    def _overview_rows(self, store: Store) -> list[dict[str, Any]]:
        ts = TrackingStore(store)
        tz, now = self.tz, self.now
        anomalies: dict[str, list[str]] = {}
        for a in ts.anomalies(open_only=True):
            anomalies.setdefault(a["waybill_no"], []).append(a["reason"])
        statuses = ts.all_status()
        leave_before = now - timedelta(days=self.keep_days)
        keep = [s for s in statuses
                if not (s["is_final"] and s["final_at"] and from_iso(s["final_at"]) < leave_before
                        and s["waybill_no"] not in anomalies)]
        # the planned time depends only on the nodes and the binding: recompute it where they changed
        counts = TrackingLogReads(store).node_counts()
        stamps = {s["waybill_no"]: (counts.get(s["waybill_no"]), s["bound_at"], s["expected_delivery"]) for s in keep}
        stale = [w for w, stamp in stamps.items() if (self._planned.get(w) or (None,))[0] != stamp]
        events = ts.events_of(stale) if stale else {}
        by_no = {s["waybill_no"]: s for s in keep}
        for w in stale:
            s = by_no[w]
            j = Journey(w, from_iso(s["bound_at"]),
                        date.fromisoformat(s["expected_delivery"]) if s["expected_delivery"] else None, events.get(w, []))
            self._planned[w] = (stamps[w], next_key_node_planned(j, self.cfg, tz=tz))
        rows = []
        for s in keep:
            w = s["waybill_no"]
            planned = self._planned[w][1]
            who = " ".join(p for p in (s["outlet"], s["courier"]) if p) or None
            problem = query_problem(s)
            reasons = anomalies.get(w, []) + ([f"最近查询失败: {problem}"] if problem else [])
            rows.append({
                "order_no": s["order_no"], "waybill_no": w,
                "carrier": self.names.get(w) or s["carrier_code"],
                "status": s["status_zh"] or ("查询失败" if problem else "待查询"), "last_node": s["last_context"],
                "last_node_time": local(s["last_time"], tz), "outlet": who,
                "next_node_planned": local(planned, tz),
                "next_node_actual": local(s["final_at"], tz),
                "anomaly": "是" if w in anomalies else "否",
                "anomaly_reason": "；".join(reasons) or None,
                "last_checked": local(s["last_checked_at"], tz), "next_check": local(s["next_check_at"], tz),
            })
        return rows

    # -- 节点明细 ----------------------------------------------------------------------------------------
    def _write_nodes(self, store: Store, res: LogResult) -> None:
        from xl_addin.adapters.workbook.reader import read_sheet

        tz = self.tz
        since = self.now - timedelta(days=self.node_days)
        until = self.now + timedelta(days=1)
        pruned = 0
        kept_rows: list[dict[str, Any]] = []
        if self._nd is None:
            nd = read_sheet(self.path, TRACKING_NODES_SHEET)
            since_local = local(since, tz)
            existing = set()
            for r in nd.rows:
                v = r.values
                when = v.get("actual_time")
                if isinstance(when, datetime) and when < since_local:
                    pruned += 1
                    continue
                existing.add(_node_key(v.get("waybill_no"), when, v.get("status_note")))
                kept_rows.append({k: v.get(k) for k in nd.columns})
            self._nd = {"sheet": nd.sheet, "header_row": nd.header_row, "columns": dict(nd.columns),
                        "keys": existing, "next_row": max((r.row for r in nd.rows), default=nd.header_row) + 1,
                        "last_old": max((r.row for r in nd.rows), default=nd.header_row), "top_id": None}
        state = self._nd
        # nodes of the window not listed yet: keys first (cheap), whole nodes only for the missing ones
        reads = TrackingLogReads(store)
        missing: list[int] = []
        top = state["top_id"]
        for eid, w, when, context in reads.node_keys_between(since, until, state["top_id"]):
            top = eid if top is None or eid > top else top
            if _node_key(w, local(when, tz), context) not in state["keys"]:
                missing.append(eid)
        state["top_id"] = top
        events = _events_by_id(store, missing)
        orders = reads.orders_by_waybill() if events else {}
        new_rows = []
        for e in events:
            row = _node_row(e, orders.get(e.waybill_no), tz)
            key = _node_key(row["waybill_no"], row["actual_time"], row["status_note"])
            if key not in state["keys"]:
                state["keys"].add(key)
                new_rows.append(row)
        columns = state["columns"]
        first = state["header_row"] + 1
        if pruned:
            rows = kept_rows + new_rows
            cells = _cells_for(rows, columns, first)
            for r in range(first + len(rows), state["last_old"] + 1):
                for col in columns.values():
                    cells[(r, col)] = None
            state["next_row"] = first + len(rows)
        else:
            cells = _cells_for(new_rows, columns, state["next_row"])
            state["next_row"] += len(new_rows)
        if cells:
            self._write_cells(state["sheet"], state["header_row"], cells)
        res.nodes_added, res.nodes_pruned = len(new_rows), pruned


def _same_cell(have: Any, want: Any) -> bool:
    """Whether a cell already shows ``want`` (read-back numbers and times may differ in type only)."""
    if have == want:
        return True
    if isinstance(want, str) and isinstance(have, str):
        return have == want
    return False


def _events_by_id(store: Store, ids: list[int]) -> list[TrackingEvent]:
    """Whole nodes for these ids, in the order the log lists them (time, waybill, id)."""
    from xl_addin.adapters.store.tracking import TrackingStore

    return TrackingStore(store).events_by_id(ids)


# ---------------------------------------------------------------- daily export

def export_day(store: Store, day: date, tz: tzinfo, out_dir: Path) -> tuple[Path, int]:
    """That day's nodes (desk time) into a dated archive workbook; returns (path, rows)."""
    from xl_addin.adapters.workbook.tracking_export_book import write_day_export

    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    ts = TrackingStore(store)
    events = ts.events_between(start, start + timedelta(days=1))
    status = {s["waybill_no"]: s for s in ts.all_status()}
    rows = []
    for e in events:
        st = status.get(e.waybill_no) or {}
        rows.append({**_node_row(e, st.get("order_no"), tz), "status_zh": st.get("status_zh")})
    path = out_dir / f"实时物流跟踪记录-{day.isoformat()}.xlsx"
    write_day_export(path, rows)
    return path, len(events)
