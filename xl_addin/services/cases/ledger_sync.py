"""Two-way sync of the Exception Ledger workbook (《异常订单处理台账》) with the state store, by case id.

For every shared field the sync compares three values: the workbook's, the store's, and the value
both agreed on at the last sync (``case_ledger_base``). Changed only in the workbook → read into
the store (through the same rules as ``case-update``, with history); changed only in the store →
written to the cell; changed on both sides to different values → a conflict: neither side is
touched, the row's SLA说明 shows it and the sync reports it until someone makes them agree.
Rows staff add without a case id become new cases. The history sheet gets every change once.

A kill between a store write and the workbook write that goes with it repeats nothing on the next run:
a staff row's case is attached to a key of the row's content in the transaction that creates it
(``case_sources``), so a row whose id never reached the sheet is given that case, not a second one; and
history rows already in the sheet that the store had not yet marked as written are marked, not appended again.

A workbook open in Excel is not touched at all: the store keeps everything and the next sync
catches up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.store import Store, from_iso
from xl_addin.adapters.workbook.books import CASE_HISTORY_SHEET, EXCEPTION_CASES_SHEET
from xl_addin.adapters.workbook.schema import PRODUCT, SHARED
from xl_addin.checkpoints import checkpoint
from xl_addin.domain import cases as dc
from xl_addin.domain.sla import SlaConfig, evaluate_case, sla_status
from xl_addin.errors import UserError, WorkbookError, WorkbookLocked
from xl_addin.services.cases import case_handling as sc

LEDGER_SHEET = EXCEPTION_CASES_SHEET
SYNC_FIELDS = tuple(c.key for c in LEDGER_SHEET.columns if c.owner == SHARED and c.key in dc.EDITABLE_FIELDS)
LEDGER_BY = "台账"


@dataclass
class SyncResult:
    path: str
    written: bool = False
    message: str = ""
    rows_read: int = 0
    applied: list[dict[str, Any]] = field(default_factory=list)     # staff edits taken into the store
    pushed: int = 0                                                  # cells written from the store
    appended: list[str] = field(default_factory=list)                # case ids added as new rows
    created: list[str] = field(default_factory=list)                 # cases created from new workbook rows
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    history_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def canon(key: str, value: Any, tz: ZoneInfo) -> str:
    """How a field's value compares across workbook and store: minutes for times, cents for money."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if key in dc.TIME_FIELDS:
        if isinstance(value, datetime):
            moment = value.astimezone(tz) if value.tzinfo else value
            return moment.strftime("%Y-%m-%d %H:%M")
        try:
            return canon(key, sc.parse_time(value, tz), tz)
        except UserError:
            return str(value).strip()
    if key in dc.MONEY_FIELDS:
        try:
            return str(Decimal(str(value).replace("¥", "").replace(",", "").strip()).quantize(Decimal("0.01")))
        except InvalidOperation:
            return str(value).strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if key == "type":
        return dc.TYPE_ALIASES.get(text.casefold(), text)
    return text


def _cell_value(key: str, value: Any, tz: ZoneInfo) -> Any:
    if value is None or value == "":
        return None
    if key in dc.TIME_FIELDS and isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    if key in dc.MONEY_FIELDS:
        return float(Decimal(str(value)))
    return str(value)


def _row_problem(result: SyncResult, row: int, case_id: str | None, message: str, hint: str = "") -> None:
    result.problems.append({"row": row, "case_id": case_id, "message": message, "hint": hint})


