"""`xl-logistics init --sandbox`: a desk that tracks against the local sandbox with no other step.

End to end as a newcomer does it, every step a real `xl-logistics` process: init with --sandbox, orders in the
Order Confirmation workbook, validate, allocate, start the sandbox the way the README says
(`xl-logistics sandbox --desk DIR`), refresh. Nothing is set by hand: no provider, no base_url, no environment."""

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAIDI100_")}
    return dict(env, PYTHONPATH=str(ROOT))


def xl(*args):
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True,
                          env=_env(), timeout=180)


def _add_orders(desk: Path, n: int) -> None:
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.demo.sample_orders import generate_orders

    sample = generate_orders(n, seed=11, bad_rows=False, start=datetime.now() - timedelta(hours=1))
    schema = ORDERS.sheets[0]
    keys = [c.key for c in schema.columns if c.key in sample[0]]
    cols = {k: schema.columns.index(schema.column(k)) + 1 for k in keys}
    cells = {(i + 2, cols[k]): o[k] for i, o in enumerate(sample) for k in keys}
    write_cells(desk / "订单确认单.xlsx", schema.name, 1, {}, cells, backup_dir=desk / ".xl-logistics" / "backups",
                append_table_rows=True)


def _wait_listening(port: int, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read() + proc.stderr.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("sandbox did not start")


def test_init_sandbox_then_allocate_and_refresh(tmp_path):
    desk = tmp_path / "我的台账"
    port = free_port()
    init = xl("init", str(desk), "--sandbox", "--sandbox-port", str(port))
    assert init.returncode == 0, init.stderr
    assert f"xl-logistics sandbox --desk {desk}" in init.stdout

    doctor = xl("doctor", "--desk", str(desk))
    assert f"本地沙箱 http://127.0.0.1:{port}" in doctor.stdout

    # before the sandbox runs, refresh says how to start it
    early = xl("refresh", "--desk", str(desk))
    assert early.returncode == 2 and "本地沙箱没有运行" in early.stderr and "xl-logistics sandbox --desk" in early.stderr

    _add_orders(desk, 8)
    assert xl("validate", "--desk", str(desk)).returncode in (0, 1)
    alloc = xl("allocate", "--desk", str(desk))
    assert alloc.returncode in (0, 1), alloc.stdout + alloc.stderr

    # Our numbers carry the China day they were made (JD20261203000001) and the sandbox picks such a parcel
    # up in that day's working hours, so at night nothing has happened yet: move the clock to the evening of
    # the numbers' day as the README says. The day is read after allocating (a run across midnight numbers
    # with the later day or the earlier one; both are picked up by 19:00 of the later day).
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    proc = subprocess.Popen([sys.executable, "-m", "xl_addin", "sandbox", "--desk", str(desk)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(port, proc)
        moved = xl("sandbox-clock", "--desk", str(desk), "--set", f"{day:%Y-%m-%d}T19:00", "--speed", "0")
        assert moved.returncode == 0, moved.stdout + moved.stderr
        out = xl("refresh", "--desk", str(desk))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert out.returncode == 0, out.stdout + out.stderr
    first = out.stdout.splitlines()[0]
    queried = int(first.split("查询 ")[1].split(" 单")[0])
    updated = int(first.split("有更新 ")[1].split("，")[0])
    assert queried >= 5 and updated >= 1 and "失败 0" in first, out.stdout
    wb = openpyxl.load_workbook(desk / "实时物流跟踪记录表.xlsx", read_only=True)
    rows = list(wb["跟踪总览"].iter_rows(values_only=True))
    head = list(rows[0])
    checked = [r for r in rows[1:] if r[head.index("最近查询")] is not None]
    wb.close()
    assert len(checked) == queried


def test_sandbox_clock_command_moves_the_running_sandbox(tmp_path):
    from xl_addin.sandbox import serve_sandbox

    with serve_sandbox(speed=0.0, start=datetime(2026, 12, 2, 9, 0).astimezone()) as sb:
        port = sb.base_url.rsplit(":", 1)[1]
        shown = xl("sandbox-clock", "--port", port, "--desk", str(tmp_path))
        moved = xl("sandbox-clock", "--port", port, "--advance", "2d", "--desk", str(tmp_path))
        bad = xl("sandbox-clock", "--port", port, "--advance", "2x", "--desk", str(tmp_path))
        now = sb.app.clock.now()
    assert shown.returncode == 0 and "沙箱时钟:" in shown.stdout
    assert moved.returncode == 0 and "0 倍速" in moved.stdout
    assert now.astimezone().replace(tzinfo=None) == datetime(2026, 12, 4, 9, 0)
    assert bad.returncode == 2 and "2d（天）" in bad.stderr
    gone = xl("sandbox-clock", "--port", port, "--desk", str(tmp_path))
    assert gone.returncode == 2 and "连不上本地沙箱" in gone.stderr
