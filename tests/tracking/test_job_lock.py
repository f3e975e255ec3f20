"""The desk's one-copy-per-job lock: a killed holder never blocks the next run."""

import os
import subprocess
import sys
import time

import pytest

from xl_addin.errors import JobLocked
from xl_addin.services.tracking.locks import EMPTY_LOCK_STALE_S, job_lock


def test_a_running_holder_blocks_and_names_itself(tmp_path):
    with job_lock(tmp_path, "archive"):
        proc = subprocess.run([sys.executable, "-c",
                               "import sys, pathlib; from xl_addin.services.tracking.locks import job_lock\n"
                               "try:\n    with job_lock(pathlib.Path(sys.argv[1]), 'archive'): print('took it')\n"
                               "except Exception as exc: print(type(exc).__name__, exc)", str(tmp_path)],
                              capture_output=True, text=True, check=True)
        assert proc.stdout.startswith("JobLocked") and f":{os.getpid()}" in proc.stdout
    assert [p.name for p in tmp_path.iterdir()] == []  # lock released, no draft left behind


def test_a_killed_holder_is_taken_over(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys, pathlib, time; from xl_addin.services.tracking.locks import job_lock\n"
                             "with job_lock(pathlib.Path(sys.argv[1]), 'archive'):\n"
                             "    print('held', flush=True); time.sleep(60)", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(JobLocked):
        with job_lock(tmp_path, "archive"):
            pass
    proc.kill()
    proc.wait()
    with job_lock(tmp_path, "archive") as path:
        assert path.read_text(encoding="utf-8").endswith(f":{os.getpid()}")


def test_an_empty_lock_file_blocks_only_for_a_minute(tmp_path):
    lock = tmp_path / "archive.lock"
    lock.write_text("")  # what a kill between create and write left before the lock was made atomic
    with pytest.raises(JobLocked):
        with job_lock(tmp_path, "archive"):
            pass
    old = time.time() - EMPTY_LOCK_STALE_S - 5
    os.utime(lock, (old, old))
    with job_lock(tmp_path, "archive"):
        assert lock.read_text(encoding="utf-8")
