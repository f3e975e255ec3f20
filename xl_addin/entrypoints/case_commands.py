"""Stage 4 commands: report-exception, cases, case, case-update, sync-ledger, summary."""

from __future__ import annotations

from pathlib import Path
from datetime import tzinfo

import click

from xl_addin.display.moments import desk_time
from xl_addin.display.vocabulary import case_kind
from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS, UserError

FIELD_OPTIONS = (
    "severity", "submitted_at", "handler", "carrier_contact", "carrier_replied_at", "cause", "new_expected",
    "claim_started_at", "claim_amount", "claim_status", "materials_sent_at", "reship_refund", "error_source",
    "binding_checked_at", "correction_requested_at", "address_confirmed_at", "corrected_address",
    "responsible_party", "responsibility_reason", "result", "customer_informed_at", "customer_feedback",
    "receiver_informed_at", "closed_at", "case_status", "evidence", "description", "type",
)


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk

    return load_desk(opts.desk)


def _tz(desk) -> tzinfo:
    from xl_addin.config.timezone import desk_timezone

    return desk_timezone(desk.settings)


@cli.command("report-exception")
@click.option("--waybill", default=None, help="The waybill number.")
@click.option("--order", "order_no", default=None, help="The order number (when there is no waybill yet).")
@click.option("--type", "case_type", required=True, help="延误/丢件/破损/信息错误/其他 (or delay/lost/damaged/wrong_info/other).")
@click.option("--description", required=True, help="What happened.")
@click.option("--evidence", default=None, metavar="PATH_OR_URL", help="Photo or screenshot: a link or a file path.")
@click.option("--by", "by", required=True, help="Who found / reports it.")
@click.option("--severity", default=None, help="高/中/低 (default by type).")
@click.option("--source", default="manual", show_default=True,
              type=click.Choice(["manual", "complaint", "phone"]), help="How it was found.")
@click.option("--submit-to", "handler", default=None, help="Submit to this exception handler now.")
@click.option("--off-system", "off_system", default=None, metavar="REASON",
              help="The shipment is not in this desk's records (sent outside it): say why. Without it an unknown "
                   "waybill or order is refused.")
@common_options
def report_exception(waybill, order_no, case_type, description, evidence, by, severity, source, handler,
                     off_system, opts: Options) -> int:
    """Open an exception case (《异常订单报告》); a second report of the same waybill and type joins the open case.

    The waybill or order must be one this desk knows, unless --off-system gives the reason. An evidence file
    must exist: it is copied into the desk's evidence/ folder and its SHA-256 is recorded with the case, so a
    claim keeps it after the original is moved. Exit 2 when nothing was recorded."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import case_view, report_exception as run, sla_config

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        case = run(store, now, type=case_type, description=description, by=by, waybill_no=waybill,
                   order_no=order_no, evidence=evidence, source=source, severity=severity, handler=handler,
                   tz=_tz(desk), off_system=off_system, desk_root=desk.root)
        view = case_view(case, now, sla_config(desk.settings)) | {"duplicate": case["duplicate"]}
    verb = "已记入未结案件" if case["duplicate"] else "已登记异常案件"
    emit(opts, view, f"{verb} {view['case_id']}（{case_kind(view['type'], view['severity'])}）SLA: {view['sla_status']} "
                     f"{view['sla_detail']}")
    return EXIT_OK


@cli.command("cases")
@click.option("--open", "open_only", is_flag=True, help="Only cases not yet closed.")
@common_options
def cases_cmd(open_only: bool, opts: Options) -> int:
    """List exception cases with their SLA clocks (正常/临近/超时)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import list_cases, sla_config

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        rows = list_cases(store, now, open_only=open_only, config=sla_config(desk.settings))

    def text() -> str:
        if not rows:
            return "没有异常案件"
        return "\n".join(f"{r['case_id']}  {case_kind(r['type'], r['severity'])}  {r.get('waybill_no') or '-'}  "
                         f"{r['case_status']}  [{r['sla_status']}] {r['sla_detail']}" for r in rows)

    emit(opts, rows, text)
    return EXIT_OK


