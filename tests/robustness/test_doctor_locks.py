"""``doctor`` names a workbook lock another process holds (who, pid, since) and is quiet once it is let go."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.robustness.helpers import ORDER_BOOK, cli, cli_env, make_desk

HOLD = r"""
import sys, time
from xl_addin.adapters.workbook.lock import workbook_lock
with workbook_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _lock_findings(desk):  # doctor does not wait for the held workbook (the holder sleeps 60 s)
    out = cli("doctor", "--desk", str(desk), "--json", timeout=45)
    assert out.returncode == 0, out.stdout + out.stderr
    return [f for f in json.loads(out.stdout)["findings"] if f["check"] == "lock"]


def test_doctor_names_the_holder_of_a_workbook_lock(tmp_path):
    desk = make_desk(tmp_path / "台账")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(desk / ORDER_BOOK)], stdout=subprocess.PIPE,
                              text=True, env=cli_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        [found] = _lock_findings(desk)
        assert ORDER_BOOK in found["message"] and f":{holder.pid} " in found["message"]
        assert "自 " in found["message"]
    finally:
        holder.kill()
        holder.wait(timeout=30)
    time.sleep(0.1)
    assert _lock_findings(desk) == []          # a killed holder leaves no lock behind