def sync_ledger(store: Store, path: Path, now: datetime, *, tz: ZoneInfo = sc.CHINA, backup_dir: Path | None = None,
                config: SlaConfig | None = None, by: str = LEDGER_BY) -> SyncResult:
    from xl_addin.adapters.workbook.files import assert_not_open_in_excel
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    path = Path(path)
    result = SyncResult(path=str(path))
    if not path.exists():
        raise WorkbookError("找不到异常订单处理台账", "请先运行 xl-logistics init 生成台账，或用 --desk 指定台账", path=str(path))
    try:
        assert_not_open_in_excel(path)
    except WorkbookLocked as exc:
        result.message = f"{exc.message}；本次未同步，数据都在状态库中，关闭工作簿后再同步"
        return result

    table = read_sheet(path, LEDGER_SHEET)
    cs = CaseStore(store)
    base = cs.ledger_base()
    cases = {c["case_id"]: c for c in cs.all()}
    columns = dict(table.columns)
    headers: dict[int, str] = {}
    next_col = table.last_column + 1
    for col in LEDGER_SHEET.columns:
        if col.key not in columns:
            columns[col.key] = next_col
            headers[next_col] = col.label
            next_col += 1
    present = [f for f in SYNC_FIELDS if f in table.columns]
    cells: dict[tuple[int, int], Any] = {}
    new_base: dict[str, dict[str, str]] = {}
    conflicts_by_case: dict[str, list[str]] = {}
    row_of: dict[str, int] = {}
    result.rows_read = len(table.rows)
    with_id = {canon("case_id", r.values.get("case_id"), tz) for r in table.rows} - {""}
    staff_keys = _staff_row_keys(table.rows, tz)

    for rec in table.rows:
        cid = canon("case_id", rec.values.get("case_id"), tz)
        if not cid:
            cid = _create_from_row(store, rec, now, tz, result, staff_keys[rec.row], with_id)
            if not cid:
                continue
            cases[cid] = cs.get(cid)  # type: ignore[assignment]
            cells[(rec.row, columns["case_id"])] = cid
            base[cid] = {f: canon(f, rec.values.get(f), tz) for f in present}  # the store fills in the rest
        if cid not in cases:
            _row_problem(result, rec.row, cid, f"案件编号 {cid} 在状态库中不存在", "请勿手改案件编号；新案件请留空编号")
            continue
        if cid in row_of:
            _row_problem(result, rec.row, cid, f"案件编号 {cid} 重复出现（第 {row_of[cid]} 行已有）", "请删除重复的行")
            continue
        row_of[cid] = rec.row
        case = cases[cid]
        had_base = cid in base
        b = base.get(cid, {})
        agreed: dict[str, str] = dict(b)
        edits: dict[str, Any] = {}
        for f in present:
            w = canon(f, rec.values.get(f), tz)
            s = canon(f, case.get(f), tz)
            bf = b.get(f, s) if had_base else s
            if w == s:
                agreed[f] = s
            elif s == bf:
                edits[f] = rec.values.get(f)
            elif w == bf:
                agreed[f] = s
                cells[(rec.row, columns[f])] = _cell_value(f, case.get(f), tz)
            else:
                result.conflicts.append({"case_id": cid, "row": rec.row, "field": f,
                                         "label": sc.FIELD_ZH.get(f, f), "workbook": w, "store": s, "base": bf})
                conflicts_by_case.setdefault(cid, []).append(f"{sc.FIELD_ZH.get(f, f)}(台账「{w}」/系统「{s}」)")
        if edits:
            applied = _apply_edits(store, case, edits, now, tz, by, rec.row, result)
            case = cs.get(cid)  # type: ignore[assignment]
            cases[cid] = case
            for f in applied:
                agreed[f] = canon(f, case.get(f), tz)
                if canon(f, rec.values.get(f), tz) != agreed[f]:
                    cells[(rec.row, columns[f])] = _cell_value(f, case.get(f), tz)
            for f, v in dict(case).items():  # side effects (status moved, closed_at set) go back to the sheet
                if f in present and f not in edits and canon(f, v, tz) != canon(f, rec.values.get(f), tz) \
                        and f not in {c["field"] for c in result.conflicts if c["case_id"] == cid}:
                    cells[(rec.row, columns[f])] = _cell_value(f, v, tz)
                    agreed[f] = canon(f, v, tz)
        new_base[cid] = agreed

    last = max([r.row for r in table.rows], default=table.header_row)
    for cid, case in cases.items():
        if cid in row_of:
            continue
        last += 1
        row_of[cid] = last
        result.appended.append(cid)
        cells[(last, columns["case_id"])] = cid
        for f in SYNC_FIELDS:
            value = _cell_value(f, case.get(f), tz)
            if value is not None:
                cells[(last, columns[f])] = value
        new_base[cid] = {f: canon(f, case.get(f), tz) for f in SYNC_FIELDS}

    for cid, row in row_of.items():
        status, detail = sla_status(evaluate_case(cases[cid], now, config))
        if cid in conflicts_by_case:
            detail = "⚠ 冲突待处理: " + "；".join(conflicts_by_case[cid]) + "｜" + detail
        cells[(row, columns["sla_status"])] = status
        cells[(row, columns["sla_detail"])] = detail
    result.pushed = len(cells)

    try:
        write_cells(path, table.sheet, table.header_row, headers, cells, backup_dir=backup_dir,
                    append_table_rows=bool(result.appended) or any(c[1] in headers for c in cells))
        result.history_rows = _append_history(store, path, tz, backup_dir)
    except WorkbookLocked as exc:
        result.message = f"{exc.message}；已读入的修改保存在状态库中，关闭工作簿后再同步"
        return result
    with store.transaction():
        cs.save_ledger_base(new_base, now)
    result.written = True
    result.message = "台账已同步"
    return result


