"""The monthly archive (stage 5): a month's completed orders leave the live workbooks, nothing is lost.

Which orders: those completed (signed, no open case) in the month, not archived before. Their
order rows, follow-ups, bindings (with re-binding history), tracking nodes and exception cases
with history are written as workbooks under ``archive/YYYY-MM/`` plus ``manifest.json`` (row
counts and SHA-256 per file). The steps, each safe to be killed after:

1. write the workbooks (temporary names, renamed when complete);
2. write the manifest (state ``written``) — the commit point; before it the archive does not
   exist and every row is only live;
3. read the archive back and check it against the state store;
4. remove the archived rows from the live workbooks, one atomic replace per workbook, noting
   each in the manifest;
5. mark the manifest ``complete``.

A run that finds a ``written`` manifest resumes at step 3 with the rows the manifest names, so a
kill leaves rows live *and* archived only until the next run. A ``complete`` month is left alone.

Step 4 has two ways to remove rows. By default the workbook file is rewritten (one streaming pass
per sheet). When the book is open in Excel (the ribbon's 月度归档 passes ``open_book`` through
``removal_through``) Excel itself deletes the rows — one ``Range.Delete`` per contiguous block,
bottom-up — and saves the book. Either way the rows to remove are found by their key (订单编号,
物流单号, 案件编号) in the sheet as it is now, never by a remembered row number, so a resumed run
removes only what is still there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Callable

from xl_addin.checkpoints import checkpoint
from xl_addin.adapters.store.followups import ClosingStore
from xl_addin.adapters.store.store import Store
from xl_addin.domain.closing import month_bounds, month_is_over, parse_month
from xl_addin.services.closing.archive_in_excel import open_book_lookup, remove_open_book_rows
from xl_addin.errors import UserError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
WRITTEN, COMPLETE = "written", "complete"


class ArchiveRefused(UserError):
    """The month cannot be archived yet (not over, open cases, or the archive does not check out)."""


def _checkpoint(name: str) -> None:
    checkpoint(f"archive:{name}")  # tests kill or pause the archive here (xl_addin.checkpoints)


def _local(moment: Any, tz: tzinfo) -> Any:
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)
    return moment


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- what a month holds

# the store's extra facts an archive keeps beside the live sheets' columns (Chinese labels)
ORDER_EXTRA = {"signed_at": "签收时间", "completed_at": "完成时间"}
BINDING_EXTRA = {"is_current": "当前绑定", "decided_by": "决定人", "replaced_at": "换绑时间", "replaced_by": "换绑人",
                 "replace_reason": "换绑原因", "replaced_with": "换绑为", "review_fingerprint": "审核指纹"}
NODE_EXTRA = {"carrier_code": "物流商代码", "status": "状态", "sub_status": "子状态", "raw_code": "物流商状态码",
              "raw_status_name": "物流商状态名", "location": "地点", "area_code": "行政区划代码",
              "area_name": "行政区划", "courier": "快递员", "event_key": "节点指纹"}
CASE_EXTRA = {"evidence_sha256": "凭证SHA-256", "origin": "来源", "source": "来源"}
KEY_LABELS = {"order_no": "订单编号", "waybill_no": "物流单号", "case_id": "案件编号"}


def _evidence_sha256(desk, evidence: Any) -> str | None:
    """SHA-256 of an evidence file named by a case (a path, absolute or inside the desk); None when it is not a file."""
    if not evidence or not isinstance(evidence, str):
        return None
    out = []
    for part in evidence.replace("；", ";").split(";"):
        part = part.strip().strip('"')
        if not part or "://" in part:
            continue
        p = Path(part)
        p = p if p.is_absolute() else Path(desk.root) / p
        try:
            if p.is_file():
                out.append(_sha256(p))
        except OSError:
            continue
    return " ".join(out) or None


def _gather(desk, store: Store, orders: list[str], tz: tzinfo, *, live_orders: bool = True) -> dict[str, list]:
    """{file stem: [ArchiveSheet]} for the archived orders: the live order rows whole, the rest from the store.

    ``live_orders=False`` builds the order rows from the store only (the check after writing needs only keys)."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.store.waybills import WaybillStore
    from xl_addin.adapters.workbook.archive_book import ArchiveSheet, read_live_sheet, sheet_from_records
    from xl_addin.adapters.workbook.books import (
        BINDINGS_SHEET, CASE_HISTORY_SHEET, DATETIME_FORMAT, EXCEPTION_CASES_SHEET, FOLLOWUPS_SHEET, ORDERS_SHEET,
        TRACKING_NODES_SHEET,
    )

    path = desk.workbook("orders")
    live = read_live_sheet(path, ORDERS_SHEET, "order_no", orders) if live_orders and path.exists() else None
    if live is None:
        headers = [c.label for c in ORDERS_SHEET.columns]
        live_rows: dict[str, list[Any]] = {}
        formats = [c.number_format if c.number_format != "@" else None for c in ORDERS_SHEET.columns]
    else:
        headers, live_rows, formats = list(live.headers), live.rows, list(live.formats)
    label_col = {c.key: headers.index(c.label) for c in ORDERS_SHEET.columns if c.label in headers}
    for k, label in ORDER_EXTRA.items():
        headers.append(label)
        formats.append(DATETIME_FORMAT)
        label_col[k] = len(headers) - 1
    if "order_status" not in label_col:
        headers.append(ORDERS_SHEET.column("order_status").label)
        formats.append(None)
        label_col["order_status"] = len(headers) - 1
    order_sheet = ArchiveSheet(ORDERS_SHEET.name, headers, formats)
    records = OrderRecords(store)
    closings = ClosingStore(store)
    for no in orders:
        row = list(live_rows.get(no) or [])
        row += [None] * (len(headers) - len(row))
        if no not in live_rows:
            rec = records.get(no)
            for c in ORDERS_SHEET.columns:
                if c.key in label_col and rec is not None:
                    row[label_col[c.key]] = rec.fields.get(c.key)
            row[label_col["order_no"]] = no
        row[label_col["order_status"]] = "已完成"
        c = closings.closing(no) or {}
        row[label_col["signed_at"]] = _local(c.get("signed_at"), tz)
        row[label_col["completed_at"]] = _local(c.get("completed_at"), tz)
        order_sheet.rows.append(row)
    followups = []
    for f in closings.followups(orders):
        followups.append({"order_no": f["order_no"], "signed_at": _local(f["signed_at"], tz),
                          "due_at": _local(f["due_at"], tz), "contacted_at": _local(f["contacted_at"], tz),
                          "contacted_by": f["contacted_by"],
                          "goods_intact": None if f["goods_intact"] is None else ("是" if f["goods_intact"] else "否"),
                          "speed_satisfied": None if f["speed_ok"] is None else ("是" if f["speed_ok"] else "否"),
                          "score": f["score"], "comment": f["comment"],
                          "followup_status": "已完成" if f["contacted_at"] else "未回访"})
    wanted = set(orders)
    ws = WaybillStore(store)
    bindings, waybills = [], []
    for b in [b for b in ws.all_current() if b.order_no in wanted] + [b for b in ws.history() if b.order_no in wanted]:
        d = b.as_dict()
        row = {k: _local(v, tz) for k, v in d.items() if k not in ("source", "review_status", "id")}
        row["source"], row["review_status"] = d.get("source_label"), d.get("review_label")
        row.pop("source_label", None)
        row.pop("review_label", None)
        row["is_current"] = "是" if b.is_current else "否"
        row["expected_estimated"] = None if d.get("expected_estimated") is None else (
            "是" if d.get("expected_estimated") else "否")
        bindings.append(row)
        waybills.append(b.waybill_no)
    nodes = []
    events = TrackingStore(store).events_of(waybills)
    order_of = {b["waybill_no"]: b["order_no"] for b in bindings}
    for w in dict.fromkeys(waybills):
        for e in events.get(w, []):
            nodes.append({"waybill_no": w, "order_no": order_of.get(w), "node_name": (e.extra or {}).get("node_name"),
                          "actual_time": _local(e.time, tz), "outlet": e.outlet or e.courier,
                          "status_note": e.context, "evidence": (e.extra or {}).get("evidence"), "source": e.source,
                          "carrier_code": e.carrier_code, "status": e.status.value, "sub_status": e.sub_status.value,
                          "raw_code": e.raw_code, "raw_status_name": e.raw_status_name, "location": e.location,
                          "area_code": e.area_code, "area_name": e.area_name, "courier": e.courier,
                          "event_key": e.event_key})
    cases, history = [], []
    try:
        from xl_addin.adapters.store.cases import CaseStore
    except ImportError:
        CaseStore = None  # noqa: N806 - the ledger is optional
    if CaseStore is not None:
        cstore = CaseStore(store)
        for no in orders:
            for c in cstore.cases_for_order(no):
                row = {k: _local(v, tz) for k, v in c.items() if k != "status"}
                row["evidence_sha256"] = _evidence_sha256(desk, c.get("evidence"))
                cases.append(row)
                history += [{k: _local(v, tz) for k, v in h.items() if k != "id"} for h in cstore.history(c["case_id"])]
    return {
        "订单确认单": [order_sheet, sheet_from_records(FOLLOWUPS_SHEET.name, FOLLOWUPS_SHEET, followups)],
        "物流单号绑定表": [sheet_from_records(BINDINGS_SHEET.name, BINDINGS_SHEET, bindings, BINDING_EXTRA,
                                              extra_formats={"replaced_at": DATETIME_FORMAT})],
        "物流跟踪节点": [sheet_from_records(TRACKING_NODES_SHEET.name, TRACKING_NODES_SHEET, nodes, NODE_EXTRA)],
        "异常订单处理台账": [sheet_from_records(EXCEPTION_CASES_SHEET.name, EXCEPTION_CASES_SHEET, cases, CASE_EXTRA),
                             sheet_from_records(CASE_HISTORY_SHEET.name, CASE_HISTORY_SHEET, history,
                                                {"origin": "来源"})],
    }


