"""Is a process still there? Locks, temporary files and reserved serials left by a dead process are taken over."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while a process with this id runs on this machine (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
