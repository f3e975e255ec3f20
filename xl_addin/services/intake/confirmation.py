"""A person's answer for one order (the customer confirmed, corrected or cancelled it): stored first, then the
row is checked again, so the answer reaches the workbook even when it was open in Excel at the time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from xl_addin.domain.confirmation import parse_outcome
from xl_addin.domain.gates import GatePolicy
from xl_addin.services.intake.validation import CONFIRM_FIELDS, RowReport, _naive_local, _text, validate_orders


def find_order_row(path: Path, order_no: str):
    """(table, row) of ``order_no`` in the order sheet of ``path``; UserError when it is not there.

    Only reads: the workbook may be open in Excel."""
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.errors import UserError

    table = read_sheet(Path(path).resolve(), ORDERS.sheets[0])
    match = next((r for r in table.rows if _text(r.values.get("order_no")) == order_no.strip()), None)
    if match is None:
        raise UserError(f"在 {Path(path).name} / {table.sheet} 中找不到订单 {order_no}", "请检查订单编号")
    return table, match


def recheck_row(path: Path, row: int, now: datetime, *, store, tz_name: str, confirm_within: timedelta,
                backup_dir: Path | None, policy: GatePolicy | None = None, rules=None) -> RowReport:
    """Check the sheet again after a person's entry was stored; the entry reaches the row when the book is free."""
    report = validate_orders(path, now, store=store, rules=rules, tz_name=tz_name, confirm_within=confirm_within,
                             backup_dir=backup_dir, policy=policy)
    found = next(r for r in report.rows if r.row == row)
    if not report.written:
        found.write_message = report.write_message
    return found


def record_confirmation(path: Path, order_no: str, outcome: str, by: str, now: datetime, *, channel: str | None,
                        store=None, tz_name: str = "Asia/Shanghai", confirm_within: timedelta = timedelta(hours=1),
                        backup_dir: Path | None = None, policy: GatePolicy | None = None,
                        rules=None) -> RowReport:
    """A person records the customer's answer for one order; the row is then checked again.

    With a store the answer is stored first (and audited), then written into the row by the check;
    when the workbook is open in Excel it stays in the store and the next check writes it.
    """
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.confirmation import OUTCOME_LABELS
    from xl_addin.errors import UserError

    kind = parse_outcome(outcome)
    if kind is None:
        raise UserError(f"确认结果 {outcome!r} 无法识别", "请用 已确认 / 已更正 / 已取消（或 confirmed / corrected / cancelled）")
    if not by.strip():
        raise UserError("请用 --by 写明确认人姓名")
    tz = ZoneInfo(tz_name)
    path = Path(path).resolve()
    table, match = find_order_row(path, order_no)
    if store is not None:
        from xl_addin.adapters.store.entries import PersonEntries

        with store.transaction():
            PersonEntries(store).add_outcome(order_no.strip(), kind, by.strip(), channel, now)
            store.audit(now, by.strip(), f"confirm:{kind}", "order", order_no.strip(), {"channel": channel})
        return recheck_row(path, match.row, now, store=store, tz_name=tz_name, confirm_within=confirm_within,
                           backup_dir=backup_dir, policy=policy, rules=rules)
    schema = ORDERS.sheets[0]
    columns = dict(table.columns)
    headers: dict[int, str] = {}
    next_col = max([table.last_column, *columns.values()]) + 1
    for key in CONFIRM_FIELDS:
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = schema.column(key).label
            next_col += 1
    cells = {(match.row, columns["confirmation"]): OUTCOME_LABELS[kind],
             (match.row, columns["confirmed_by"]): by.strip(),
             (match.row, columns["confirmed_at"]): _naive_local(now, tz),
             (match.row, columns["confirm_channel"]): channel}
    write_cells(path, table.sheet, table.header_row, headers, cells, backup_dir=backup_dir)
    report = validate_orders(path, now, store=None, rules=rules, tz_name=tz_name, confirm_within=confirm_within,
                             backup_dir=backup_dir, policy=policy)
    return next(r for r in report.rows if r.row == match.row)
