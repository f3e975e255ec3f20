"""Stage 1 service: check every order row, run the confirmation loop, write results back.

Reads the Order Confirmation sheet (any .xlsx whose header carries the
required columns), checks each row with the domain rules, decides each
order's confirmation state, saves it in the state store (when the file is the
desk's own workbook) and writes only the product's columns back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from xl_addin.domain.confirmation import (
    AWAITING, BY_CHECK, CONFIRMED, RELEASED, Outcome, Previous, decide, parse_outcome,
)
from xl_addin.checkpoints import checkpoint
from xl_addin.domain.gates import Gate, GatePolicy, assess
from xl_addin.domain.problems import CheckResult
from xl_addin.errors import WorkbookLocked
from xl_addin.services.intake.report import (  # noqa: F401  (re-exported: callers read reports from here)
    KEEP_IN_MEMORY, RowLog, RowReport, ValidationReport,
)
from xl_addin.services.intake.gc_pause import fewer_collections
from xl_addin.services.intake.row_checking import ONE_CORE, RowCheckers

log = logging.getLogger(__name__)

USER_FIELDS = ("order_no", "customer", "goods_name", "spec", "quantity", "weight_kg", "volume_m3", "receiver",
               "receiver_phone", "address", "special_requirements", "channel", "received_at", "customer_contact",
               "preferred_carrier")
PRODUCT_FIELDS = ("check_status", "problems", "phone_normalized", "province", "city", "district",
                  "address_detail", "tags", "declared_value", "checked_at", "confirm_deadline", "order_status")
CONFIRM_FIELDS = ("confirmation", "confirmed_by", "confirmed_at", "confirm_channel")


def fingerprint(values: dict[str, Any]) -> str:
    """What the customer's order says; a change means the row must be checked and confirmed afresh."""
    get = values.get
    # the same text as json.dumps(canon, ensure_ascii=False, sort_keys=True) of the stripped field texts,
    # built directly (C string escaping, no dict): stored fingerprints stay valid
    text = ", ".join([prefix + _JSON_STR("" if (v := get(k)) is None else (v if v.__class__ is str else str(v)).strip())
                      for k, prefix in _FP_PREFIXES])
    return hashlib.sha256(("{" + text + "}").encode()).hexdigest()[:20]


_SORTED_FIELDS = tuple(sorted(USER_FIELDS))
_FP_PREFIXES = tuple((k, json.dumps(k) + ": ") for k in _SORTED_FIELDS)
_JSON_STR = json.encoder.encode_basestring


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _naive_local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    if not moment:
        return None
    key = (moment, tz)
    local = _LOCAL.get(key)
    if local is None:  # a check writes the same few moments (now, now + 1 h) into every row
        if len(_LOCAL) > 4096:
            _LOCAL.clear()
        local = _LOCAL[key] = moment.astimezone(tz).replace(tzinfo=None)
    return local


_LOCAL: dict[tuple[datetime, ZoneInfo], datetime] = {}


