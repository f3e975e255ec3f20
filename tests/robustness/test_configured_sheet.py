"""The configured sheet: ``[intake] order_sheet`` for the desk's Order Confirmation (validate and the ribbon)
and ``[intake] export_sheet`` for .xlsx exports (import); ``--sheet`` still wins, and a CSV import is not
affected by a sheet setting it cannot have."""

from __future__ import annotations

import json
import re

import openpyxl

from tests.robustness.helpers import NOW, cli, two_sheet_export, make_desk, order_row, sheet_order_numbers, write_csv
from xl_addin.entrypoints.cli import main


def _configure(desk, **keys):
    config = desk / "xl-logistics.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in keys.items():
        text, n = re.subn(rf'^{key} = ""', f'{key} = "{value}"', text, flags=re.M)
        assert n == 1, key
    config.write_text(text, encoding="utf-8")


def _two_order_sheets(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["订单确认单"]
    ws.title = "明细"
    summary = wb.copy_worksheet(ws)
    summary.title = "汇总"
    ws.append(["DET001", "客户甲", "马克杯", 1, "张三", "13800138000", "浙江省杭州市西湖区文三路1号"])
    summary.append(["SUM001", "客户乙", "马克杯", 1, "李四", "13800138001", "浙江省杭州市西湖区文三路2号"])
    wb.save(path)


def test_validate_reads_the_configured_sheet_of_the_order_book(tmp_path, capsys):
    desk = make_desk(tmp_path / "台账")
    book = desk / "订单确认单.xlsx"
    _two_order_sheets(book)
    assert main(["validate", "--desk", str(desk), "--now", NOW, "--json"]) == 2  # ambiguous: asks
    err = capsys.readouterr().err
    assert "order_sheet" in err and "--sheet" in err
    _configure(desk, order_sheet="明细")
    code = main(["validate", "--desk", str(desk), "--now", NOW, "--json"])
    text = capsys.readouterr().out
    assert code in (0, 1)
    payload = json.loads(text)
    assert "DET001" in text and "SUM001" not in text
    assert payload["sheet"] == "明细"
    code = main(["validate", "--sheet", "汇总", "--desk", str(desk), "--now", NOW, "--json"])  # --sheet wins
    assert code in (0, 1) and "SUM001" in capsys.readouterr().out


def _export(path):
    return two_sheet_export(path, range(900, 903), range(4))


def test_import_reads_the_configured_export_sheet_and_csv_is_unaffected(tmp_path):
    desk = make_desk(tmp_path / "台账")
    _configure(desk, export_sheet="本月订单")
    done = cli("import", str(_export(tmp_path / "导出.xlsx")), "--source", "店铺", "--accept-mapping",
               "--desk", str(desk), "--now", NOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "读取工作表「本月订单」" in done.stdout
    assert sorted(sheet_order_numbers(desk / "订单确认单.xlsx")) == [f"RB{i:06d}" for i in range(4)]
    csv = write_csv(tmp_path / "导出.csv", [order_row(7)])
    on_csv = cli("import", str(csv), "--source", "店铺", "--accept-mapping", "--desk", str(desk), "--now", NOW)
    assert on_csv.returncode == 0, on_csv.stdout + on_csv.stderr
    assert "RB000007" in sheet_order_numbers(desk / "订单确认单.xlsx")
