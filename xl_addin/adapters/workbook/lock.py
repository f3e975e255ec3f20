"""One writer per workbook across processes: the workbook's lock, held for a job's whole read-modify-write.

Why: two jobs on one desk (``import`` while ``validate`` runs, the scheduler's ``refresh`` while a
person allocates) each read a workbook, change it and write it back. Without a lock the second
write is built from the first job's *old* reading and silently drops what the first one added.

How:
- The lock is an OS lock (``fcntl.lockf`` / ``msvcrt.locking``) on a small file in the desk's
  lock folder (``lock_path_for``): a process killed with -9 releases it with its last breath, so a
  lock is never stale. The file says who holds it (host, pid, command) for the waiting side's message.
- ``job_scope()`` (opened once per CLI command and ribbon press) makes every workbook the job
  reads *stay* locked until the job ends: the reader calls ``hold_for_job`` before it reads, the
  writers take ``workbook_lock`` around their replace. Outside a job scope a read takes no lock and
  a write locks for the write alone.
- Inside a job the file's identity (size, mtime, inode) is remembered at the first read and after
  each of the job's own writes; a write that finds the file changed by someone who did not take the
  lock (a copy dropped in, another program) refuses with ``WorkbookChanged`` instead of overwriting.
- Waiting is bounded (``XL_LOGISTICS_WORKBOOK_LOCK_WAIT`` seconds, default 300): a job that cannot
  get the lock stops with a message naming the file and the holder; nothing of its is written.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from xl_addin.desk import STATE_DIRNAME
from xl_addin.errors import WorkbookError

LOCK_SUFFIX = ".xl-lock"
DEFAULT_WAIT_SECONDS = 300.0


class WorkbookBusy(WorkbookError):
    """Another job holds the workbook's lock for longer than we wait."""


class WorkbookChanged(WorkbookError):
    """The workbook changed on disk since this job read it: writing would overwrite that change."""


def lock_path_for(path: str | os.PathLike) -> Path:
    """The lock file of a workbook: in its desk's lock folder (``.xl-logistics/locks/workbooks``) when
    the workbook sits in a desk, else in the user's temp folder; named after the workbook's real path,
    so every process finds the same file and the staff's folder gets no extra file."""
    p = Path(path)
    real = os.path.normcase(os.path.realpath(p))
    digest = hashlib.sha1(real.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    state = p.parent / STATE_DIRNAME
    folder = state / "locks" / "workbooks" if state.is_dir() else Path(tempfile.gettempdir()) / "xl-logistics-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{p.name[:80]}.{digest}{LOCK_SUFFIX}"


def _key(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.realpath(path))


def wait_seconds() -> float:
    raw = os.environ.get("XL_LOGISTICS_WORKBOOK_LOCK_WAIT", "")
    try:
        return max(0.0, float(raw)) if raw.strip() else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def signature(path: str | os.PathLike) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


# ---------------------------------------------------------------- OS locks on one file
# Two one-byte ranges of the lock file: the *gate* and the *workbook*. A job waits at the gate, then
# for the workbook, then lets the gate go; so a job that releases the workbook and wants it again at
# once (validate in a loop) queues behind the job already waiting instead of starving it.
# POSIX record locks belong to the process and vanish when *any* descriptor of the file is closed:
# the lock file is opened once per process and its text is read through that descriptor only.

_GATE, _BOOK = 1 << 20, (1 << 20) + 1
_TEXT_AT = 0


def _try_range(fd: int, offset: int) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        return True
    except OSError:
        return False


def _unlock_range(fd: int, offset: int) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        return
    import fcntl

    fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


def _wait_range(fd: int, offset: int, deadline: float) -> bool:
    pause = 0.005
    while not _try_range(fd, offset):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return True


def _holder_text(fd: int) -> str:
    try:
        return os.pread(fd, 400, _TEXT_AT).decode("utf-8", errors="replace").strip("\x00 \n")[:200]
    except OSError:
        return ""


def _me() -> str:
    cmd = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:3]))
    return f"{socket.gethostname()}:{os.getpid()} {cmd}".strip()