def _aware(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return None


CHUNK = 20000  # rows checked, saved and written per step: memory stays flat on a 1,000,000-row sheet


@fewer_collections
def validate_orders(path: Path, now: datetime, *, store=None, rules=None, tz_name: str = "Asia/Shanghai",
                    confirm_within: timedelta = timedelta(hours=1), backup_dir: Path | None = None,
                    sheet_name: str | None = None, write: bool = True,
                    progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK,
                    policy: GatePolicy | None = None, plan=None,
                    stream_from_bytes: int | None = -1) -> ValidationReport:
    """Check every order row of ``path`` as of ``now``; with a ``store``, keep the results there too.

    One pass: a chunk of rows is read, checked, saved in the store (one transaction per part)
    and its product cells are streamed into the rewritten sheet, so neither the rows nor the
    cells of a big sheet are all in memory at once. The workbook is replaced only at the end.
    ``plan`` (a ``row_checking.CheckPlan``) lets the pure per-row work run on every core for a
    big sheet; without one, one core (the ribbon's case). Results are the same either way.
    ``stream_from_bytes``: see ``reader.iter_sheet`` (-1: its default, a huge sheet is streamed).
    """
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.files import check_workbook_file
    from xl_addin.adapters.workbook.reader import iter_sheet
    from xl_addin.adapters.workbook.xml_patch import write_rows
    from xl_addin.domain.intake import DuplicateTracker, IntakeRules

    tz = ZoneInfo(tz_name)
    path = Path(path).resolve()
    check_workbook_file(path)
    schema = ORDERS.sheets[0]
    more = {} if stream_from_bytes == -1 else {"stream_from_bytes": stream_from_bytes}
    stream = iter_sheet(path, schema, sheet_name=sheet_name, chunk=chunk, **more)
    try:
        rules = rules or IntakeRules.default()
        report = ValidationReport(file=path, sheet=stream.sheet, notes=list(stream.notes))
        records = entries = None
        known: set[str] = set()
        policy = policy or GatePolicy()
        if store is not None:
            from xl_addin.adapters.store.entries import PersonEntries
            from xl_addin.adapters.store.orders import OrderRecords
            records = OrderRecords(store)
            entries = PersonEntries(store)
            known = records.numbers_from_other_sources(str(path))
        dups = DuplicateTracker(known=known)
        mismatches = _pending_mismatches(store) if store is not None else {}
    except BaseException:
        stream.close()
        raise
    columns, headers = _product_columns(stream, schema)
    total = max(0, stream.last_row - stream.header_row)
    if total > KEEP_IN_MEMORY:  # a big sheet: every chunk's reports go to disk, memory stays flat
        report.rows = RowLog(keep=0)
    applied: list[int] = []  # stored outcomes written into the rows of this check
    with_overrides = entries is not None and entries.any_overrides()

    plan = plan or ONE_CORE
    workers = plan.workers_for(total)
    checkers = RowCheckers(_check_part, _Shared(rules, now, tz, confirm_within, columns, records is not None,
                                                str(path), policy), workers)

    def jobs():
        """(tag, job) per part of each chunk read, in sheet order; duplicates are judged here, in order."""
        for part in stream.chunks():
            previous: dict[str, Any] = {}
            numbers = [_text(rec.values.get("order_no")) for rec in part]
            kept: dict[str, Any] = {}
            overrides: dict[str, Any] = {}
            if records is not None:  # this chunk's earlier results only: the store is not loaded whole
                wanted = {t for t in numbers if t}
                previous = records.by_numbers(str(path), wanted)
                kept = entries.pending_outcomes(wanted)
                overrides = _local_overrides(entries.overrides(wanted), tz) if with_overrides else {}
            step = max(1, plan.part_rows)  # parts on one core too: only one part's cells are held at a time
            for i in range(0, len(part), step):
                recs, nos = part[i:i + step], numbers[i:i + step]
                dup = [dups.check(t) if t else None for t in nos]
                prev = {t: previous[t] for t in nos if t in previous}
                mism = {t: mismatches[t] for t in nos if t in mismatches}
                kept_part = {t: kept[t] for t in nos if t in kept}
                over_part = {t: overrides[t] for t in nos if t in overrides}
                yield ((recs, previous, i + step >= len(part), len(part)),
                       (recs, nos, dup, mism, prev, kept_part, over_part))

    def checked_cells():
        """(row, {col: value}) for every checked row, in sheet order; saving happens here."""
        done = 0
        checked: dict[str, Any] = {}  # this chunk's saved check times so far (a later duplicate shows its first's)
        for (recs, previous, last_part, size), (rows, to_save, cells) in checkers.ordered(jobs()):
            if records is not None:
                checkpoint("validate:before_save")  # tests pause here: the part's earlier results are read
                moved = _save(store, records, to_save, previous, now)
                if moved:
                    _settle_moved_on(moved, rows, to_save, cells, columns)
            own = {r.order_no: r.checked_at for r in to_save}
            checked.update(own)
            for rec, row, row_cells in zip(recs, rows, cells):
                if row.entry is not None:
                    applied.append(row.entry.id)
                if row.order_no in checked and row.order_no not in own:
                    row_cells = _row_cells(rec, row, columns, checked, now, tz, schema)
                yield rec.row, row_cells
            report.add_rows(rows)
            if last_part:
                checked = {}
                done += size
                if progress:
                    progress(done, max(done, total))
        if progress:
            progress(done, done)
        report.stored = records is not None

    cells = checked_cells()
    try:
        if write:
            try:
                first = stream.header_row if headers else stream.header_row + 1
                bounds = (first, max(stream.last_row, first), min(columns[k] for k in _OWNED),
                          max(columns[k] for k in _OWNED))
                write_rows(path, stream.sheet, stream.header_row, headers, cells, bounds, backup_dir=backup_dir)
                report.written = True
                if applied:  # the people's entries are in the workbook now
                    with store.transaction():
                        entries.written(applied)
            except WorkbookLocked as exc:
                for _ in cells:  # check and store everything even so
                    pass
                report.write_message = str(exc) + ("；结果已存入状态库，下次运行时写入工作簿" if report.stored else "")
        else:
            for _ in cells:
                pass
    finally:
        checkers.close()
        stream.close()
    return report


_OWNED = PRODUCT_FIELDS + CONFIRM_FIELDS
_OPEN_GATE = Gate()  # a row the check found nothing in
_NO_OUTCOME = Outcome(None)  # Outcome(None, None, None, None): what four empty confirmation cells say


def _product_columns(table, schema) -> tuple[dict[str, int], dict[int, str]]:
    """Where each product column is; the ones the sheet lacks get a header after the user's last column."""
    columns = dict(table.columns)
    headers: dict[int, str] = {}
    next_col = max([table.last_column, *columns.values()]) + 1
    for key in _OWNED:
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = schema.column(key).label
            next_col += 1
    return columns, headers


@dataclass(frozen=True)
class _Shared:
    """What checking every part of one run needs; sent once to each worker process."""

    rules: Any
    now: datetime
    tz: ZoneInfo
    confirm_within: timedelta
    columns: dict[str, int]
    keep_records: bool
    source: str
    policy: Any = None

    def __reduce__(self):  # the rules' derived structures (automatons) are rebuilt in each worker
        import dataclasses
        rules = dataclasses.replace(self.rules, _cache={}) if self.rules is not None else None
        return _Shared, (rules, self.now, self.tz, self.confirm_within, self.columns, self.keep_records,
                         self.source, self.policy)


def _check_part(job, shared: _Shared):
    """One part of a chunk, checked: (RowReports, OrderRecords to save, product cells per row).

    Pure: runs in this process or in a worker (``row_checking``). ``job`` = (records, their order
    numbers, their duplicate findings, pending source mismatches, earlier results, outcomes a person
    recorded that the workbook does not show yet, and overrides in force — each by order number).
    """
    from xl_addin.adapters.workbook.books import ORDERS

    recs, numbers, dup, mismatches, previous, kept, overrides = job
    rows, to_save = _check_chunk(recs, numbers, dup, shared.rules, mismatches, previous, shared.keep_records,
                                 shared.source, shared.now, shared.tz, shared.confirm_within, kept, overrides,
                                 shared.policy)
    checked = {r.order_no: r.checked_at for r in to_save}
    schema = ORDERS.sheets[0]
    cells = [_row_cells(rec, row, shared.columns, checked, shared.now, shared.tz, schema)
             for rec, row in zip(recs, rows)]
    return rows, to_save, cells


def _check_chunk(part, numbers, dups, rules, mismatches, previous, keep_records, path, now, tz, confirm_within,
                 kept=None, overrides=None, policy=None):
    """RowReports for records, and the OrderRecords to save for them (``dups``: each row's duplicate finding).

    ``kept``: outcomes a person recorded that the workbook does not show yet (they win over the
    row's cells); ``overrides``: order → code → Override in force.
    """
    from xl_addin.domain.intake import check_order

    kept = kept or {}
    overrides = overrides or {}
    policy = policy or GatePolicy()
    out: list[RowReport] = []
    to_save = []
    for rec, order_no, dup in zip(part, numbers, dups):
        values = rec.values
        result = check_order(values, rules)  # it reads only the user's fields, by name
        if dup is not None:
            result.problems.append(dup)
        if order_no in mismatches:
            result.add("SOURCE_MISMATCH", "error", None, mismatches[order_no])
        fp = fingerprint(values)
        prev_rec = previous.get(order_no) if order_no and dup is None else None
        prev = Previous(prev_rec.status, prev_rec.fingerprint, prev_rec.confirm_deadline,
                        prev_rec.confirmed_by, prev_rec.confirmed_at) if prev_rec else None
        entry = kept.get(order_no) if order_no and dup is None else None
        if entry is not None:
            outcome = Outcome(entry.outcome, entry.by, entry.at, entry.channel)
        elif (confirmation := values.get("confirmation")) is None and values.get("confirmed_by") is None \
                and values.get("confirmed_at") is None and values.get("confirm_channel") is None:
            outcome = _NO_OUTCOME  # the usual new row: nobody recorded anything
        else:
            outcome = Outcome(parse_outcome(confirmation), _text(values.get("confirmed_by")),
                              _aware(values.get("confirmed_at"), tz), _text(values.get("confirm_channel")))
        if outcome.by == BY_CHECK:
            outcome = Outcome(None)  # our own earlier entry, not a person's
        gate = assess([(p.code, p.severity) for p in result.problems],
                      overrides.get(order_no, {}) if order_no and dup is None else {}, policy) \
            if result.problems else _OPEN_GATE
        if gate.tagged and policy.special_tag and policy.special_tag not in result.normalized.get("tags", ()):
            result.normalized["tags"] = [*(result.normalized.get("tags") or []), policy.special_tag]
        decision = decide(result.status, outcome, prev, fp, now, confirm_within, gate)
        out.append(RowReport(rec.row, order_no, result, decision, entry))
        if keep_records and order_no and dup is None:
            from xl_addin.adapters.store.orders import OrderRecord
            same = prev_rec is not None and prev_rec.fingerprint == fp
            to_save.append(OrderRecord(
                order_no=order_no, status=decision.status, check_status=result.status,
                problems=[p.as_dict() for p in result.problems],
                fields={k: values.get(k) for k in USER_FIELDS} | {"normalized": result.normalized},
                fingerprint=fp, checked_at=prev_rec.checked_at if same and prev_rec.checked_at else now,
                confirm_deadline=decision.deadline, confirmation=decision.confirmation,
                confirmed_by=decision.confirmed_by, confirmed_at=decision.confirmed_at,
                confirm_channel=decision.channel, source=path))
    return out, to_save


def _local_overrides(overrides: dict, tz: ZoneInfo) -> dict:
    """Overrides with their times in the desk's zone (the row shows them)."""
    from dataclasses import replace

    return {no: {code: replace(o, at=o.at.astimezone(tz)) for code, o in by_code.items()}
            for no, by_code in overrides.items()}


def _pending_mismatches(store) -> dict[str, str]:
    """Orders whose source sent different content and no person has chosen yet (see ``import``)."""
    from xl_addin.adapters.store.import_ledger import ImportLedger
    from xl_addin.display.import_mismatch import mismatch_text

    out = {}
    for case in ImportLedger(store).pending():
        src = f"来源「{case['source']}」" if case["source"] else "导入文件"
        out[case["order_no"]] = mismatch_text(src, case["file_row"], case["differences"], case["order_no"])
    return out


def _save(store, records, to_save, previous, now) -> dict[str, str]:
    """Save the part's results; returns {order_no: status} of those a later stage moved on meanwhile.

    Why: ``previous`` was read before the part was checked; ``allocate`` (or a bind) may have moved an
    order on since. The store keeps the later status (``OrderRecords.save``) and the part's cells must
    show it too, so it is read back in the same transaction, the one the rows' status is settled in.
    """
    with store.transaction():
        records.save(to_save, now)
        moved = records.moved_on(r.order_no for r in to_save if r.status in _INTAKE_STATUSES)
        for rec in to_save:
            before = previous.get(rec.order_no)
            if before is None or before.status != rec.status or before.confirmed_by != rec.confirmed_by:
                store.audit(now, rec.confirmed_by or "系统校验", f"order:{rec.status}", "order", rec.order_no,
                            {"from": before.status if before else None, "check": rec.check_status,
                             "channel": rec.confirm_channel})
    return moved


_INTAKE_STATUSES = (AWAITING, CONFIRMED)


def _settle_moved_on(moved: dict[str, str], rows: list, to_save: list, cells: list, columns: dict[str, int]) -> None:
    """The status of the part's saved rows as it is now: an order a later stage moved on while the part was
    checked shows that stage (never 已确认/待确认 over 已分配运单), in its row report and its cells."""
    from dataclasses import replace

    saved = iter(to_save)
    rec = next(saved, None)
    for i, row in enumerate(rows):
        if rec is None:
            break
        if row.order_no != rec.order_no:  # a duplicate or a row without number: not saved
            continue
        status = moved.get(rec.order_no)
        rec = next(saved, None)
        if status is None or row.decision.status not in _INTAKE_STATUSES:
            continue
        rows[i] = replace(row, decision=replace(row.decision, status=status, deadline=None, overdue=False))
        cells[i] = {**cells[i], columns["order_status"]: rows[i].decision.status_label,
                    columns["confirm_deadline"]: None}


_LABELS: dict[int, dict[str, str]] = {}


def _problem_text(result: CheckResult, schema) -> str:
    if not result.problems:
        return None  # type: ignore[return-value]
    labels = _LABELS.get(id(schema))
    if labels is None:
        labels = _LABELS[id(schema)] = {c.key: c.label for c in schema.columns}
    parts = []
    for p in result.problems:
        where = labels.get(p.column or "", "")
        parts.append(f"{'⚠' if p.severity == 'warning' else '✗'} {where + ': ' if where else ''}{p.message}")
    return "\n".join(parts) or None  # type: ignore[return-value]


def _row_cells(rec, row: RowReport, columns: dict[str, int], checked: dict, now, tz, schema) -> dict[int, Any]:
    """The product's cells of one checked row: {column: value}."""
    res, dec = row.result, row.decision
    n = res.normalized
    values = {
        "check_status": dec.check_label,
        "problems": _problem_text(res, schema),
        "phone_normalized": n.get("phone"),
        "province": n.get("province"), "city": n.get("city"), "district": n.get("district"),
        "address_detail": n.get("address_detail"),
        "tags": "、".join(n.get("tags") or []) or None,
        "declared_value": float(n["declared_value"]) if n.get("declared_value") is not None else None,
        "checked_at": _naive_local(checked.get(row.order_no) or now, tz),
        "confirm_deadline": _naive_local(dec.deadline, tz),
        "order_status": dec.status_label,
    }
    if dec.note:
        values["problems"] = "\n".join(filter(None, [_problem_text(res, schema), f"ℹ {dec.note}"]))
    cells = {columns[key]: value for key, value in values.items()}
    if row.entry is not None:  # a person's outcome recorded while the workbook was busy, or just now
        from xl_addin.domain.confirmation import OUTCOME_LABELS

        e = row.entry
        for key, value in (("confirmation", OUTCOME_LABELS[e.outcome]), ("confirmed_by", e.by),
                           ("confirmed_at", _naive_local(e.at, tz)), ("confirm_channel", e.channel)):
            cells[columns[key]] = value
        return cells
    # the shared confirmation columns: the check writes its own entry only where no person wrote one,
    # and takes its entry back when the row no longer passes
    person = _text(rec.values.get("confirmed_by"))
    if person is None or person == BY_CHECK:
        if dec.confirmed_by == BY_CHECK or dec.confirmation == RELEASED:
            for key, value in (("confirmation", dec.confirmation), ("confirmed_by", dec.confirmed_by),
                               ("confirmed_at", _naive_local(dec.confirmed_at, tz)),
                               ("confirm_channel", dec.channel)):
                cells[columns[key]] = value
        elif person == BY_CHECK or _text(rec.values.get("confirmation")) is None:
            for key in CONFIRM_FIELDS:
                cells[columns[key]] = None
    return cells
