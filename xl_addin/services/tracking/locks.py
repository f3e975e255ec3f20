"""One copy of a job per desk (refresh, scheduled jobs)."""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from xl_addin.errors import JobLocked
from xl_addin.processes import pid_alive

@contextmanager
def job_lock(lock_dir: Path, job: str) -> Iterator[Path]:
    """One copy of a job per desk: an exclusive lock file naming host and pid. A lock left by a
    process that is gone (killed, crashed) on this host is taken over."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{job}.lock"
    me = f"{socket.gethostname()}:{os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() if path.exists() else ""
            host, _, pid = holder.partition(":")
            if host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                path.unlink(missing_ok=True)  # stale: the holder is gone
                continue
            raise JobLocked(f"另一个 {job} 正在运行（{holder or '未知进程'}），本次不运行",
                            f"等它结束后再试；若确认没有在运行，可删除 {path}")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)
        break
    try:
        yield path
    finally:
        try:
            if path.read_text(encoding="utf-8").strip() == me:
                path.unlink()
        except OSError:
            pass
