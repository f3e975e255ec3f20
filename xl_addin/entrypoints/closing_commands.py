"""Stage 5 commands: close, followups, followup, archive. Each is a one-shot job (locked, logged)."""

from __future__ import annotations

import click

from xl_addin.display.moments import desk_time
from xl_addin.display.vocabulary import label
from xl_addin.entrypoints.common import Options, common_options, emit, progress_bar, render
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS, UserError


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk

    return load_desk(opts.desk)


def _tz(desk):
    from xl_addin.config.timezone import desk_timezone

    return desk_timezone(desk.settings)


def _sync_sheet(desk, store, now) -> dict:
    """Bring the 满意度回访 sheet and the store together; a workbook open in Excel is skipped."""
    from xl_addin.services.closing.close_orders import sync_followups_book

    return sync_followups_book(desk.workbook("orders"), store, now, _tz(desk), backup_dir=desk.backup_dir)


@cli.command()
@common_options
def close(opts: Options) -> int:
    """Complete every signed order (with its signing time) unless an exception case on it is open;
    a satisfaction follow-up falls due 24 hours after signing.

    refresh, the push receiver and manual nodes already complete an order when they learn of its signing;
    this is the catch-up and audit run (the scheduler starts it), which also releases held orders whose
    case has closed."""
    from xl_addin.bootstrap import build_uow
    from xl_addin.services.closing import close as use_case
    from xl_addin.services.desk.job_runs import run_job

    setup_logs(opts)
    request = use_case.CloseRequest()
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)

    def work():
        with build_uow(desk, now) as uow:
            return use_case.run(uow, request)

    return render(opts, run_job(desk, "close", now, work, use_case.job_summary))


@cli.command()
@click.option("--email", "email", metavar="ADDR[,ADDR]", default=None,
              help="E-mail the list (with the workbook attached) to these addresses.")
@click.option("--remind", is_flag=True,
              help="Reminder mode for the scheduler: e-mail the configured list ([smtp] followups_to) when any "
                   "follow-up is due or overdue.")
@common_options
def followups(email: str | None, remind: bool, opts: Options) -> int:
    """List satisfaction follow-ups: due, overdue, done. Answers typed into the 满意度回访 sheet are recorded first."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import due_within, followup_counts, followup_list, write_followups_report
    from xl_addin.services.desk.job_runs import email_report, recipients_for, run_job

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    tz = _tz(desk)
    state: dict = {}

    def work():
        with store_for(desk) as store:
            sheet = _sync_sheet(desk, store, now)
            items = followup_list(store, now)
        counts = followup_counts(items)
        out = {"counts": counts, "followups": items, "sheet": sheet, "email": None}
        to = recipients_for(desk, "followups", email)
        open_items = due_within(items, 24)
        if to and (open_items or not remind):
            report = write_followups_report(open_items, desk.reports_dir, now, tz)
            out["report"] = str(report)
            state["out"] = out
            rows = [["订单编号", "状态", "回访截止"]] + [[f["order_no"], f["state_zh"], desk_time(f["due_at"], tz)]
                                                   for f in open_items[:30]]
            res = email_report(desk, f"满意度回访提醒 {now.astimezone(tz):%Y-%m-%d}：待回访 {counts['due']}，"
                                     f"已超时 {counts['overdue']}",
                               {"待回访": counts["due"], "已超时": counts["overdue"], "已完成": counts["done"]},
                               rows, [report], to)
            out["email"] = {"sent": res.sent, "path": str(res.path) if res.path else None,
                            "recipients": list(res.recipients), "text": res.describe()}
        return out

    job = "followups" if remind else "followups-list"
    try:
        out = run_job(desk, job, now, work,
                      lambda r: f"待回访 {r['counts']['due']}，已超时 {r['counts']['overdue']}，已完成 {r['counts']['done']}")
    except UserError:
        if "out" in state:
            click.echo(f"回访清单已写入 {state['out']['report']}", err=True)
        raise

    def text() -> str:
        c = out["counts"]
        lines = [f"待回访 {c['due']}，已超时 {c['overdue']}，已完成 {c['done']}"]
        for f in out["followups"]:
            if f["state"] != "done":
                left = f"剩 {f['hours_left']} 小时" if f["hours_left"] >= 0 else f"超时 {-f['hours_left']} 小时"
                lines.append(f"  {f['state_zh']} {f['order_no']}  截止 {desk_time(f['due_at'], tz)}  {left}")
        for p in out["sheet"].get("problems", [])[:20]:
            lines.append(f"  ! {p}")
        lines.append(out["sheet"]["message"])
        if out["email"]:
            lines.append(out["email"]["text"])
        return "\n".join(lines)

    emit(opts, out, text)
    return EXIT_ROW_ERRORS if out["sheet"].get("problems") else EXIT_OK


@cli.command()
@click.argument("order_no")
@click.option("--intact", required=True, metavar="yes/no", help="Goods arrived intact? (yes/no, 是/否)")
@click.option("--speed-ok", "speed_ok", required=True, metavar="yes/no", help="Delivery speed satisfied? (yes/no)")
@click.option("--score", default=None, metavar="1-5", help="Satisfaction score 1–5.")
@click.option("--comment", default="", help="What the customer said.")
@click.option("--by", "by", required=True, metavar="NAME", help="Who called the customer.")
@common_options
def followup(order_no: str, intact: str, speed_ok: str, score: str | None, comment: str, by: str,
             opts: Options) -> int:
    """Record one satisfaction follow-up; a "no" opens (or links) a damaged / delay exception case."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import record_followup

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        out = record_followup(store, now, order_no.strip(), by=by, goods_intact=intact, speed_ok=speed_ok,
                              score=score, comment=comment)
        out["sheet"] = _sync_sheet(desk, store, now)
    cases = f"；已登记异常 {', '.join(out['case_ids'])}" if out["case_ids"] else ""
    emit(opts, out, f"已记录订单 {out['order_no']} 的回访{'（超过24小时）' if not out['on_time'] else ''}{cases}")
    return EXIT_OK


