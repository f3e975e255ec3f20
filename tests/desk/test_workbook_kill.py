"""A writer killed at any moment leaves the old or the new workbook, never a broken one."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys, time
from pathlib import Path
from xl_addin.adapters.workbook.xml_patch import write_cells
path = Path(sys.argv[1])
cells = {(r, c): f"第{r}行结果{c}" for r in range(2, 4002) for c in range(4, 10)}
print("ready", flush=True)
write_cells(path, "订单确认单", 1, {c: f"结果{c}" for c in range(4, 10)}, cells, backup_dir=path.parent / "bak")
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(path: Path, kill_after: float | None) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"ready"
    if kill_after is None:
        assert proc.wait(60) == 0
        return
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.slow
def test_kill_during_write_leaves_old_or_new(tmp_path):
    original = tmp_path / "original.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单确认单"
    ws.append(["订单编号", "客户名称", "数量"])
    for i in range(4000):
        ws.append([f"SO-{i:05d}", f"客户{i % 97}", i % 13 + 1])
    wb.save(original)
    path = tmp_path / "订单确认单.xlsx"

    shutil.copy(original, path)
    started = time.perf_counter()
    _run(path, None)
    duration = time.perf_counter() - started
    new = _digest(path)
    old = _digest(original)
    assert new != old

    outcomes = set()
    for k in range(10):
        shutil.copy(original, path)
        _run(path, duration * k / 9)
        digest = _digest(path)
        assert digest in (old, new), f"broken workbook after a kill at {duration * k / 9:.3f}s"
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
        outcomes.add("new" if digest == new else "old")
    assert "old" in outcomes  # the kills did land mid-write
    # the next write cleans up what a killed writer left behind and still works
    shutil.copy(original, path)
    _run(path, None)
    assert _digest(path) == new
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".xl-tmp")]
    assert openpyxl.load_workbook(path, read_only=True)["订单确认单"]["D2"].value == "第2行结果4"