@dataclass
class _Held:
    fd: int
    count: int = 0


_table_lock = threading.Lock()
_held: dict[str, _Held] = {}


def _acquire(path: Path, wait: float | None) -> str:
    """Take the lock of ``path`` for the calling thread (re-entrant); returns its key."""
    key = _key(path)
    deadline = time.monotonic() + (wait_seconds() if wait is None else wait)
    with _table_lock:
        # Re-entrant per process: the job's worker threads write under the job's hold.
        if key in _held:
            _held[key].count += 1
            return key
    try:
        lock_file = lock_path_for(path)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkbookError(f"无法创建工作簿锁文件（{exc.strerror or exc}）",
                            "请确认对工作簿所在文件夹有写权限", path=str(path)) from None
    got = _wait_range(fd, _GATE, deadline)
    if got:
        got = _wait_range(fd, _BOOK, deadline)
        _unlock_range(fd, _GATE)
    if not got:
        holder = _holder_text(fd)
        os.close(fd)
        raise _busy(path, holder or "另一个任务")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _me().encode("utf-8", errors="replace"), _TEXT_AT)
    except OSError:
        pass
    with _table_lock:
        _held[key] = _Held(fd, 1)
    return key


def _release(key: str) -> None:
    with _table_lock:
        held = _held.get(key)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _held[key]
        try:
            os.ftruncate(held.fd, 0)
        except OSError:
            pass
        try:
            _unlock_range(held.fd, _BOOK)
        finally:
            os.close(held.fd)


def _busy(path: Path, holder: str) -> WorkbookBusy:
    return WorkbookBusy(f"工作簿正被另一个任务使用（{holder}），等待 {wait_seconds():.0f} 秒后放弃，本次未写入",
                        "等那个任务结束后重试（同一工作簿同一时间只允许一个任务写入）", path=str(path))


# ---------------------------------------------------------------- job scope

@dataclass
class _Job:
    keys: dict[str, Path] = field(default_factory=dict)          # locks held until the job ends
    seen: dict[str, tuple[int, int, int] | None] = field(default_factory=dict)  # identity at read/after write


_local = threading.local()


def _job() -> _Job | None:
    return getattr(_local, "job", None)


@contextmanager
def job_scope() -> Iterator[None]:
    """Every workbook the job reads stays locked until the job ends (nested scopes join the outer one)."""
    if _job() is not None:
        yield
        return
    job = _Job()
    _local.job = job
    try:
        yield
    finally:
        _local.job = None
        for key in list(job.keys):
            _release(key)


def hold_for_job(path: str | os.PathLike) -> None:
    """Called by the readers before reading: inside a job, lock ``path`` until the job ends and
    remember the file as it was read."""
    job = _job()
    if job is None:
        return
    p = Path(path)
    key = _key(p)
    if key not in job.keys:
        _acquire(p, None)
        job.keys[key] = p
    job.seen.setdefault(key, signature(p))


@contextmanager
def workbook_lock(path: str | os.PathLike, wait: float | None = None, *, rereads: bool = False) -> Iterator[None]:
    """Hold the workbook's lock around one write (re-entrant; joins the job's hold when in a job).

    Inside a job, refuse with ``WorkbookChanged`` when the file is no longer the one the job read —
    unless the write ``rereads`` what it changes under this lock (the archive's row removal finds its
    rows by key here), so a change since the job's earlier reading is kept, not overwritten.
    """
    p = Path(path)
    key = _acquire(p, wait)
    try:
        job = _job()
        if job is not None and not rereads:
            before = job.seen.get(key)
            now = signature(p)
            if key in job.seen and before != now:
                raise WorkbookChanged("工作簿在本任务读取之后被其他程序改过，为免覆盖那次修改，本次未写入",
                                      "请重新运行本命令（它会在最新的工作簿上重做）", path=str(p))
        yield
        if job is not None:
            job.seen[key] = signature(p)
    finally:
        _release(key)


def held_keys() -> list[str]:
    """The workbooks this process holds locks on (for tests and doctor)."""
    with _table_lock:
        return sorted(_held)
