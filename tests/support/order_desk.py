"""Stage 1 set-up: a good order row, a desk made by ``xl-logistics init``, orders written into its workbook, columns read back."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
GOOD = {
    "order_no": "DD1001", "customer": "杭州云舟电子商务有限公司", "goods_name": "纯棉T恤", "spec": "L 白色",
    "quantity": 2, "weight_kg": 0.6, "volume_m3": None, "receiver": "李娜", "receiver_phone": "13912345678",
    "address": "浙江省杭州市西湖区文三路478号华星时代广场A座1203室", "special_requirements": "易碎",
    "channel": "电商后台", "received_at": datetime(2026, 11, 26, 9, 0), "customer_contact": "周敏",
    "preferred_carrier": None,
}


def order(**changes):
    return {**GOOD, **changes}


def run(*args, cwd=None):
    env = dict(os.environ, XL_LOGISTICS_HOME=str(cwd or Path.cwd()))
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True, env=env, cwd=cwd)


def new_desk(tmp_path: Path) -> Path:
    """A desk made by ``xl-logistics init`` in ``tmp_path/desk``."""
    root = tmp_path / "desk"
    assert run("init", str(root)).returncode == 0
    return root


def fill_desk(root: Path, orders: list[dict]) -> Path:
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells

    schema = ORDERS.sheets[0]
    cols = {c.key: i + 1 for i, c in enumerate(schema.columns)}
    cells = {(i + 2, cols[k]): v for i, o in enumerate(orders) for k, v in o.items() if k in cols}
    book = root / "订单确认单.xlsx"
    write_cells(book, schema.name, 1, {}, cells, backup_dir=None, append_table_rows=True)
    return book


def sheet_values(path: Path, sheet: str = "订单确认单") -> list[list]:
    wb = openpyxl.load_workbook(path)
    return [[c.value for c in row] for row in wb[sheet].iter_rows()]


def column(path: Path, label: str, sheet: str = "订单确认单") -> list:
    rows = sheet_values(path, sheet)
    header_row = next(i for i, r in enumerate(rows) if label in r)
    idx = rows[header_row].index(label)
    return [r[idx] for r in rows[header_row + 1:] if any(v is not None for v in r)]