def _write_book(path: Path, sheets: list) -> dict[str, int]:
    from xl_addin.adapters.workbook.archive_book import write_archive_book

    return write_archive_book(path, sheets)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_archive_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """An archive workbook read back: {sheet: [{header label: value}]} (the header row gives the labels)."""
    from xl_addin.adapters.workbook.archive_book import read_archive_book

    return read_archive_book(path)


def _key_text(v: Any) -> str:
    if type(v) is float and v.is_integer():
        v = int(v)
    return str(v if v is not None else "").strip()


# ---------------------------------------------------------------- checks

def verify_archive(folder: Path, loaded: dict[str, Any] | None = None) -> list[str]:
    """Problems found re-checking files against the manifest (empty when it checks out).

    ``loaded`` (when given) receives each file's rows as read, so a caller need not read them again."""
    mpath = folder / MANIFEST
    if not mpath.exists():
        return [f"{folder} 没有归档清单 {MANIFEST}"]
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    problems = []
    for name, info in manifest["files"].items():
        p = folder / name
        if not p.exists():
            problems.append(f"缺少文件 {name}")
            continue
        if _sha256(p) != info["sha256"]:
            problems.append(f"{name} 的 SHA-256 与清单不符（文件被改动或损坏）")
            continue
        rows = read_archive_rows(p)
        if loaded is not None:
            loaded[name] = rows
        counts = {k: len(v) for k, v in rows.items()}
        if counts != info["rows"]:
            problems.append(f"{name} 的行数 {counts} 与清单 {info['rows']} 不符")
    return problems


