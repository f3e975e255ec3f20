"""Stage 1 commands: validate, confirm."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

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
             f"已取消 {s['cancelled']}"]
    bad = [r for r in report.rows if r.result.problems]
    for r in bad[:SHOW_ROWS]:
        for p in r.result.problems:
            mark = "✗" if p.severity == "error" else "!"
            lines.append(f"  {mark} 第{r.row}行 {r.order_no or ''} [{p.code}] {p.message}")
    if len(bad) > SHOW_ROWS:
        lines.append(f"  … 另有 {len(bad) - SHOW_ROWS} 行有问题（用 --json 查看全部，或看工作簿的“问题说明”列）")
    for r in report.overdue_rows()[:SHOW_ROWS]:
        lines.append(f"  ⏰ 第{r.row}行 {r.order_no} 客户确认已超时（截止 {r.decision.deadline:%m-%d %H:%M}）")
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
    from xl_addin.services.intake import validate_orders
    from xl_addin.services.intake_rules import rules_for_desk
    from xl_addin.services.row_checking import CheckPlan

    setup_logs(opts)
    path, desk = _target(opts, file)
    rules = rules_for_desk(desk)
    tz = desk.settings.desk.timezone if desk else "Asia/Shanghai"
    window = timedelta(minutes=desk.settings.intake.confirm_within_minutes) if desk else timedelta(hours=1)
    intake = desk.settings.intake if desk else None
    plan = CheckPlan(intake.parallel_from_rows, intake.workers) if intake else CheckPlan()
    bar = progress_bar(None, "校验订单")
    store = store_for(desk) if desk else None
    try:
        report = validate_orders(path, opts.now(tz), store=store, rules=rules, tz_name=tz, confirm_within=window,
                                 backup_dir=desk.backup_dir if desk else None, sheet_name=sheet,
                                 write=not no_write, progress=bar, plan=plan)
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


@cli.command()
@click.argument("order_no")
@click.option("--outcome", required=True, help="已确认 / 已更正 / 已取消 (confirmed / corrected / cancelled).")
@click.option("--by", "by", required=True, help="Who contacted the customer.")
@click.option("--channel", default="电话", show_default=True, help="How: 电话 / 微信 / 邮件 / 短信.")
@common_options
def confirm(order_no: str, outcome: str, by: str, channel: str, opts: Options) -> int:
    """Record the customer's answer for one order (the 1-hour confirmation loop); the row is re-checked."""
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake import record_confirmation

    setup_logs(opts)
    desk = load_desk(opts.desk)
    tz = desk.settings.desk.timezone
    with store_for(desk) as store:
        row = record_confirmation(desk.workbook("orders"), order_no, outcome, by, opts.now(tz), channel=channel,
                                  store=store, tz_name=tz, backup_dir=desk.backup_dir,
                                  confirm_within=timedelta(minutes=desk.settings.intake.confirm_within_minutes))
    emit(opts, row.as_dict(), f"订单 {order_no}（第{row.row}行）: {row.decision.status_label}"
         + (f"；{row.decision.note}" if row.decision.note else ""))
    return EXIT_OK if row.decision.status in ("confirmed", "cancelled") else EXIT_ROW_ERRORS