@cli.command()
@click.option("--month", "month", metavar="YYYY-MM", default=None, help="The month to archive (or 'last').")
@click.option("--verify", "verify_month", metavar="YYYY-MM", default=None,
              help="Only re-check an existing archive against its manifest.")
@click.option("--force-open-cases", is_flag=True, help="Archive even though exception cases are still open.")
@click.option("--email", "email", metavar="ADDR[,ADDR]", default=None, help="E-mail the archive summary.")
@common_options
def archive(month: str | None, verify_month: str | None, force_open_cases: bool, email: str | None,
            opts: Options) -> int:
    """Archive a finished month: workbooks + manifest under archive/YYYY-MM/, read back and checked,
    then the archived rows leave the live workbooks. Idempotent; a stopped run resumes."""
    from xl_addin.domain.closing import previous_month
    from xl_addin.services.closing.archive import archive_attachments, verify_archive

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    if verify_month:
        folder = desk.archive_dir / verify_month
        problems = verify_archive(folder)
        emit(opts, {"month": verify_month, "ok": not problems, "problems": problems},
             lambda: "\n".join([f"{verify_month} 归档核对通过"] if not problems else
                               [f"{verify_month} 归档核对发现问题:"] + [f"  ! {p}" for p in problems]))
        return EXIT_OK if not problems else EXIT_FAILED
    if not month:
        raise UserError("请用 --month 指定要归档的月份", "例如 --month 2026-10，或 --verify 2026-10 只做核对")
    if month == "last":
        month = previous_month(now.astimezone(_tz(desk)).date())
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import archive_month
    from xl_addin.services.desk.job_runs import email_report, recipients_for, run_job

    def work():
        bar = progress_bar(None, "月度归档", unit="步")  # a terminal's bar; Excel's status bar from the ribbon
        try:
            with store_for(desk) as store:
                return archive_month(desk, store, month, now, force_open_cases=force_open_cases, steps=bar)
        finally:
            bar.close()

    out = run_job(desk, "archive", now, work,
                  lambda r: f"{r['month']} {label('archive_status', r['status'])}，订单 {r['orders']} 单")
    to = recipients_for(desk, "archive", email)
    if to:
        rows = [["文件", "行数", "SHA-256"]] + [[name, sum(info["rows"].values()), info["sha256"][:16] + "…"]
                                             for name, info in out["files"].items()]
        res = email_report(desk, f"月度归档 {out['month']}：订单 {out['orders']} 单",
                           {"归档订单": out["orders"], "文件数": len(out["files"])}, rows,
                           archive_attachments(out), to)
        out["email"] = {"sent": res.sent, "path": str(res.path) if res.path else None, "text": res.describe()}

    def text() -> str:
        head = (f"{out['month']} 已归档过，未做改动" if out["status"] == "already_complete"
                else f"{out['month']} 归档完成: 订单 {out['orders']} 单 → {out['folder']}")
        lines = [head] + [f"  {n}: {sum(i['rows'].values())} 行" for n, i in out["files"].items()]
        if out.get("removed"):
            lines.append("在用工作簿删除: " + "，".join(f"{label('book', k)} {v} 行" for k, v in out["removed"].items()))
        if out.get("email"):
            lines.append(out["email"]["text"])
        return "\n".join(lines)

    emit(opts, out, text)
    return EXIT_OK
