"""A refresh with waybills the carrier's service could not answer: exit code 1, and the reason (Chinese,
with what to do) in the Tracking Log row, in `track` and in the run's line of 最近运行.xlsx.
Against the sandbox over real HTTP on 127.0.0.1, with the CLI run as the console script runs it."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.desk.setup import init_desk

ROOT = Path(__file__).resolve().parents[2]
CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=CN)


def _desk(root: Path, n: int):
    cfg = (DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1)
           .replace("requests_per_second = 1.0", "requests_per_second = 200.0"))
    init_desk(root, NOW, config_text=cfg)
    desk = load_desk(root)
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([
            Binding(order_no=f"O{i:05d}", waybill_no=f"WB{i:08d}", carrier="中通", carrier_code="zhongtong",
                    source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统",
                    expected_delivery=(NOW + timedelta(days=3)).date()) for i in range(n)])
        OrderRecords(st).save([OrderRecord(order_no=f"O{i:05d}", status="allocated", check_status="ok",
                                           fields={"receiver_phone": "138 0013 8000"}) for i in range(n)], NOW)
    return desk


def _cli(desk, *args, base_url):
    env = dict(os.environ, PYTHONPATH=str(ROOT), KUAIDI100_BASE_URL=base_url)
    env.pop("KUAIDI100_CUSTOMER", None)
    env.pop("KUAIDI100_KEY", None)
    return subprocess.run([sys.executable, "-m", "xl_addin", *args, "--desk", str(desk.root)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_failed_waybills_exit_1_and_show_their_reason_in_three_places(tmp_path):
    desk = _desk(tmp_path / "desk", 3)
    sb = serve_sandbox(start=NOW, speed=0.0, seed=1)
    try:
        for i in range(3):
            sb.app.pin(f"WB{i:08d}", "zhongtong", scenario="normal", phone="13800138000",
                       shipped_at=(NOW - timedelta(hours=2)).isoformat())
        sb.app.set_faults({"burst": 1000})  # the service answers "busy" (returnCode 502) to every query
        out = _cli(desk, "refresh", "--now", NOW.isoformat(), base_url=sb.base_url)
    finally:
        sb.stop()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "失败 3" in out.stdout and "原因已写入跟踪记录表" in out.stdout

    # the Tracking Log row
    wb = openpyxl.load_workbook(desk.workbook("tracking"), read_only=True)
    rows = list(wb["跟踪总览"].iter_rows(values_only=True))
    head = list(rows[0])
    reason = [r[head.index("异常原因")] for r in rows[1:] if r[head.index("物流单号")] == "WB00000001"][0]
    status = [r[head.index("当前状态")] for r in rows[1:] if r[head.index("物流单号")] == "WB00000001"][0]
    wb.close()
    assert status == "查询失败" and "最近查询失败" in reason and "稍后自动重试" in reason

    # `track`
    track = _cli(desk, "track", "WB00000001", base_url="http://127.0.0.1:9")
    assert track.returncode == 0 and "当前状态: 查询失败" in track.stdout
    assert "最近一次查询失败" in track.stdout and "稍后自动重试" in track.stdout


def test_last_runs_line_names_the_failure(tmp_path):
    desk = _desk(tmp_path / "desk", 2)
    sb = serve_sandbox(start=NOW, speed=0.0, seed=1)
    try:
        sb.app.set_faults({"burst": 1000})
        out = _cli(desk, "refresh", "--now", NOW.isoformat(), base_url=sb.base_url)
    finally:
        sb.stop()
    assert out.returncode == 1
    wb = openpyxl.load_workbook(desk.root / "最近运行.xlsx", read_only=True)
    rows = [r for r in wb.active.iter_rows(values_only=True)]
    line = [r for r in rows if r[0] == "跟踪刷新"][0]
    assert line[3] == "部分失败"
    assert "失败 2" in line[4] and "失败原因" in line[4] and "稍后自动重试" in line[4] and "WB0000000" in line[4]


def test_a_wrong_carrier_sheet_stops_refresh_naming_the_workbook_and_sheet(tmp_path):
    """No silent fall-back to default provider codes: every waybill would be asked under a wrong carrier."""
    desk = _desk(tmp_path / "desk", 1)
    wb = openpyxl.load_workbook(desk.workbook("bindings"))
    ws = wb["合格物流商名录"]
    head = [c.value for c in ws[1]]
    row = [None] * len(head)
    row[head.index("物流商代码")], row[head.index("物流商名称")] = "ZZ", "某快递"
    row[head.index("单号前缀")] = "123"  # not 1-4 letters: a bad row
    ws.append(row)
    wb.save(desk.workbook("bindings"))
    out = _cli(desk, "refresh", "--now", NOW.isoformat(), base_url="http://127.0.0.1:9")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "合格物流商名录" in out.stderr and "物流单号绑定表" in out.stderr


def test_a_store_that_cannot_list_its_bindings_stops_refresh(tmp_path):
    """A refresh that silently tracked nothing new would look like a quiet day."""
    import sqlite3

    desk = _desk(tmp_path / "desk", 1)
    with sqlite3.connect(desk.root / ".xl-logistics" / "state.sqlite3") as con:
        con.execute("ALTER TABLE bindings RENAME TO bindings_gone")
    out = _cli(desk, "refresh", "--now", NOW.isoformat(), base_url="http://127.0.0.1:9")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
