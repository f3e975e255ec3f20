"""Bringing orders in: append a back-office/ERP export to the desk's Order Confirmation.

The header mapping is guessed, shown, and saved per source only after a person confirms it.
Orders already in the sheet (or in the store) are not added twice; when a source sends an order
again with different content the existing row is flagged ``SOURCE_MISMATCH`` with both values and
nothing is overwritten until a person chooses (``accept`` takes the source's values, ``keep``
keeps the sheet's), each choice in the audit log with who made it.

Write order, so nothing is lost: the workbook first (atomic, with a backup), then the store in one
transaction. A locked workbook aborts the import with nothing recorded; a re-run heals a store
write that failed after the workbook was written (the rows are then found in the sheet unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.orders import OrderRecords
from xl_addin.display.import_mismatch import MISMATCH_MARK, mismatch_text  # noqa: F401  (re-exported)
from xl_addin.errors import UserError, WorkbookError, WorkbookLocked
from xl_addin.services.intake.import_values import (  # noqa: F401  (coerce, canon: re-exported)
    NOT_COMPARED, canon, coerce, shown_value, source_fingerprint,
)

# skip / flag codes in the import report
ADDED = "added"
SKIPPED = "skipped"
FLAGGED = "flagged"
UPDATED = "updated"
KEPT = "kept"
REJECTED = "rejected"

IMPORTER = "系统导入"


class MappingNeedsConfirmation(UserError):
    """A new (or corrected) mapping was not confirmed: the import never guesses silently."""

    def __init__(self, proposal: "MappingProposal"):
        super().__init__("这个来源的列对应关系还没有确认，本次未导入",
                         "确认无误请加 --accept-mapping；有误请用 --map 订单编号=外部单号 更正后再加 --accept-mapping",
                         path=str(proposal.file))
        self.proposal = proposal


@dataclass
class MappingProposal:
    file: Path
    source: str | None
    header_row: int
    mapping: dict[str, str]            # our key → export header
    kinds: dict[str, str]              # our key → how it was found
    unmapped: list[str]                # export headers nobody takes
    labels: dict[str, str]             # our key → our label
    reused: bool = False               # a saved mapping, applied as confirmed earlier

    def lines(self) -> list[str]:
        who = f"来源「{self.source}」" if self.source else "未命名来源"
        state = "沿用已确认的对应关系" if self.reused else "建议的列对应关系（待确认）"
        out = [f"{who} {state}，表头在文件第{self.header_row}行:"]
        for key, header in self.mapping.items():
            how = f"（{self.kinds[key]}）" if key in self.kinds and not self.reused else ""
            out.append(f"  {self.labels[key]:<8} ← {header}{how}")
        if self.unmapped:
            out.append(f"  不导入的列: {'、'.join(self.unmapped)}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "header_row": self.header_row, "reused": self.reused,
                "mapping": {self.labels[k]: v for k, v in self.mapping.items()},
                "keys": dict(self.mapping), "unmapped": self.unmapped}


@dataclass
class ImportRow:
    row: int                            # row number in the source file
    order_no: str | None
    action: str                         # added / skipped / flagged / updated / kept / rejected
    code: str | None = None
    message: str = ""
    sheet_row: int | None = None        # the Order Confirmation row it went to or matched
    differences: list[dict[str, Any]] = field(default_factory=list)
    severity: str | None = None         # None, "warning" or "error"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "order_no": self.order_no, "action": self.action, "code": self.code,
                "severity": self.severity, "message": self.message, "sheet_row": self.sheet_row,
                "differences": self.differences}


@dataclass
class ImportReport:
    file: Path
    workbook: Path
    sheet: str
    source: str | None
    proposal: MappingProposal
    encoding: str | None = None
    mapping_saved: bool = False
    rows: list[ImportRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    validation: dict[str, Any] | None = None
    validation_has_errors: bool = False

    @property
    def summary(self) -> dict[str, int]:
        s = {"rows": len(self.rows), ADDED: 0, SKIPPED: 0, FLAGGED: 0, UPDATED: 0, KEPT: 0, REJECTED: 0}
        for r in self.rows:
            s[r.action] += 1
        return s

    @property
    def has_errors(self) -> bool:
        return any(r.severity == "error" for r in self.rows) or self.validation_has_errors

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.file), "workbook": str(self.workbook), "sheet": self.sheet, "source": self.source,
                "encoding": self.encoding, "mapping": self.proposal.as_dict(), "mapping_saved": self.mapping_saved,
                "rows": [r.as_dict() for r in self.rows], "summary": self.summary, "notes": self.notes,
                "written": self.written, "validation": self.validation}


# ---------------------------------------------------------------- values

def _columns():
    from xl_addin.adapters.workbook.books import ORDERS

    return {c.key: c for c in ORDERS.sheets[0].columns}


# ---------------------------------------------------------------- mapping

def _header_index(header: list[object]) -> dict[str, int]:
    from xl_addin.adapters.workbook.schema import header_key

    out: dict[str, int] = {}
    for j, cell in enumerate(header):
        if cell is not None:
            out.setdefault(header_key(cell), j)
    return out


def resolve_mapping(table, ledger, source: str | None, overrides: dict[str, str | None],
                    confirm: Callable[[MappingProposal], bool] | None, by: str | None,
                    now: datetime, store) -> tuple[MappingProposal, int, dict[str, int], bool]:
    """(proposal, header index into table.rows, {key: cell index}, saved now)."""
    from xl_addin.adapters.imports import find_header_row, guess_mapping
    from xl_addin.adapters.imports.mapping import guess_kinds
    from xl_addin.adapters.workbook.schema import header_key

    cols = _columns()
    labels = {k: c.label for k, c in cols.items()}
    saved = ledger.source(source) if (ledger is not None and source) else None
    h = find_header_row(table.rows, saved.mapping if saved else None)
    header_row_no, header = table.rows[h]
    index = _header_index(header)
    if saved and not overrides:
        mapping, kinds, reused = dict(saved.mapping), {}, True
    else:
        mapping = dict(saved.mapping) if saved else guess_mapping(header)
        kinds = {} if saved else guess_kinds(header)
        for key, theirs in overrides.items():
            if theirs is None:
                mapping.pop(key, None)
                continue
            if header_key(theirs) not in index:
                raise WorkbookError(f"--map 指定的列“{theirs}”不在第{header_row_no}行的表头里",
                                    f"表头有：{'、'.join(str(c) for c in header if c is not None)}",
                                    path=str(table.path))
            mapping = {k: v for k, v in mapping.items() if header_key(v) != header_key(theirs)}
            mapping[key] = theirs
            kinds[key] = "手工指定"
        reused = False
    absent = {k: v for k, v in mapping.items() if header_key(v) not in index}
    missing_required = [k for k, c in cols.items() if c.required and c.owner == "user"
                        and (k not in mapping or k in absent)]
    if missing_required:
        named = "、".join(f"{labels[k]}（来源列“{absent[k]}”不在文件里）" if k in absent else labels[k]
                         for k in missing_required)
        raise WorkbookError(f"表头（第{header_row_no}行）缺少必填列：{named}",
                            "请在导出时带上这些列，或用 --map 订单编号=外部单号 指定对应的列"
                            f"（文件表头：{'、'.join(str(c) for c in header if c is not None)}）",
                            path=str(table.path))
    for key in absent:
        mapping.pop(key)
    used = {index[header_key(v)] for v in mapping.values()}
    unmapped = [str(c) for j, c in enumerate(header) if c is not None and j not in used]
    proposal = MappingProposal(table.path, source, header_row_no, mapping, kinds, unmapped, labels, reused)
    if absent:
        table.notes.append(f"已保存的对应列不在本文件中，忽略: {'、'.join(absent.values())}")
    saved_now = False
    if not reused:
        if confirm is None or not confirm(proposal):
            raise MappingNeedsConfirmation(proposal)
        if source and ledger is not None:
            with store.transaction():
                ledger.save_source(source, mapping, [str(c) for c in header if c is not None], by, now)
                store.audit(now, by or IMPORTER, "import:mapping_confirmed", "import_source", source,
                            {"mapping": mapping, "file": str(table.path)})
            saved_now = True
    return proposal, h, {k: index[header_key(v)] for k, v in mapping.items()}, saved_now


# ---------------------------------------------------------------- the import

def import_orders(path, book: Path, now: datetime, *, store, source: str | None = None,
                  overrides: dict[str, str | None] | None = None,
                  confirm: Callable[[MappingProposal], bool] | None = None,
                  accept_changes: Iterable[str] = (), keep_current: Iterable[str] = (), by: str | None = None,
                  channel: str | None = None, tz_name: str = "Asia/Shanghai", backup_dir: Path | None = None,
                  validate: bool = False, confirm_within: timedelta = timedelta(hours=1),
                  export_sheet: str | None = None) -> ImportReport:
    """Append the orders of export ``path`` to the Order Confirmation workbook ``book`` (``export_sheet``: which sheet of
    an .xlsx export to read)."""
    from xl_addin.adapters.imports import read_export
    from xl_addin.adapters.store.import_ledger import ACCEPTED, KEPT as KEPT_STATE, ImportLedger, SourceOrder
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.intake import order_key

    tz = ZoneInfo(tz_name)
    accept = {order_key(x) for x in accept_changes if order_key(x)}
    keep = {order_key(x) for x in keep_current if order_key(x)}
    if (accept or keep) and not (by or "").strip():
        raise UserError("采用或保留来源差异须写明是谁的决定", "请加 --by 姓名")
    if accept & keep:
        raise UserError(f"订单 {'、'.join(sorted(accept & keep))} 同时出现在 --accept-changes 和 --keep-current 里",
                        "每个订单只能选一种处理")
    path = Path(path).resolve()
    book = Path(book).resolve()
    table = read_export(path, export_sheet)
    ledger = ImportLedger(store) if store is not None else None
    proposal, h, where, saved_now = resolve_mapping(table, ledger, source, overrides or {}, confirm, by, now, store)

    schema = ORDERS.sheets[0]
    sheet = read_sheet(book, schema)
    report = ImportReport(path, book, sheet.sheet, source, proposal, encoding=table.encoding,
                          mapping_saved=saved_now, notes=list(table.notes))
    cols = _columns()
    columns = dict(sheet.columns)
    headers: dict[int, str] = {}
    next_col = max([sheet.last_column, *columns.values()]) + 1

    def column_of(key: str) -> int:
        nonlocal next_col
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = cols[key].label
            next_col += 1
        return columns[key]

    lacking = [cols[k].label for k in where if k not in columns]
    if lacking:
        report.notes.append(f"订单确认单没有这些列，相应内容未导入: {'、'.join(lacking)}")
    in_sheet = {order_key(r.values.get("order_no")): r for r in sheet.rows if order_key(r.values.get("order_no"))}
    in_store = {order_key(no) for no in OrderRecords(store).numbers()} if store else set()
    previous = ledger.orders_of(source or "") if ledger else {}
    next_row = max([sheet.header_row, *(r.row for r in sheet.rows)]) + 1
    received = now.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    src_name = f"来源「{source}」" if source else "导入文件"

    cells: dict[tuple[int, int], Any] = {}
    remember: list[tuple[str, SourceOrder]] = []
    mismatches: list[tuple[str, ImportRow, str]] = []
    decisions: list[tuple[str, ImportRow, str]] = []
    seen: dict[str, tuple[int, str]] = {}
    long_cells = 0

    for row_no, raw in table.rows[h + 1:]:
        values = {k: coerce(raw[j] if j < len(raw) else None, cols[k].type) for k, j in where.items()}
        if all(v is None for v in values.values()):
            continue
        long_cells += sum(isinstance(v, str) and len(v) > 32767 for v in values.values())
        key = order_key(values.get("order_no"))
        if not key:
            report.rows.append(ImportRow(row_no, None, REJECTED, "MISSING_ORDER_NO",
                                         "没有订单编号，未导入；请在来源补上订单编号后重新导入", severity="error"))
            continue
        values["order_no"] = key
        fp = source_fingerprint(values)
        if key in seen:
            first, first_fp = seen[key]
            same = first_fp == fp
            report.rows.append(ImportRow(
                row_no, key, SKIPPED, "DUPLICATE_IN_FILE",
                f"与文件第{first}行是同一订单（{'内容相同' if same else '内容不同，请核对来源'}），只导入第一行",
                severity="warning" if same else "error"))
            continue
        seen[key] = (row_no, fp)
        order = SourceOrder(fp, values, str(path), row_no)
        existing = in_sheet.get(key)
        if existing is None:
            if key in in_store:
                report.rows.append(ImportRow(row_no, key, SKIPPED, "ALREADY_IN_STORE",
                                             "订单编号已在状态库的订单记录中（可能已归档），未重复添加"))
                continue
            r = next_row
            next_row += 1
            for k, v in values.items():
                if k in columns:
                    cells[(r, columns[k])] = v
            if "channel" in columns and values.get("channel") is None and channel:
                cells[(r, columns["channel"])] = channel
            if "received_at" in columns and values.get("received_at") is None:
                cells[(r, columns["received_at"])] = received
            remember.append((key, order))
            report.rows.append(ImportRow(row_no, key, ADDED, None, f"已添加到第{r}行", sheet_row=r))
            continue
        prev = previous.get(key)
        if prev is not None and prev.fingerprint == fp:
            report.rows.append(ImportRow(row_no, key, SKIPPED, "ALREADY_PRESENT",
                                         f"已在第{existing.row}行，来源内容未变", sheet_row=existing.row))
            continue
        diffs = [{"column": k, "label": cols[k].label, "current": existing.values.get(k), "incoming": v}
                 for k, v in values.items()
                 if k not in NOT_COMPARED and k in columns and canon(existing.values.get(k), k) != canon(v, k)]
        if not diffs:
            remember.append((key, order))
            report.rows.append(ImportRow(row_no, key, SKIPPED, "ALREADY_PRESENT",
                                         f"已在第{existing.row}行，内容相同", sheet_row=existing.row))
            continue
        shown = [{**d, "current": shown_value(d["current"]), "incoming": shown_value(d["incoming"])} for d in diffs]
        problems_col = column_of("problems")
        status_col = column_of("check_status")
        old_text = existing.values.get("problems")
        kept_lines = [ln for ln in str(old_text or "").splitlines() if MISMATCH_MARK not in ln and ln.strip()]
        if key in accept:
            for d in diffs:
                cells[(existing.row, columns[d["column"]])] = d["incoming"]
            cells[(existing.row, problems_col)] = "\n".join(kept_lines) or None
            cells[(existing.row, status_col)] = "待复核"
            remember.append((key, order))
            row = ImportRow(row_no, key, UPDATED, "SOURCE_MISMATCH",
                            f"已按 {by} 的决定采用来源的新值（第{existing.row}行），请重新校验", existing.row, shown)
            decisions.append((key, row, ACCEPTED))
            report.rows.append(row)
            accept.discard(key)
            continue
        if key in keep:
            cells[(existing.row, problems_col)] = "\n".join(kept_lines) or None
            if not kept_lines:
                cells[(existing.row, status_col)] = "待复核"
            remember.append((key, order))
            row = ImportRow(row_no, key, KEPT, "SOURCE_MISMATCH",
                            f"已按 {by} 的决定保留表中内容（第{existing.row}行），忽略来源的新值", existing.row, shown)
            decisions.append((key, row, KEPT_STATE))
            report.rows.append(row)
            keep.discard(key)
            continue
        text = mismatch_text(src_name, row_no, shown, key)
        cells[(existing.row, problems_col)] = "\n".join([text, *kept_lines])
        cells[(existing.row, status_col)] = "有问题"
        row = ImportRow(row_no, key, FLAGGED, "SOURCE_MISMATCH",
                        f"{src_name}再次发来此订单，内容与第{existing.row}行不同: "
                        + "；".join(f"{d['label']} 表中 {d['current']} / 来源 {d['incoming']}" for d in shown)
                        + "。未覆盖，请核对后用 --accept-changes 或 --keep-current 处理",
                        existing.row, shown, severity="error")
        mismatches.append((key, row, fp))
        report.rows.append(row)

    for left in sorted(accept | keep):
        report.notes.append(f"订单 {left} 在本文件中没有与表中不同的内容，无需处理")
    if long_cells:
        report.notes.append(f"有 {long_cells} 个单元格超过 Excel 的 32767 字符上限，写入时截断")

    if cells:
        from xl_addin.adapters.workbook.xml_patch import write_cells

        try:
            write_cells(book, sheet.sheet, sheet.header_row, headers, cells, backup_dir=backup_dir,
                        append_table_rows=True)
        except WorkbookLocked as exc:
            raise WorkbookLocked("订单确认单正在 Excel 中打开，本次没有导入任何订单",
                                 "请在 Excel 里保存并关闭它后，重新运行同一条 import 命令", path=exc.path) from None
        report.written = True
    if store is not None:
        _record(store, ledger, report, source or "", remember, mismatches, decisions, by, now)
    if validate:
        _validate(report, book, store, now, tz_name, confirm_within, backup_dir)
    return report


def _record(store, ledger, report: ImportReport, source: str, remember, mismatches, decisions, by, now) -> None:
    with store.transaction():
        for key, order in remember:
            ledger.remember(source, key, order, now)
        for key, row, fp in mismatches:
            if ledger.open_mismatch(source, key, fp, row.differences, str(report.file), row.row, now):
                store.audit(now, IMPORTER, "import:source_mismatch", "order", key,
                            {"source": source, "file": str(report.file), "row": row.row,
                             "sheet_row": row.sheet_row, "differences": row.differences})
        for key, row, state in decisions:
            ledger.resolve(source, key, state, by, now)
            store.audit(now, by, "import:accept_changes" if state == "accepted" else "import:keep_current",
                        "order", key, {"source": source, "file": str(report.file), "row": row.row,
                                       "sheet_row": row.sheet_row, "differences": row.differences})
        added = [r.order_no for r in report.rows if r.action == ADDED]
        if report.rows:
            store.audit(now, by or IMPORTER, "import:file", "import", f"{source or '-'}:{report.file.name}",
                        {"file": str(report.file), "summary": report.summary, "added": added})


def _validate(report: ImportReport, book: Path, store, now, tz_name, confirm_within, backup_dir) -> None:
    """Run ``validate`` on the Order Confirmation, then put back the pending SOURCE_MISMATCH flags it rewrote."""
    from xl_addin.services.intake.validation import validate_orders

    result = validate_orders(book, now, store=store, tz_name=tz_name, confirm_within=confirm_within,
                             backup_dir=backup_dir)
    report.validation = result.summary
    report.validation_has_errors = result.has_errors
    if result.write_message:
        report.notes.append(result.write_message)
    if store is not None and result.written:
        reflag_pending(book, store, backup_dir)


def reflag_pending(book: Path, store, backup_dir: Path | None = None) -> int:
    """Write every unresolved SOURCE_MISMATCH back into its row's 问题说明/校验状态 (after ``validate`` rewrote them).

    Returns the number of rows written. ``validate`` may call this after its own write-back.
    """
    from xl_addin.adapters.store.import_ledger import ImportLedger
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.intake import order_key

    pending = ImportLedger(store).pending()
    if not pending:
        return 0
    schema = ORDERS.sheets[0]
    sheet = read_sheet(book, schema)
    rows = {order_key(r.values.get("order_no")): r for r in sheet.rows}
    columns = dict(sheet.columns)
    headers: dict[int, str] = {}
    next_col = max([sheet.last_column, *columns.values()]) + 1
    for key in ("check_status", "problems"):
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = schema.column(key).label
            next_col += 1
    cells: dict[tuple[int, int], Any] = {}
    for case in pending:
        rec = rows.get(order_key(case["order_no"]))
        if rec is None:
            continue
        src = f"来源「{case['source']}」" if case["source"] else "导入文件"
        text = mismatch_text(src, case["file_row"], case["differences"], case["order_no"])
        old = [ln for ln in str(rec.values.get("problems") or "").splitlines() if MISMATCH_MARK not in ln and ln.strip()]
        cells[(rec.row, columns["problems"])] = "\n".join([text, *old])
        cells[(rec.row, columns["check_status"])] = "有问题"
    if cells:
        write_cells(book, sheet.sheet, sheet.header_row, headers, cells, backup_dir=backup_dir)
    return len(cells) // 2
