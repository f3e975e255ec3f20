"""The scheduler on a fast clock: two jobs run on time, one fails every time, the loop survives."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from xl_addin.config import Settings
from xl_addin.services.desk.scheduler import (
    FastClock, JobSpec, Scheduler, job_args, jobs_from_settings, print_cron, print_schtasks, subprocess_runner,
)

TZ = ZoneInfo("Asia/Shanghai")


def test_two_jobs_on_a_fast_clock_survive_a_failing_one():
    start = datetime(2026, 11, 2, 8, 30, tzinfo=TZ)           # a Monday
    ran: list[tuple[str, datetime]] = []

    def runner(job, fire):
        ran.append((job.name, fire))
        if job.name == "summary":
            raise RuntimeError("SMTP down")
        return True, "ok"

    jobs = [JobSpec("refresh", ["refresh"], every_hours=2), JobSpec("summary", ["summary"], day_of_week="mon", hour=9)]
    sched = Scheduler(jobs, runner, FastClock(start, start + timedelta(days=8)), TZ)
    history = sched.run()
    refresh = [f for n, f in ran if n == "refresh"]
    assert len(refresh) == 8 * 12 + 1 and all(b - a == timedelta(hours=2) for a, b in zip(refresh, refresh[1:]))
    assert [f for n, f in ran if n == "summary"] == [datetime(2026, 11, 2, 9, 0, tzinfo=TZ),
                                                   datetime(2026, 11, 9, 9, 0, tzinfo=TZ)]
    failed = [h for h in history if not h.ok]
    assert len(failed) == 2 and "SMTP down" in failed[0].detail
    assert history[-1].job == "refresh"    # runs went on after the failure


def test_jobs_from_config_and_os_scheduler_entries(tmp_path):
    s = Settings()
    s.schedule.weekly_summary = "MON 09:00"
    jobs = {j.name: j for j in jobs_from_settings(s)}
    assert set(jobs) == {"refresh", "health", "close", "summary", "archive", "followups"}
    assert jobs["close"].args == ["close"] and jobs["close"].every_hours == 2
    assert jobs["archive"].day == 1 and (jobs["followups"].hour, jobs["followups"].minute) == (9, 30)
    fire = datetime(2026, 12, 1, 6, 0, tzinfo=TZ)
    assert job_args(jobs["archive"], fire) == ["archive", "--month", "2026-11"]
    assert job_args(jobs["summary"], datetime(2026, 11, 30, 9, 0, tzinfo=TZ)) == ["summary", "--week", "2026-W48"]
    cron = print_cron(list(jobs.values()), tmp_path, "Asia/Shanghai")
    assert "CRON_TZ=Asia/Shanghai" in cron and "0 */2 * * * " in cron and "0 9 * * 1 " in cron
    assert "0 6 1 * * " in cron and "schedule --run-job archive" in cron
    win = print_schtasks(list(jobs.values()), tmp_path)
    assert "/SC WEEKLY /D MON /ST 09:00" in win and "/SC MONTHLY /D 1 /ST 06:00" in win and "\r\n" in win


def test_a_job_whose_command_the_cli_lacks_is_a_failed_run(tmp_path):
    """The runner starts the real CLI in its own process; a command it does not have fails there."""
    run = subprocess_runner(tmp_path, Settings(), timeout=120)
    ok, detail = run(JobSpec("ghost", ["no-such-command"], every_hours=1), datetime(2026, 11, 2, 8, 0, tzinfo=TZ))
    assert not ok and detail.startswith("exit 2")
