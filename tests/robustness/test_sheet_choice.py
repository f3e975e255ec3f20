"""Which sheet is read when more than one carries the order header: never silently the wrong one."""

from __future__ import annotations

import json

import openpyxl

from tests.robustness.helpers import NOW
from xl_addin.entrypoints.cli import main

HEADER = ["订单编号", "客户名称", "货物名称", "数量", "收货人", "收货人电话", "收货地址"]


def _rows(ws, prefix, n, phone="13800138000"):
    ws.append(HEADER)
    for i in range(n):
        ws.append([f"{prefix}{i:03d}", "客户甲", "马克杯", 1, "张三", phone, "浙江省杭州市西湖区文三路1号"])


def _validate(capsys, *args):
    code = main(["validate", *map(str, args), "--now", NOW, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def test_hidden_decoy_first_is_skipped_and_the_real_sheet_is_named(tmp_path, capsys):
    path = tmp_path / "订单.xlsx"
    wb = openpyxl.Workbook()
    decoy = wb.active
    decoy.title = "旧模板"
    _rows(decoy, "OLD", 2)
    decoy.sheet_state = "hidden"
    _rows(wb.create_sheet("本周订单"), "NEW", 3, phone="123")  # bad phones: the real sheet has errors
    wb.save(path)
    code, payload, err = _validate(capsys, path, "--desk", tmp_path)
    assert code == 1, err
    text = json.dumps(payload, ensure_ascii=False)
    assert "本周订单" in text and "NEW000" in text and "OLD000" not in text
    assert "读取的是工作表「本周订单」" in text and "旧模板" in text


def test_two_visible_sheets_with_the_header_ask_which_one(tmp_path, capsys):
    path = tmp_path / "订单.xlsx"
    wb = openpyxl.Workbook()
    _rows(wb.active, "SUM", 1)
    wb.active.title = "汇总"
    _rows(wb.create_sheet("明细"), "DET", 2)
    wb.save(path)
    before = path.read_bytes()
    code, payload, err = _validate(capsys, path, "--desk", tmp_path)
    assert code == 2
    assert str(path) in err and "「汇总」" in err and "「明细」" in err and "--sheet" in err
    assert path.read_bytes() == before
    code, payload, err = _validate(capsys, path, "--sheet", "明细", "--desk", tmp_path)
    assert code in (0, 1), err
    assert "DET001" in json.dumps(payload, ensure_ascii=False)
