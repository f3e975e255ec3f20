"""``import --sheet``: an .xlsx export with its orders on the second sheet (the first holds other rows) is read
from the sheet named; a sheet that is not there, or --sheet on a CSV, is refused naming the file (exit 2)."""

from __future__ import annotations


from tests.robustness.helpers import NOW, cli, two_sheet_export, make_desk, order_row, sheet_order_numbers, write_csv


def _export(path):
    return two_sheet_export(path, range(900, 905), range(10))


def test_import_reads_the_sheet_named(tmp_path):
    desk = make_desk(tmp_path / "台账")
    export = _export(tmp_path / "导出.xlsx")
    done = cli("import", str(export), "--sheet", "本月订单", "--source", "店铺", "--accept-mapping",
               "--desk", str(desk), "--now", NOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "读取工作表「本月订单」" in done.stdout
    assert sorted(sheet_order_numbers(desk / "订单确认单.xlsx")) == [f"RB{i:06d}" for i in range(10)]


def test_import_refuses_a_missing_sheet_and_sheet_on_csv(tmp_path):
    desk = make_desk(tmp_path / "台账")
    export = _export(tmp_path / "导出.xlsx")
    wrong = cli("import", str(export), "--sheet", "订单", "--source", "店铺", "--accept-mapping",
                "--desk", str(desk), "--now", NOW)
    assert wrong.returncode == 2 and "导出.xlsx" in wrong.stderr and "本月订单" in wrong.stderr, wrong.stderr
    csv = write_csv(tmp_path / "导出.csv", [order_row(1)])
    on_csv = cli("import", str(csv), "--sheet", "本月订单", "--source", "店铺", "--accept-mapping",
                 "--desk", str(desk), "--now", NOW)
    assert on_csv.returncode == 2 and "导出.csv" in on_csv.stderr, on_csv.stderr
    assert sheet_order_numbers(desk / "订单确认单.xlsx") == []
