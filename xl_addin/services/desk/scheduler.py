"""``xl-logistics schedule``: run the desk's jobs without an OS scheduler.

When each job fires is computed by APScheduler's triggers (cron fields, intervals, time zones and
daylight-saving rules handled by a well-kept library); the loop around them is ours so that the
clock can be injected (a test runs hours of schedule in a second) and jobs run one at a time,
each as a one-shot command (a subprocess of ``xl-logistics``), so a crashing job never takes the
scheduler down. Ctrl-C (or ``stop()``) ends the loop cleanly between jobs.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

_DAYS = {"MON": "mon", "TUE": "tue", "WED": "wed", "THU": "thu", "FRI": "fri", "SAT": "sat", "SUN": "sun"}
_CRON_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}
_SCHTASKS_DAYS = {"mon": "MON", "tue": "TUE", "wed": "WED", "thu": "THU", "fri": "FRI", "sat": "SAT", "sun": "SUN"}


@dataclass
class JobSpec:
    """One scheduled job: its name, the command-line arguments, and when it fires."""

    name: str
    args: list[str]
    every_hours: int | None = None          # interval jobs
    day_of_week: str | None = None          # cron jobs: "mon"
    day: int | None = None                  # cron jobs: day of month
    hour: int = 0
    minute: int = 0

    def trigger(self, tz, start: datetime):
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if self.every_hours:
            return IntervalTrigger(hours=self.every_hours, start_date=start, timezone=tz)
        kw: dict[str, Any] = {"hour": self.hour, "minute": self.minute, "timezone": tz}
        if self.day_of_week:
            kw["day_of_week"] = self.day_of_week
        if self.day:
            kw["day"] = self.day
        return CronTrigger(**kw)

    def cron_fields(self) -> str:
        if self.every_hours:
            return f"{self.minute} */{self.every_hours} * * *"
        dow = str(_CRON_DAYS[self.day_of_week]) if self.day_of_week else "*"
        return f"{self.minute} {self.hour} {self.day or '*'} * {dow}"


def _hhmm(text: str, what: str) -> tuple[int, int]:
    from xl_addin.errors import ConfigError

    try:
        h, m = (int(x) for x in text.strip().split(":"))
        if 0 <= h < 24 and 0 <= m < 60:
            return h, m
    except ValueError:
        pass
    raise ConfigError(f"[schedule] {what} 的时间格式不对: {text!r}", "请写成 09:00")


def jobs_from_settings(settings) -> list[JobSpec]:
    """The desk's jobs with their times from [schedule]."""
    from xl_addin.errors import ConfigError

    s = settings.schedule
    parts = s.weekly_summary.split()
    if len(parts) != 2 or parts[0].upper() not in _DAYS:
        raise ConfigError(f"[schedule] weekly_summary 格式不对: {s.weekly_summary!r}", '请写成 "MON 09:00"')
    wh, wm = _hhmm(parts[1], "weekly_summary")
    ah, am = _hhmm(getattr(s, "monthly_archive_time", "06:00"), "monthly_archive_time")
    fh, fm = _hhmm(getattr(s, "followup_reminder_time", "09:30"), "followup_reminder_time")
    return [
        JobSpec("refresh", ["refresh"], every_hours=max(1, int(s.refresh_every_hours))),
        JobSpec("health", [], every_hours=max(1, int(s.health_every_hours)), minute=5),
        # catch-up: signings are completed where they are learnt; this finds any missed and releases held orders
        JobSpec("close", ["close"], every_hours=max(1, int(s.refresh_every_hours)), minute=20),
        JobSpec("summary", ["summary", "--week", "{last_week}"], day_of_week=_DAYS[parts[0].upper()],
                hour=wh, minute=wm),
        JobSpec("archive", ["archive", "--month", "{last_month}"], day=int(s.monthly_archive_day), hour=ah, minute=am),
        JobSpec("followups", ["followups", "--remind"], hour=fh, minute=fm),
    ]


def job_args(job: JobSpec, fire: datetime) -> list[str]:
    """The job's arguments with {last_week} / {last_month} filled for the moment it fires."""
    from xl_addin.domain.closing import previous_month

    year, week, _ = (fire.date() - timedelta(days=7)).isocalendar()
    values = {"{last_week}": f"{year}-W{week:02d}", "{last_month}": previous_month(fire.date())}
    return [values.get(a, a) for a in job.args]


def check_receiver(url: str) -> tuple[bool, str]:
    """GET the push receiver's /healthz; skipped (ok) when no URL is configured."""
    if not url:
        return True, "跳过: 未配置 [schedule] receiver_health_url"
    import requests

    try:
        r = requests.get(url, timeout=5)
    except requests.RequestException as exc:
        return False, f"推送接收服务无响应: {type(exc).__name__}"
    return r.status_code == 200, f"HTTP {r.status_code}"


# ---------------------------------------------------------------- clocks

class RealClock:
    def __init__(self, tz):
        self.tz = tz
        self._stop = threading.Event()

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def sleep_until(self, moment: datetime) -> bool:
        """Sleep until ``moment``; False when stopped meanwhile."""
        while not self._stop.is_set():
            left = (moment - self.now()).total_seconds()
            if left <= 0:
                return True
            self._stop.wait(min(left, 60.0))
        return False

    def stop(self) -> None:
        self._stop.set()


