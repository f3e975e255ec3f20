"""Stage 1 commands: validate, confirm, override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from xl_addin.display.moments import desk_time
from xl_addin.entrypoints.common import Options, common_options, emit, progress_bar
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS, UserError

SHOW_ROWS = 40


def _target(opts: Options, file: Path | None):
    """The workbook to check and, when it is the desk's own order book, the desk (whose store keeps the results)."""
    from xl_addin.bootstrap import load_desk

    desk = load_desk(opts.desk, must_exist=False)
    if file is None:
        if not desk.is_initialised():
            raise UserError(f"{desk.root} 不是物流台账文件夹", "请给出要校验的 .xlsx 文件，或用 --desk 指定台账")
        return desk.workbook("orders"), desk
    file = file.resolve()
    if desk.is_initialised() and file == desk.workbook("orders").resolve():
        return file, desk
    return file, None


def _render(report) -> str:
    s = report.summary
    lines = [f"{report.file.name} / {report.sheet}: {s['rows']} 行 — 通过 {s['ok']}，待复核 {s['warnings']}，"
             f"有问题 {s['errors']}；已确认 {s['confirmed']}，待客户确认 {s['awaiting']}（超时 {s['overdue']}），"
             f"已取消 {s['cancelled']}" + (f"，已进入后续环节 {s['later']}" if s.get("later") else "")]
    bad = [r for r in report.rows if r.result.problems]
    for r in bad[:SHOW_ROWS]:
        for p in r.result.problems:
            mark = "✗" if p.severity == "error" else "!"
            lines.append(f"  {mark} 第{r.row}行 {r.order_no or ''} {p.message}")
    if len(bad) > SHOW_ROWS:
        lines.append(f"  … 另有 {len(bad) - SHOW_ROWS} 行有问题（用 --json 查看全部，或看工作簿的“问题说明”列）")
    for r in report.overdue_rows()[:SHOW_ROWS]:
        deadline = r.decision.deadline
        lines.append(f"  ⏰ 第{r.row}行 {r.order_no} 客户确认已超时（截止 {desk_time(deadline, deadline.tzinfo)}）")
    lines += [f"  注: {n}" for n in report.notes[:10]]
    if report.written:
        lines.append("结果已写入工作簿。")
    elif report.write_message:
        lines.append(f"未写入工作簿: {report.write_message}")
    return "\n".join(lines)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--sheet", default=None, help="Sheet to check (default: the order sheet, found by its header).")
@click.option("--no-write", is_flag=True, help="Check and report only; leave the workbook as it is.")
@common_options
def validate(file: Path | None, sheet: str | None, no_write: bool, opts: Options) -> int:
    """Check every order row (phone, address, prohibited goods, quantities, duplicates, special requirements),
    run the customer-confirmation loop and write the results into the product's columns.

    FILE defaults to the desk's Order Confirmation workbook; any .xlsx whose header carries the required
    columns (Chinese labels or English aliases) works, also outside a desk.
    Exit 0 when no row has an error, 1 when some do, 2 when the file could not be checked.
    """
    from xl_addin.bootstrap import store_for
    from xl_addin.services.intake.validation import validate_orders
    from xl_addin.services.intake.desk_rules import policy_for_desk, rules_for_desk
    from xl_addin.services.intake.row_checking import CheckPlan

    setup_logs(opts)
    path, desk = _target(opts, file)
    rules = rules_for_desk(desk)
    tz = desk.settings.desk.timezone if desk else "Asia/Shanghai"
    window = timedelta(minutes=desk.settings.intake.confirm_within_minutes) if desk else timedelta(hours=1)
    intake = desk.settings.intake if desk else None
    if sheet is None and intake is not None and intake.order_sheet:
        sheet = intake.order_sheet  # the desk's own book: the configured sheet
    plan = CheckPlan(intake.parallel_from_rows, intake.workers) if intake else CheckPlan()
    bar = progress_bar(None, "校验订单")
    store = store_for(desk) if desk else None
    try:
        report = validate_orders(path, opts.now(tz), store=store, rules=rules, tz_name=tz, confirm_within=window,
                                 backup_dir=desk.backup_dir if desk else None, sheet_name=sheet,
                                 write=not no_write, progress=bar, policy=policy_for_desk(desk), plan=plan)
    finally:
        bar.close()
        if store is not None:
            store.close()
    if report.write_message:
        click.echo(f"注意: {report.write_message}", err=True)
    if opts.json:  # streamed row by row: a million-row report never sits in memory as one string
        for part in report.iter_json(indent=2):
            click.echo(part, nl=False)
        click.echo()
    else:
        click.echo(_render(report))
    return EXIT_ROW_ERRORS if report.has_errors else EXIT_OK


