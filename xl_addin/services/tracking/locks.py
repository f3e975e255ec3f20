"""One copy of a job per desk (refresh, scheduled jobs)."""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from xl_addin.errors import JobLocked
from xl_addin.processes import pid_alive

EMPTY_LOCK_STALE_S = 60.0  # an empty lock file (left by an older version killed while creating it)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _stale(path: Path) -> bool:
    """The holder is gone: a pid on this host that no longer runs, or an empty file older than a minute."""
    holder = _holder(path)
    if not holder:
        try:
            return time.time() - path.stat().st_mtime > EMPTY_LOCK_STALE_S
        except OSError:
            return True  # gone meanwhile: try again
    host, _, pid = holder.partition(":")
    return host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))


def _place(draft: Path, path: Path, me: str) -> None:
    """Create ``path`` holding ``me``, or raise FileExistsError."""
    try:
        os.link(draft, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: create exclusively, then write (a short empty window)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)


@contextmanager
def job_lock(lock_dir: Path, job: str) -> Iterator[Path]:
    """One copy of a job per desk: an exclusive lock file naming host and pid. A lock left by a
    process that is gone (killed, crashed) on this host is taken over."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{job}.lock"
    me = f"{socket.gethostname()}:{os.getpid()}"
    # the lock appears with its holder already in it (written to a private file, then linked into place), so a
    # kill at any moment leaves either no lock or one naming a pid that can be checked — never an empty one
    draft = lock_dir / f".{job}.{os.getpid()}.draft"
    draft.write_text(me, encoding="utf-8")
    try:
        for _attempt in range(3):
            try:
                _place(draft, path, me)
            except FileExistsError:
                if _stale(path):
                    path.unlink(missing_ok=True)
                    continue
                holder = _holder(path)
                raise JobLocked(f"另一个 {job} 正在运行（{holder or '未知进程'}），本次不运行",
                                f"等它结束后再试；若确认没有在运行，可删除 {path}") from None
            break
        else:
            raise JobLocked(f"{job} 的锁文件反复被占用，本次不运行", f"稍后再试；若确认没有在运行，可删除 {path}")
    finally:
        draft.unlink(missing_ok=True)
    try:
        yield path
    finally:
        try:
            if path.read_text(encoding="utf-8").strip() == me:
                path.unlink()
        except OSError:
            pass
