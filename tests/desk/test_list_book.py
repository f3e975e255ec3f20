"""The small list workbooks (最近运行.xlsx, the follow-up reminder's attachment), read back by openpyxl
from the saved file."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from xl_addin.adapters.workbook.list_book import write_list_book


def test_a_list_book_keeps_text_as_text_shows_times_and_marks_rows(tmp_path):
    at = datetime(2026, 12, 1, 9, 30)
    path = write_list_book(tmp_path / "runs.xlsx", "最近运行", ["任务", "时间", "说明"],
                           [["刷新", at, "=HYPERLINK(\"http://x\")"], ["结案", None, "12345"]],
                           text_columns=(3,), time_columns=(2,), marked=[1], widths=(10, 17, 40),
                           freeze_header=True)
    ws = openpyxl.load_workbook(path)["最近运行"]
    assert [c.value for c in ws[1]] == ["任务", "时间", "说明"] and ws["A1"].font.bold
    assert ws["C2"].data_type == "s" and ws["C2"].value.startswith("=HYPERLINK")   # never a formula
    assert ws["C3"].data_type == "s" and ws["C3"].value == "12345"
    assert ws["B2"].value == at and ws["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["A3"].fill.fgColor.rgb.endswith("FFC7CE") and ws["A2"].fill.fill_type is None
    assert ws.freeze_panes == "A2" and ws.column_dimensions["C"].width == 40