def _row_answer(opts: Options, order_no: str, row) -> int:
    if row.write_message:
        click.echo(f"注意: {row.write_message}", err=True)
    emit(opts, row.as_dict() | {"written": row.write_message is None, "write_message": row.write_message},
         f"订单 {order_no}（第{row.row}行）: {row.decision.status_label}"
         + (f"；{row.decision.note}" if row.decision.note else ""))
    return EXIT_OK if row.decision.status in ("confirmed", "cancelled") else EXIT_ROW_ERRORS


@cli.command()
@click.argument("order_no")
@click.option("--outcome", required=True, help="已确认 / 已更正 / 已取消 (confirmed / corrected / cancelled).")
@click.option("--by", "by", required=True, help="Who contacted the customer.")
@click.option("--channel", default="电话", show_default=True, help="How: 电话 / 微信 / 邮件 / 短信.")
@common_options
def confirm(order_no: str, outcome: str, by: str, channel: str, opts: Options) -> int:
    """Record the customer's answer for one order (the 1-hour confirmation loop); the row is re-checked.

    The customer's 已确认 clears warnings only: an error stays until the row is corrected (已更正 and the
    re-check passes) or a supervisor lets it through with `override`. The answer is kept in the state store
    first; when the workbook is open in Excel it is written into the row by the next validate.
    Exit 0 when the order is confirmed or cancelled, 1 when it still waits.
    """
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake.confirmation import record_confirmation
    from xl_addin.services.intake.desk_rules import policy_for_desk, rules_for_desk

    setup_logs(opts)
    desk = load_desk(opts.desk)
    tz = desk.settings.desk.timezone
    with store_for(desk) as store:
        row = record_confirmation(desk.workbook("orders"), order_no, outcome, by, opts.now(tz), channel=channel,
                                  store=store, tz_name=tz, backup_dir=desk.backup_dir,
                                  confirm_within=timedelta(minutes=desk.settings.intake.confirm_within_minutes),
                                  policy=policy_for_desk(desk), rules=rules_for_desk(desk))
    return _row_answer(opts, order_no, row)


@cli.command()
@click.argument("order_no")
@click.argument("codes", nargs=-1, required=True)
@click.option("--by", "by", required=True, help="Who lets the order through (a name, recorded in the audit log).")
@click.option("--role", required=True, help="Their role; must be one of [intake] override_roles (default 物流主管).")
@click.option("--reason", required=True, help="Why the order may go on as written (shown in the row).")
@common_options
def override(order_no: str, codes: tuple[str, ...], by: str, role: str, reason: str, opts: Options) -> int:
    """Let one order through despite the errors named by CODES (e.g. PHONE_INVALID ADDRESS_INCOMPLETE).

    Who, role, reason and code are stored in the state store and the audit log, and the row's 问题说明 shows
    the release. PROHIBITED_GOODS, DUPLICATE_ORDER and SOURCE_MISMATCH can never be overridden: correct the
    row or cancel the order. Exit 0 when the order is confirmed, 1 when it still waits (e.g. for the customer),
    2 when nothing was recorded.
    """
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake.desk_rules import policy_for_desk, rules_for_desk
    from xl_addin.services.intake.overrides import record_override

    setup_logs(opts)
    desk = load_desk(opts.desk)
    tz = desk.settings.desk.timezone
    with store_for(desk) as store:
        row = record_override(desk.workbook("orders"), order_no, list(codes), by=by, role=role, reason=reason,
                              now=opts.now(tz), store=store, tz_name=tz, backup_dir=desk.backup_dir,
                              confirm_within=timedelta(minutes=desk.settings.intake.confirm_within_minutes),
                              policy=policy_for_desk(desk), rules=rules_for_desk(desk))
    return _row_answer(opts, order_no, row)
