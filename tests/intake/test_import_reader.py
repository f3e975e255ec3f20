"""The export reader keeps every cell at the sheet's own row and column (checked against openpyxl, an
independent reader), also when the data starts right of column A or below row 1, and does not turn a far
blank stretch into memory."""

import subprocess
import sys
from pathlib import Path

import openpyxl

from xl_addin.adapters.imports.xlsx_file import read_xlsx_export


def _by_openpyxl(path):
    ws = openpyxl.load_workbook(path).active
    out = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None:
                out[(c.row, c.column)] = c.value
    return out


def _by_reader(path):
    table = read_xlsx_export(path)
    return {(n, j): v for n, cells in table.rows for j, v in enumerate(cells, 1) if v is not None}


def test_cells_keep_their_rows_and_columns(tmp_path):
    for cells in ({"C3": "订单编号", "D3": "客户", "C4": "A-1", "D5": "张三"},
                  {"A1": "订单编号", "B2": 12, "E9": "尾"},
                  {"D4": "x", "E6": 3.5}):
        wb = openpyxl.Workbook()
        for ref, v in cells.items():
            wb.active[ref] = v
        path = tmp_path / "export.xlsx"
        wb.save(path)
        assert _by_reader(path) == _by_openpyxl(path), cells


def test_one_far_cell_is_read_without_a_grid_of_blank_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for j, h in enumerate(["订单编号", "客户", "电话", "地址", "商品", "数量", "备注", "来源"], 1):
        ws.cell(1, j, h)
    ws["A1048576"] = "last"
    path = tmp_path / "far.xlsx"
    wb.save(path)
    code = ("import resource, sys; from xl_addin.adapters.imports.xlsx_file import read_xlsx_export as r; "
            "t = r(__import__('pathlib').Path(sys.argv[1])); "
            "print(len(t.rows), t.rows[-1][0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert out[:2] == ["2", "1048576"]
    assert int(out[2]) < 350  # 283 MB row by row; a Python list per blank row took 419 MB for this sheet