class FastClock:
    """Simulated time: sleeping jumps straight to the moment (for tests and dry runs)."""

    def __init__(self, start: datetime, until: datetime):
        self._now, self.until = start, until
        self._stopped = False

    def now(self) -> datetime:
        return self._now

    def sleep_until(self, moment: datetime) -> bool:
        if self._stopped or moment > self.until:
            return False
        self._now = max(self._now, moment)
        return True

    def stop(self) -> None:
        self._stopped = True


# ---------------------------------------------------------------- the loop

@dataclass
class RunRecord:
    job: str
    at: datetime
    ok: bool
    detail: str


@dataclass
class Scheduler:
    jobs: list[JobSpec]
    runner: Callable[[JobSpec, datetime], tuple[bool, str]]
    clock: Any
    tz: Any
    history: list[RunRecord] = field(default_factory=list)

    def stop(self) -> None:
        self.clock.stop()

    def run(self) -> list[RunRecord]:
        """Fire jobs when due, one at a time; a failing job is logged and the loop goes on."""
        start = self.clock.now()
        triggers = {j.name: j.trigger(self.tz, start) for j in self.jobs}
        next_at = {j.name: triggers[j.name].get_next_fire_time(None, start) for j in self.jobs}
        try:
            while True:
                name = min((n for n in next_at if next_at[n] is not None), key=lambda n: next_at[n], default=None)
                if name is None or not self.clock.sleep_until(next_at[name]):
                    break
                fire = next_at[name]
                job = next(j for j in self.jobs if j.name == name)
                try:
                    ok, detail = self.runner(job, fire)
                except Exception as exc:  # a job's failure never stops the scheduler
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                self.history.append(RunRecord(name, fire, ok, detail))
                (log.info if ok else log.warning)("scheduled %s at %s: %s %s", name, fire, "ok" if ok else "failed",
                                                  detail)
                after = max(fire, self.clock.now())
                next_at[name] = triggers[name].get_next_fire_time(fire, after + timedelta(seconds=1))
        except KeyboardInterrupt:
            log.info("scheduler stopped by Ctrl-C")
        return self.history


def command_prefix() -> list[str]:
    return [sys.executable, "-m", "xl_addin"]


def subprocess_runner(desk_root: Path, settings, timeout: float = 3 * 3600) -> Callable[[JobSpec, datetime], tuple[bool, str]]:
    """Run a job as ``xl-logistics <args> --desk DIR`` in its own process (its lock, its exit code).

    The scheduler never imports the CLI: a command the CLI does not have fails in that process (click's
    exit 2) and is reported as a failed run."""

    def run(job: JobSpec, fire: datetime) -> tuple[bool, str]:
        if job.name == "health":
            return check_receiver(settings.schedule.receiver_health_url)
        proc = subprocess.run(command_prefix() + job_args(job, fire) + ["--desk", str(desk_root)],
                              capture_output=True, text=True, timeout=timeout, encoding="utf-8", errors="replace")
        tail = (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or [""])[-1]
        return proc.returncode == 0, f"exit {proc.returncode}: {tail}"

    return run


# ---------------------------------------------------------------- OS scheduler entries

def _exe() -> str:
    exe = Path(sys.executable)
    script = exe.with_name("xl-logistics.exe" if sys.platform == "win32" else "xl-logistics")
    return str(script) if script.exists() else f"{exe} -m xl_addin"


def print_cron(jobs: list[JobSpec], desk_root: Path, tz_name: str) -> str:
    lines = ["# xl-logistics 定时任务 (crontab -e 粘贴); 时间按下面的时区",
             f"CRON_TZ={tz_name}"]
    for j in jobs:
        cmd = f"{_exe()} schedule --run-job {j.name} --desk {shlex.quote(str(desk_root))}"
        lines.append(f"{j.cron_fields()} {cmd} >/dev/null 2>&1  # {j.name}")
    return "\n".join(lines) + "\n"


def print_schtasks(jobs: list[JobSpec], desk_root: Path) -> str:
    """schtasks lines for Windows Task Scheduler (one task per job; times are the PC's local time)."""
    lines = ["REM xl-logistics 计划任务 (在命令提示符里以当前用户运行)"]
    for j in jobs:
        tr = f'\\"{_exe()}\\" schedule --run-job {j.name} --desk \\"{desk_root}\\"'
        name = f"xl-logistics\\{j.name}"
        if j.every_hours:
            when = f"/SC HOURLY /MO {j.every_hours} /ST 00:{j.minute:02d}"
        elif j.day_of_week:
            when = f"/SC WEEKLY /D {_SCHTASKS_DAYS[j.day_of_week]} /ST {j.hour:02d}:{j.minute:02d}"
        elif j.day:
            when = f"/SC MONTHLY /D {j.day} /ST {j.hour:02d}:{j.minute:02d}"
        else:
            when = f"/SC DAILY /ST {j.hour:02d}:{j.minute:02d}"
        lines.append(f'schtasks /Create /F /TN "{name}" {when} /TR "{tr}"')
    return "\r\n".join(lines) + "\r\n"