def _check_against_store(folder: Path, manifest: dict[str, Any], expected: dict[str, list],
                         loaded: dict[str, Any]) -> list[str]:
    """Problems found comparing the written files with the store; ``loaded`` receives the files' rows."""
    problems = verify_archive(folder, loaded)
    if problems:
        return problems
    for stem, sheets in expected.items():
        got = loaded[f"{stem}-{manifest['month']}.xlsx"]
        for sheet in sheets:
            rows = got.get(sheet.name, [])
            if len(rows) != len(sheet.rows):
                problems.append(f"{stem}/{sheet.name}: 归档 {len(rows)} 行，状态库 {len(sheet.rows)} 行")
            cols = [sheet.column(label) for label in KEY_LABELS.values()]
            want = sorted(tuple(_key_text(r[c]) if c is not None else "" for c in cols) for r in sheet.rows)
            have = sorted(tuple(_key_text(r.get(label, r.get(key))) if c is not None else ""
                                for (key, label), c in zip(KEY_LABELS.items(), cols)) for r in rows)
            if want != have:
                problems.append(f"{stem}/{sheet.name}: 归档内容与状态库不一致")
    return problems


# ---------------------------------------------------------------- removal from the live workbooks

# live book → [(sheet name, key column, which manifest key set it belongs to)]
LIVE_SHEETS = {
    "orders": [("订单确认单", "order_no", "orders"), ("满意度回访", "order_no", "orders")],
    "bindings": [("绑定表", "order_no", "orders"), ("绑定历史", "order_no", "orders")],
    "tracking": [("跟踪总览", "waybill_no", "waybills"), ("节点明细", "waybill_no", "waybills")],
    "exceptions": [("异常台账", "case_id", "cases"), ("处理历史", "case_id", "cases")],
}


