"""Shared by the robustness suite: small real desks, CSV exports, and commands run as real processes."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")
NOW = "2026-03-02T10:00+08:00"
ORDER_BOOK = "订单确认单.xlsx"
ORDER_SHEET = "订单确认单"
HEADER = ["订单编号", "买家会员名", "宝贝标题", "购买数量", "收货人姓名", "联系手机", "收货地址", "订单备注"]
PROVINCES = ["浙江省杭州市西湖区文三路", "江苏省南京市鼓楼区中山路", "广东省深圳市南山区科技园路", "上海市浦东新区世纪大道"]


def make_desk(root: Path) -> Path:
    from xl_addin.services.desk.setup import init_desk

    init_desk(root, datetime(2026, 3, 1, 9, 0, tzinfo=TZ))
    return root


def order_row(i: int) -> list[str]:
    return [f"RB{i:06d}", f"客户{i % 37}", "陶瓷马克杯", str(1 + i % 3), f"收货人{i % 91}",
            f"139{i:08d}"[:11], f"{PROVINCES[i % 4]}{i % 500 + 1}号", ""]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True,
                          env={**cli_env(), **(env or {})}, timeout=timeout)


def popen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xl_addin", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**cli_env(), **(env or {})})


def sheet_order_numbers(book: Path, sheet: str = ORDER_SHEET) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True)
    ws = wb[sheet]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    at = header.index("订单编号")
    out = [str(r[at]) for r in rows if r and len(r) > at and r[at] not in (None, "")]
    wb.close()
    return out


FIGURES: list[tuple[str, int, int, int, int, int]] = []


def record(suite: str, tried: int, survived: int, lost: int = 0, corrupted: int = 0, tracebacks: int = 0) -> None:
    """One line of the suite's figures table (printed at the end of the run by tests/robustness/conftest.py)."""
    FIGURES.append((suite, tried, survived, lost, corrupted, tracebacks))


BINDING_BOOK = "物流单号绑定表.xlsx"


def binding_rows(desk) -> list[tuple[str, str]]:
    """(订单编号, 物流单号) of every bound row of the Binding Table, as the sheet shows them."""
    import openpyxl

    wb = openpyxl.load_workbook(desk / BINDING_BOOK, read_only=True)
    rows = wb["绑定表"].iter_rows(values_only=True)
    header = list(next(rows))
    o, w = header.index("订单编号"), header.index("物流单号")
    out = [(str(r[o]), str(r[w])) for r in rows if r and len(r) > w and r[w] not in (None, "")]
    wb.close()
    return out


def two_sheet_export(path: Path, old: range, current: range) -> Path:
    """An .xlsx export with last month's orders on its first sheet (上月订单) and this month's on the second (本月订单)."""
    import openpyxl

    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "上月订单"
    first.append(HEADER)
    for i in old:
        first.append(order_row(i))
    second = wb.create_sheet("本月订单")
    second.append(HEADER)
    for i in current:
        second.append(order_row(i))
    wb.save(path)
    return path
