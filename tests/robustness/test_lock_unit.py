"""The workbook lock itself: a real second process, a real kill -9, a real change behind the job's back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import openpyxl
import pytest

from tests.robustness.helpers import cli_env
from xl_addin.adapters.workbook.lock import (
    WorkbookBusy, WorkbookChanged, hold_for_job, job_scope, lock_path_for, workbook_lock,
)

HOLDER = r"""
import sys, time
from xl_addin.adapters.workbook.lock import job_scope, hold_for_job
with job_scope():
    hold_for_job(sys.argv[1])
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _book(tmp_path):
    path = tmp_path / "订单确认单.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["订单编号"])
    wb.save(path)
    return path


def _holder(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE,
                            text=True, env=cli_env())
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_waits_then_gives_up_naming_file_and_holder(tmp_path, monkeypatch):
    path = _book(tmp_path)
    proc = _holder(path, 30)
    try:
        monkeypatch.setenv("XL_LOGISTICS_WORKBOOK_LOCK_WAIT", "0.3")
        with pytest.raises(WorkbookBusy) as err:
            with workbook_lock(path):
                pass
        text = str(err.value)
        assert str(path) in text and str(proc.pid) in text and "未写入" in text
    finally:
        proc.kill()
        proc.wait()


def test_kill_9_of_the_holder_frees_the_lock_at_once(tmp_path, monkeypatch):
    path = _book(tmp_path)
    proc = _holder(path, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    monkeypatch.setenv("XL_LOGISTICS_WORKBOOK_LOCK_WAIT", "2")
    with workbook_lock(path):  # no stale lock after a kill
        assert lock_path_for(path).exists()


def test_waiter_gets_the_lock_when_holder_ends(tmp_path, monkeypatch):
    path = _book(tmp_path)
    proc = _holder(path, 1.0)
    t0 = time.monotonic()
    monkeypatch.setenv("XL_LOGISTICS_WORKBOOK_LOCK_WAIT", "30")
    with workbook_lock(path):
        waited = time.monotonic() - t0
    proc.wait()
    assert proc.returncode == 0 and waited > 0.3  # it really had to wait for the holder


def test_change_behind_the_jobs_back_is_refused_not_overwritten(tmp_path):
    path = _book(tmp_path)
    with job_scope():
        hold_for_job(path)
        other = openpyxl.load_workbook(path)
        other.active.append(["SO-OTHER"])
        other.save(path)  # a program that does not take the lock
        with pytest.raises(WorkbookChanged) as err:
            with workbook_lock(path):
                pass
        assert str(path) in str(err.value)
        with workbook_lock(path, rereads=True):  # a write that reads what it changes under the lock may go on
            pass
        with workbook_lock(path):  # and what it wrote is the job's reading from then on
            pass
    with job_scope():
        hold_for_job(path)
        with workbook_lock(path):  # a fresh job reads the new file and may write
            pass
