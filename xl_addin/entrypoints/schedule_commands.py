"""The scheduler command: run the desk's jobs itself, or print entries for cron / Windows Task Scheduler."""

from __future__ import annotations

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_FAILED, EXIT_OK, UserError


@cli.command()
@click.option("--print-cron", is_flag=True, help="Print a crontab block and exit.")
@click.option("--print-windows-task", is_flag=True, help="Print schtasks lines for Windows Task Scheduler and exit.")
@click.option("--run-job", "run_job_name", metavar="NAME", default=None,
              help="Run one job now, as cron or Task Scheduler does (refresh, health, summary, archive, followups).")
@common_options
def schedule(print_cron: bool, print_windows_task: bool, run_job_name: str | None, opts: Options) -> int:
    """Run the jobs on their schedule until Ctrl-C: tracking refresh every 2 hours, push receiver health
    check, weekly summary (Monday 09:00), monthly archive (the 1st), follow-up reminders (daily).
    Times come from [schedule] in the config; a failing job is logged and the others go on."""
    from xl_addin.bootstrap import load_desk
    from xl_addin.config.timezone import desk_timezone
    from xl_addin.services.desk import scheduler as sch

    setup_logs(opts)
    desk = load_desk(opts.desk)
    tz_name = desk.settings.desk.timezone
    tz = desk_timezone(desk.settings)
    jobs = sch.jobs_from_settings(desk.settings)
    if print_cron:
        click.echo(sch.print_cron(jobs, desk.root, tz_name), nl=False)
        return EXIT_OK
    if print_windows_task:
        click.echo(sch.print_schtasks(jobs, desk.root), nl=False)
        return EXIT_OK
    runner = sch.subprocess_runner(desk.root, desk.settings)
    if run_job_name:
        job = next((j for j in jobs if j.name == run_job_name), None)
        if job is None:
            raise UserError(f"没有名为 {run_job_name} 的任务", f"可用: {', '.join(j.name for j in jobs)}")
        ok, detail = runner(job, opts.now(tz_name))
        emit(opts, {"job": job.name, "ok": ok, "detail": detail}, f"{job.name}: {'成功' if ok else '失败'} {detail}")
        return EXIT_OK if ok else EXIT_FAILED
    clock = sch.RealClock(tz)
    scheduler = sch.Scheduler(jobs, runner, clock, tz)
    click.echo("定时任务已启动（Ctrl+C 停止）: " + "，".join(j.name for j in jobs), err=True)
    history = scheduler.run()
    click.echo(f"定时任务已停止，本次共运行 {len(history)} 次，失败 {sum(not h.ok for h in history)} 次", err=True)
    return EXIT_OK
