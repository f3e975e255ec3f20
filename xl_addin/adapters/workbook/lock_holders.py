"""Who holds a desk's workbook locks right now (for ``doctor``): the holder's host, pid and command, since when,
and whether the holder is gone (a lock on a network share can outlive its process)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from xl_addin.adapters.workbook import lock as _lock


@dataclass(frozen=True)
class LockHolder:
    workbook: str        # the workbook's file name (the lock file's name without its digest)
    holder: str          # "host:pid command", as the holder wrote it
    since: datetime      # when it took the lock (the lock file's modification time, UTC)
    stale: bool          # the holder ran on this host and its process is gone

    @property
    def pid(self) -> int | None:
        head = self.holder.split(" ", 1)[0]
        try:
            return int(head.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return None


def held_locks(folder: Path) -> list[LockHolder]:
    """The locks in ``folder`` (a desk's ``locks/workbooks``) that another process holds now.

    Probe only: a lock that is free is taken for an instant and let go at once. Call before this process
    takes any workbook lock itself (POSIX record locks belong to the process)."""
    from xl_addin.processes import pid_alive

    out: list[LockHolder] = []
    if not folder.is_dir():
        return out
    for lock_file in sorted(folder.glob(f"*{_lock.LOCK_SUFFIX}")):
        try:
            fd = os.open(lock_file, os.O_RDWR)
        except OSError:
            continue
        try:
            if _lock._try_range(fd, _lock._BOOK):
                _lock._unlock_range(fd, _lock._BOOK)
                continue
            text = _lock._holder_text(fd)
            since = datetime.fromtimestamp(os.fstat(fd).st_mtime, timezone.utc)
        finally:
            os.close(fd)
        host, _, rest = text.partition(":")
        pid = rest.split(" ", 1)[0]
        stale = host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))
        name = lock_file.name[: -len(_lock.LOCK_SUFFIX)].rsplit(".", 1)[0]
        out.append(LockHolder(name, text or "未知任务", since, stale))
    return out