def _schema_for(sheet_name: str):
    from xl_addin.adapters.workbook.books import ALL_BOOKS

    for b in ALL_BOOKS:
        for s in b.sheets:
            if s.name == sheet_name:
                return s
    raise KeyError(sheet_name)


def remove_live_rows(path: Path, plan: list[tuple[str, str, set[str]]], backup_dir: Path | None,
                     before_replace: Callable[[], None] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> int:
    """Delete the rows whose key is in the set, in every planned sheet of one workbook; one atomic replace.

    The rows go as Excel's "Delete rows" would remove them (formulas, formats, validations, tables,
    names follow; see ``adapters.workbook.row_removal``), one streaming pass per sheet.
    Returns how many rows were removed (0: the file is left untouched)."""
    from xl_addin.adapters.workbook.archive_book import rows_with_keys
    from xl_addin.adapters.workbook.files import assert_not_open_in_excel, check_workbook_file
    from xl_addin.adapters.workbook.lock import workbook_lock
    from xl_addin.adapters.workbook.row_removal import remove_rows

    path = check_workbook_file(path)
    assert_not_open_in_excel(path)
    # the rows are found and removed under the workbook's lock: a job appending rows in between (an
    # import beside the archive) would otherwise lose them to a file built from the older reading
    with workbook_lock(path, rereads=True):
        doomed: dict[str, list[int]] = {}
        for sheet_name, key, keys in plan:
            rows = rows_with_keys(path, _schema_for(sheet_name), sheet_name, key, keys)
            if rows:
                doomed[sheet_name] = rows
        if not doomed:
            return 0
        counts = remove_rows(path, doomed, backup_dir=backup_dir, before_replace=before_replace, progress=progress)
    return sum(counts.values())


# ---------------------------------------------------------------- the job

def open_cases_before(store: Store, end: datetime) -> list[dict[str, Any]]:
    try:
        from xl_addin.adapters.store.cases import CaseStore
    except ImportError:
        return []
    return [c for c in CaseStore(store).open_cases() if c.get("found_at") is None or c["found_at"] < end]


def archive_month(desk, store: Store, month: str, now: datetime, *, force_open_cases: bool = False,
                  progress: Callable[[str], None] | None = None,
                  steps: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Archive ``month`` (YYYY-MM); idempotent and resumable. ArchiveRefused when it may not run.

    ``progress(message)`` hears what happens; ``steps(done, total)`` counts the steps (each archive
    file written, the check, each live workbook's removal pass) for a progress bar."""
    say = progress or (lambda _m: None)
    total_steps = 4 + 1 + len(LIVE_SHEETS)
    done_steps = [0]

    def step() -> None:
        done_steps[0] += 1
        if steps:
            steps(min(done_steps[0], total_steps), total_steps)
    from xl_addin.config.timezone import desk_timezone

    tz = desk_timezone(desk.settings)
    try:
        parse_month(month)
    except ValueError as exc:
        raise UserError(str(exc), "例如 --month 2026-10") from None
    start, end = month_bounds(month, tz)
    folder = desk.archive_dir / month
    mpath = folder / MANIFEST
    closings = ClosingStore(store)
    data = None
    if mpath.exists():
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        if manifest.get("state") == COMPLETE:
            return {"month": month, "status": "already_complete", "folder": str(folder),
                    "orders": len(manifest["keys"]["orders"]), "files": manifest["files"], "changed": False}
        say("发现未完成的归档，继续")
        done_steps[0] = 4
    else:
        if not month_is_over(month, now, tz):
            raise ArchiveRefused(f"{month} 还没有结束，不能归档", f"请在 {end:%Y-%m-%d} 之后再运行")
        blocking = open_cases_before(store, end)
        if blocking and not force_open_cases:
            listed = "、".join(f"{c['case_id']}({c.get('order_no') or '-'} {c.get('type')})" for c in blocking[:20])
            raise ArchiveRefused(f"{month} 及以前还有 {len(blocking)} 个未结案的异常: {listed}",
                                 "请先结案；或加 --force-open-cases 归档（未结案订单留在在用工作簿里）")
        done_before = closings.archived_orders()
        orders = [c["order_no"] for c in closings.completed_between(start, end) if c["order_no"] not in done_before]
        data = _gather(desk, store, orders, tz)
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for stem, sheets in data.items():
            name = f"{stem}-{month}.xlsx"
            counts = _write_book(folder / name, sheets)
            files[name] = {"rows": counts, "sha256": _sha256(folder / name)}
            say(f"已写入 {name}")
            step()
            _checkpoint(f"after_file:{stem}")
        _checkpoint("before_manifest")
        bsheet, csheet = data["物流单号绑定表"][0], data["异常订单处理台账"][0]
        wcol, ccol = bsheet.column(KEY_LABELS["waybill_no"]), csheet.column(KEY_LABELS["case_id"])
        waybills = sorted({_key_text(r[wcol]) for r in bsheet.rows}) if wcol is not None else []
        cases = sorted({_key_text(r[ccol]) for r in csheet.rows}) if ccol is not None else []
        manifest = {"month": month, "state": WRITTEN, "created_at": now.isoformat(), "desk": desk.settings.desk.name,
                    "files": files, "keys": {"orders": orders, "waybills": waybills, "cases": cases},
                    "removed_from": []}
        _write_json(mpath, manifest)
        closings.set_archive_state(month, WRITTEN, str(folder), now, orders)
        _checkpoint("after_manifest")

    # 3. read back and check against the store
    # (a fresh run checks against what it gathered from the store moments ago; a resumed run gathers again)
    expected = dict(data) if data is not None else _gather(desk, store, manifest["keys"]["orders"], tz,
                                                           live_orders=False)
    expected["订单确认单"] = expected["订单确认单"][1:]  # order rows came from the live sheet: checked by key below
    loaded: dict[str, Any] = {}
    problems = _check_against_store(folder, manifest, expected, loaded)
    order_book = loaded.get(f"订单确认单-{month}.xlsx") or read_archive_rows(folder / f"订单确认单-{month}.xlsx")
    got_orders = {_key_text(r.get(KEY_LABELS["order_no"], r.get("order_no")))  # (an archive begun by an older
                  for r in order_book["订单确认单"]}                           # version has English headers)
    if got_orders != set(manifest["keys"]["orders"]):
        problems.append("订单确认单: 归档的订单编号与清单不一致")
    if problems:
        raise ArchiveRefused("归档核对未通过，在用工作簿未做任何删除: " + "；".join(problems[:10]),
                             "请检查 archive 文件夹；可删除该月文件夹后重新归档")
    _checkpoint("after_verify")
    step()

    # 4. remove archived rows from the live workbooks, one workbook at a time
    keysets = {k: set(v) for k, v in manifest["keys"].items()}
    removed = {}
    open_book = open_book_lookup()
    for book_key, sheets in LIVE_SHEETS.items():
        path = desk.workbook(book_key)
        if book_key in manifest["removed_from"] or not path.exists():
            step()
            continue
        plan = [(s, k, keysets[ks]) for s, k, ks in sheets]
        port = open_book(path) if open_book is not None else None
        if port is not None:
            removed[book_key] = remove_open_book_rows(port, [(_schema_for(s), k, ks) for s, k, ks in plan],
                                                      _key_text, before_save=lambda b=book_key: _checkpoint(f"before_save:{b}"))
        else:
            removed[book_key] = remove_live_rows(path, plan, desk.backup_dir,
                                                 before_replace=lambda b=book_key: _checkpoint(f"before_replace:{b}"),
                                                 progress=lambda d, _t, b=book_key: _checkpoint(f"during_remove:{b}")
                                                 if d == 1 else None)
        _checkpoint(f"after_remove:{book_key}")
        manifest["removed_from"].append(book_key)
        _write_json(mpath, manifest)
        say(f"已从 {path.name} 移除 {removed[book_key]} 行")
        step()
    manifest["state"] = COMPLETE
    manifest["completed_at"] = now.isoformat()
    _write_json(mpath, manifest)
    closings.set_archive_state(month, COMPLETE, str(folder), now, manifest["keys"]["orders"])
    return {"month": month, "status": "archived", "folder": str(folder), "orders": len(manifest["keys"]["orders"]),
            "removed": removed, "files": manifest["files"], "changed": True,
            "open_cases_left": [c["case_id"] for c in open_cases_before(store, end)] if force_open_cases else []}


def archive_attachments(result: dict[str, Any]) -> list[Path]:
    folder = Path(result["folder"])
    return [folder / name for name in result["files"]] + [folder / MANIFEST]