@cli.command("case")
@click.argument("case_id")
@common_options
def case_cmd(case_id: str, opts: Options) -> int:
    """Show one case: fields, clocks, handling steps and full history."""
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import FIELD_ZH, case_view, claim_warning, get_case, sla_config

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        view = case_view(get_case(store, case_id), now, sla_config(desk.settings))
        view["history"] = CaseStore(store).history(view["case_id"])
        from xl_addin.services.cases.evidence import evidence_of

        view["evidence_files"] = evidence_of(store, view["case_id"])
        from xl_addin.services.cases.case_handling import claim_facts

        view.update(claim_facts(store, view))

    def text() -> str:
        lines = [f"案件 {view['case_id']}  {view['type']}（{view['severity']}）  {view['case_status']}  "
                 f"[{view['sla_status']}] {view['sla_detail']}"]
        lines += [f"  {FIELD_ZH[k]}: {view[k]}" for k in FIELD_ZH if view.get(k) not in (None, "")]
        if view["declared_value"] is not None:
            lines.append(f"  订单保价金额: {view['declared_value']}")
        warning = claim_warning(view, view.get("claim_amount"))
        if warning:
            lines.append(f"  {warning}")
        lines.append("处理步骤:")
        lines += [f"  [{'x' if s['done'] else ' '}] {s['label']}" for s in view["steps"]]
        lines += [f"  凭证文件: {e['stored']}  SHA-256 {e['sha256']}（原文件 {e['original']}）" for e in view["evidence_files"]]
        lines.append("历史:")
        lines += [f"  {desk_time(h['changed_at'], _tz(desk))} {h['changed_by']} {h['field']}: {h['old_value'] or ''} → "
                  f"{h['new_value'] or ''} {h['note'] or ''}".rstrip() for h in view["history"]]
        return "\n".join(lines)

    emit(opts, view, text)
    return EXIT_OK


def _field_options(func):
    for name in reversed(FIELD_OPTIONS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None,
                            help=f"Set {name} (times: 2026-11-26 09:30 or now).")(func)
    return func


@cli.command("case-update")
@click.argument("case_id")
@click.option("--by", "by", required=True, help="Who records this step.")
@click.option("--close", "close", is_flag=True, help="Close the case now (needs result, responsible party, informs).")
@_field_options
@common_options
def case_update(case_id: str, by: str, close: bool, opts: Options, **fields) -> int:
    """Record handling steps on a case (any report field), e.g. --cause 暴雨 --new-expected "2026-11-27 18:00"."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import case_view, claim_facts, claim_warning, sla_config, update_case

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    changes = {k: v for k, v in fields.items() if v is not None}
    if close:
        changes.setdefault("closed_at", "now")
    if not changes:
        raise UserError("没有要修改的字段", "例如 --cause 暴雨 --new-expected '2026-11-27 18:00'，或 --close")
    with store_for(desk) as store:
        view = case_view(update_case(store, now, case_id, changes, by=by, tz=_tz(desk)), now, sla_config(desk.settings))
        view.update(claim_facts(store, view))
    warning = claim_warning(view, view.get("claim_amount"))
    emit(opts, view, f"已更新 {view['case_id']}：{view['case_status']} [{view['sla_status']}] {view['sla_detail']}"
         + (f"\n{warning}" if warning else ""))
    return EXIT_OK


@cli.command("sync-ledger")
@common_options
def sync_ledger_cmd(opts: Options) -> int:
    """Two-way sync of the Exception Ledger workbook by case id: staff edits in, store changes out, conflicts shown."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import open_cases_from_anomalies, sla_config
    from xl_addin.services.cases.ledger_sync import sync_ledger

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        opened = open_cases_from_anomalies(store, now, _tz(desk))
        res = sync_ledger(store, desk.workbook("exceptions"), now, tz=_tz(desk), backup_dir=desk.backup_dir,
                          config=sla_config(desk.settings))

    def text() -> str:
        lines = [f"{res.message}：读入修改 {len(res.applied)} 项，写出 {res.pushed} 格，新增行 {len(res.appended)}，"
                 f"新登记 {len(res.created)}，历史 {res.history_rows} 条" + (f"；自动开案 {len(opened)} 件" if opened else "")]
        for c in res.conflicts:
            lines.append(f"  ⚠ 冲突 {c['case_id']} {c['label']}: 台账「{c['workbook']}」/ 系统「{c['store']}」"
                         "——请改成一致（或用 case-update 确认系统值）")
        for p in res.problems:
            lines.append(f"  ! 第{p['row']}行 {p['message']} {p['hint']}".rstrip())
        return "\n".join(lines)

    emit(opts, res.as_dict() | {"opened_from_anomalies": [c["case_id"] for c in opened]}, text)
    return EXIT_ROW_ERRORS if (res.conflicts or res.problems) else EXIT_OK