_STAFF_KEY_FIELDS = ("type", "description", "waybill_no", "order_no", "found_by", "found_at", "severity", "evidence")


def _staff_row_keys(rows, tz: ZoneInfo) -> dict[int, str]:
    """{row: key} for the rows without a case id: their content (as compared), and which of the rows with
    that content it is, so the key stays the same from one run to the next while the row does."""
    seen: Counter[str] = Counter()
    out: dict[int, str] = {}
    for rec in rows:
        if canon("case_id", rec.values.get("case_id"), tz):
            continue
        text = json.dumps([canon(k, rec.values.get(k), tz) for k in _STAFF_KEY_FIELDS], ensure_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        seen[digest] += 1
        out[rec.row] = f"ledger-row:{digest}:{seen[digest]}"
    return out


def _create_from_row(store: Store, rec, now: datetime, tz: ZoneInfo, result: SyncResult, key: str,
                     with_id: set[str]) -> str | None:
    v = rec.values
    if not any(v.get(k) for k in ("waybill_no", "order_no", "type", "description")):
        return None
    earlier = CaseStore(store).case_of_source(key)
    if earlier is not None and CaseStore(store).get(earlier) is not None:
        if earlier not in with_id:
            # made from this row by a run stopped before it wrote the id into the row: this row is its row
            result.created.append(earlier)
            return earlier
        # an earlier sync joined this row to the open case another row shows: its history has it once
        _duplicate_row(result, rec.row, earlier)
        return None
    try:
        found = sc.parse_time(v.get("found_at"), tz) if v.get("found_at") else None
        case = sc.report_exception(
            store, now, type=str(v.get("type") or ""), description=str(v.get("description") or ""),
            by=str(v.get("found_by") or LEDGER_BY), waybill_no=canon("waybill_no", v.get("waybill_no"), tz) or None,
            order_no=canon("order_no", v.get("order_no"), tz) or None, evidence=v.get("evidence"),
            source="ledger", severity=v.get("severity") or None, found_at=found, tz=tz, source_key=key)
    except UserError as exc:
        _row_problem(result, rec.row, None, f"新增案件未能登记: {exc.message}", exc.hint or "")
        return None
    if case.get("duplicate"):
        _duplicate_row(result, rec.row, case["case_id"])
        return None
    result.created.append(case["case_id"])
    checkpoint("ledger:staff_case_created")  # tests kill here: the case is stored, its id not yet in the row
    return case["case_id"]


def _duplicate_row(result: SyncResult, row: int, case_id: str) -> None:
    _row_problem(result, row, case_id, f"该运单已有同类型未结案件 {case_id}，本行已记入其历史",
                 "请删除本行，在原案件行处理")


def _apply_edits(store: Store, case: dict[str, Any], edits: dict[str, Any], now: datetime, tz: ZoneInfo,
                 by: str, row: int, result: SyncResult) -> list[str]:
    """Staff edits of one row into the store; bad values are reported per field and left for the next sync."""
    good: dict[str, Any] = {}
    for f, v in edits.items():
        try:
            sc.coerce(f, v, tz, now)
            good[f] = v
        except UserError as exc:
            _row_problem(result, row, case["case_id"], f"{sc.FIELD_ZH.get(f, f)}: {exc.message}", exc.hint or "")
    for attempt in range(2):
        try:
            planned = sc.plan_changes(case, good, now, tz)
            break
        except UserError as exc:
            _row_problem(result, row, case["case_id"], exc.message, exc.hint or "")
            if attempt or not ({"closed_at", "case_status"} & set(good)):
                return []
            good = {k: v for k, v in good.items() if k not in ("closed_at", "case_status")}
    else:  # pragma: no cover
        return []
    who = by
    if planned:
        with store.transaction():
            sc.apply_changes(store, now, case, planned, who, origin="ledger", note=f"台账第{row}行")
    for f in planned:
        result.applied.append({"case_id": case["case_id"], "field": f, "label": sc.FIELD_ZH.get(f, f),
                               "value": canon(f, planned[f], tz)})
    return list(good)


_HISTORY_KEYS = ("case_id", "changed_at", "changed_by", "field", "old_value", "new_value", "note")


def _history_cells(h: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    return {"case_id": h["case_id"], "changed_at": _cell_value("closed_at", from_iso(h["changed_at"]), tz),
            "changed_by": h["changed_by"], "field": h["field"],
            "old_value": _show_time(h["old_value"], tz), "new_value": _show_time(h["new_value"], tz),
            "note": h["note"] or None}


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _history_key(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(_shown(values.get(k)) for k in _HISTORY_KEYS)


def _already_in_sheet(pending: list[dict[str, Any]], written: list[dict[str, Any]], rows, tz: ZoneInfo) -> set[int]:
    """The ids of pending entries whose rows the sheet holds already: a run appended them and was stopped
    before the store marked them. Rows are counted by what they show: the sheet's rows of each kind, less
    the entries marked as written, are the pending entries of that kind already there."""
    extra = Counter(_history_key(r.values) for r in rows)
    extra.subtract(_history_key(_history_cells(h, tz)) for h in written)
    found: set[int] = set()
    for h in pending:
        key = _history_key(_history_cells(h, tz))
        if extra[key] > 0:
            extra[key] -= 1
            found.add(h["id"])
    return found


def _append_history(store: Store, path: Path, tz: ZoneInfo, backup_dir: Path | None) -> int:
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    cs = CaseStore(store)
    pending = cs.history_not_in_ledger()
    if not pending:
        return 0
    table = read_sheet(path, CASE_HISTORY_SHEET)
    there = _already_in_sheet(pending, cs.history_in_ledger(), table.rows, tz) if table.rows else set()
    cols = table.columns
    last = max([r.row for r in table.rows], default=table.header_row)
    cells: dict[tuple[int, int], Any] = {}
    for i, h in enumerate((h for h in pending if h["id"] not in there), start=1):
        r = last + i
        for k, v in _history_cells(h, tz).items():
            if k in cols and v is not None:
                cells[(r, cols[k])] = v
    if cells:
        write_cells(path, table.sheet, table.header_row, {}, cells, backup_dir=backup_dir, append_table_rows=True)
    checkpoint("ledger:history_appended")  # tests kill here: the rows are in the sheet, not yet marked
    cs.mark_history_in_ledger(h["id"] for h in pending)
    return len(pending) - len(there)


def _show_time(text: str | None, tz: ZoneInfo) -> str | None:
    """History values that are stored times are shown in desk time, to the minute."""
    if text and len(text) >= 19 and text[4] == "-" and text[10] == "T":
        try:
            return datetime.fromisoformat(text).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return text
    return text


def product_columns() -> tuple[str, ...]:
    return tuple(c.key for c in LEDGER_SHEET.columns if c.owner == PRODUCT)
