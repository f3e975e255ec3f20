"""Stage 1 command: import (bring orders in from back-office / ERP exports)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS

SHOW_ROWS = 60
_MARKS = {"added": "+", "skipped": "·", "flagged": "✗", "updated": "↻", "kept": "=", "rejected": "✗"}
_WORDS = {"added": "添加", "skipped": "跳过", "flagged": "来源不一致", "updated": "采用新值", "kept": "保留表中",
          "rejected": "未导入"}


def _split(values: tuple[str, ...]) -> list[str]:
    return [p.strip() for v in values for p in v.replace("，", ",").split(",") if p.strip()]


def _render(report) -> str:
    s = report.summary
    lines = report.proposal.lines()
    if report.mapping_saved:
        lines.append(f"  已保存来源「{report.source}」的对应关系，下次导入直接沿用。")
    lines.append(f"{report.file.name} → {report.workbook.name} / {report.sheet}: 共 {s['rows']} 行 — 添加 {s['added']}，"
                 f"跳过 {s['skipped']}，来源不一致 {s['flagged']}，采用新值 {s['updated']}，保留表中 {s['kept']}，"
                 f"未导入 {s['rejected']}")
    shown = [r for r in report.rows if r.action != "added"] + [r for r in report.rows if r.action == "added"]
    for r in shown[:SHOW_ROWS]:
        code = f" [{r.code}]" if r.code else ""
        lines.append(f"  {_MARKS[r.action]} 第{r.row}行 {r.order_no or ''} {_WORDS[r.action]}{code}: {r.message}")
    if len(shown) > SHOW_ROWS:
        lines.append(f"  … 另有 {len(shown) - SHOW_ROWS} 行（用 --json 查看全部）")
    lines += [f"  注: {n}" for n in report.notes[:10]]
    if report.validation:
        v = report.validation
        lines.append(f"已校验: 通过 {v['ok']}，待复核 {v['warnings']}，有问题 {v['errors']}")
    return "\n".join(lines)


def _confirmer(accept_mapping: bool):
    """--accept-mapping confirms; at a terminal a person is asked; otherwise nothing is guessed silently."""
    if accept_mapping:
        return lambda proposal: True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def ask(proposal) -> bool:
        click.echo("\n".join(proposal.lines()), err=True)
        return click.confirm("采用这个对应关系并保存？", default=False, err=True)

    return ask


def _configured_sheet(desk, file: Path) -> str | None:
    """``[intake] export_sheet`` for .xlsx exports (a CSV has no sheets, so the setting does not apply to it)."""
    if file.suffix.lower() in (".xlsx", ".xlsm"):
        return desk.settings.intake.export_sheet or None
    return None


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", default=None, metavar="NAME",
              help="Name of the source (e.g. 天猫旗舰店, 金蝶ERP); its confirmed header mapping is saved and reused.")
@click.option("--accept-mapping", is_flag=True,
              help="Confirm the proposed (or --map corrected) header mapping without asking.")
@click.option("--map", "maps", multiple=True, metavar="OURS=THEIRS",
              help="Correct the mapping: our column = the export's header, e.g. --map 订单编号=外部单号 "
                   "(repeatable, or comma-separated; 规格= drops a column).")
@click.option("--accept-changes", "accept_changes", multiple=True, metavar="ORDER_NO[,ORDER_NO]",
              help="Take the source's new values for these SOURCE_MISMATCH orders (needs --by).")
@click.option("--keep-current", "keep_current", multiple=True, metavar="ORDER_NO[,ORDER_NO]",
              help="Keep the sheet's values for these SOURCE_MISMATCH orders and stop flagging them (needs --by).")
@click.option("--by", "by", default=None, help="Who decides (recorded in the audit log).")
@click.option("--channel", default=None, help="接收渠道 for rows whose export has none (电商后台 / ERP / 邮件 …).")
@click.option("--sheet", default=None,
              help="Sheet of an .xlsx export to read (default: the first visible sheet with data).")
@click.option("--validate", "run_validate", is_flag=True, help="Run validate on the Order Confirmation afterwards.")
@common_options
def import_orders(file: Path, source: str | None, accept_mapping: bool, maps: tuple[str, ...],
                  accept_changes: tuple[str, ...], keep_current: tuple[str, ...], by: str | None,
                  channel: str | None, sheet: str | None, run_validate: bool, opts: Options) -> int:
    """Append orders from a back-office or ERP export (CSV in UTF-8/GBK, or .xlsx) to the Order Confirmation.

    The header mapping is guessed from column names; for a new source it is shown and saved only once
    confirmed (asked at a terminal, else --accept-mapping). Orders already present are skipped; an order
    the source sends again with different content is flagged SOURCE_MISMATCH and never overwritten unless
    --accept-changes ORDER_NO --by NAME. Exit 0 done, 1 some rows need attention, 2 nothing imported.
    """
    from xl_addin.adapters.imports import parse_map_options
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.services.intake.order_import import MappingNeedsConfirmation, import_orders as run_import

    setup_logs(opts)
    desk = load_desk(opts.desk)
    tz = desk.settings.desk.timezone
    overrides = parse_map_options(maps)
    with store_for(desk) as store:
        try:
            report = run_import(file, desk.workbook("orders"), opts.now(tz), store=store, source=source,
                                overrides=overrides, confirm=_confirmer(accept_mapping),
                                accept_changes=_split(accept_changes), keep_current=_split(keep_current),
                                by=by, channel=channel, tz_name=tz, backup_dir=desk.backup_dir,
                                validate=run_validate, export_sheet=sheet or _configured_sheet(desk, file),
                                confirm_within=timedelta(minutes=desk.settings.intake.confirm_within_minutes))
        except MappingNeedsConfirmation as exc:
            payload = {"error": {"message": exc.message, "hint": exc.hint, "path": exc.path,
                                 "type": type(exc).__name__}, "mapping": exc.proposal.as_dict()}
            emit(opts, payload, "\n".join(exc.proposal.lines()))
            click.echo(f"错误: {exc}", err=True)
            return EXIT_FAILED
    emit(opts, report.as_dict(), lambda: _render(report))
    return EXIT_ROW_ERRORS if report.has_errors else EXIT_OK