@cli.command("summary")
@click.option("--week", required=True, metavar="YYYY-Www", help="ISO week, e.g. 2026-W48.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report workbook (default: reports/周度汇总-2026-W48.xlsx in the desk).")
@click.option("--email", "email", default=None, metavar="ADDR[,ADDR]", help="Also e-mail the report (outbox without SMTP).")
@common_options
def summary(week: str, out: Path | None, email: str | None, opts: Options) -> int:
    """Write the weekly summary workbook (overview, carrier scorecard, exception analysis, charts) and its JSON twin."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import sla_config
    from xl_addin.services.closing.weekly_summary import parse_week, write_summary

    setup_logs(opts)
    desk = _desk(opts)
    year, num = parse_week(week)
    label = f"{year}-W{num:02d}"
    target = out or desk.reports_dir / f"周度汇总-{label}.xlsx"
    from xl_addin.services.desk.job_runs import recipients_for, run_job

    def work() -> dict:
        with store_for(desk) as store:
            return write_summary(store, label, target, tz=_tz(desk), config=sla_config(desk.settings),
                                 desk_name=desk.settings.desk.name)

    data = run_job(desk, "summary", opts.now(desk.settings.desk.timezone), work, lambda d: f"{label} → {d['path']}")
    recipients = recipients_for(desk, "summary", email)  # --email, else [smtp] summary_to
    if recipients:
        data["email"] = _email(desk, data, recipients)
    o = data["overview"]

    def text() -> str:
        rate = f"{o['on_time_rate']:.1%}" if o["on_time_rate"] is not None else "-"
        lines = [f"{label} 周报已写入 {data['path']}（JSON: {data['json_path']}）",
                 f"接收 {o['orders_received']}，确认 {o['orders_confirmed']}，发货 {o['orders_shipped']}，"
                 f"签收 {o['orders_delivered']}，准时率 {rate}，新增异常 {o['exceptions_opened']}，"
                 f"结案 {o['exceptions_closed']}，SLA超时 {o['sla_breaches_total']}"]
        if data.get("email"):
            lines.append(data["email"]["message"])
        return "\n".join(lines)

    emit(opts, data, text)
    return EXIT_OK


def _email(desk, data: dict, recipients: list[str]) -> dict:
    from xl_addin.services.notify.notifications import compose_report_email, deliver_email

    o = data["overview"]
    headline = {"签收": o["orders_delivered"], "准时率": f"{o['on_time_rate']:.1%}" if o["on_time_rate"] is not None else "-",
                "新增异常": o["exceptions_opened"], "SLA超时": o["sla_breaches_total"]}
    rows = [["物流商", "发货量", "准时率", "每千单异常"]] + [
        [c["carrier"], str(c["volume"]), f"{c['on_time_rate']:.1%}" if c["on_time_rate"] is not None else "-",
         str(c["exceptions_per_1000_total"] if c["exceptions_per_1000_total"] is not None else "-")]
        for c in data["carriers"]]
    sender = desk.settings.smtp.sender or "xl-logistics@localhost"
    msg = compose_report_email(f"{desk.settings.desk.name} 周度汇总分析 {data['week']}", headline, rows,
                               [Path(data["path"])], sender, recipients)
    res = deliver_email(msg, desk.settings, desk.outbox_dir)
    where = f"邮件已写入发件箱 {res.path}" if getattr(res, "path", None) else "邮件已发送"
    return {"sent": bool(getattr(res, "sent", False)), "path": str(res.path) if getattr(res, "path", None) else None,
            "message": where}
