"""Slow tier: LibreOffice, an independent spreadsheet application, recalculates the order workbook
before and after the archive removed a month's rows. Every remaining row computes what it computed
before; a reference to an archived row shows #REF!, as after Excel's "Delete rows"."""

from __future__ import annotations

import shutil

import pytest

from support.staffed_desk import SHEET, SUMMARY, build_staffed_month
from support.archive_month import NOV
from support.libreoffice import recalculated

pytestmark = pytest.mark.slow

def rows_by_order(wb) -> dict[str, dict[str, object]]:
    ws = wb[SHEET]
    header = [c.value for c in ws[2]]
    out = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0]:
            out[row[0]] = dict(zip(header, row))
    return out


def test_remaining_rows_compute_what_they_computed(tmp_path):
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import archive_month, read_archive_rows

    desk = build_staffed_month(tmp_path / "desk")
    before_file = tmp_path / "before.xlsx"
    shutil.copy(desk.workbook("orders"), before_file)
    with store_for(desk) as store:
        archive_month(desk, store, "2026-10", NOV)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = recalculated(before_file, tmp_path / "a")
    after = recalculated(desk.workbook("orders"), tmp_path / "b")
    was, now = rows_by_order(before), rows_by_order(after)
    assert set(now) == {"B1", "C1"} and set(was) == {"A0", "A1", "A2", "B1", "C1"}
    assert was["B1"]["编号-金额"] == "B1-40" and was["B1"]["比上行多"] == 10     # LibreOffice did compute
    for no in now:
        for label in ("编号-金额", "含税", "加底数", "客服备注", "金额"):
            assert now[no][label] == was[no][label], (no, label)
    assert now["C1"]["比上行多"] == was["C1"]["比上行多"] == 15     # the row above (B1) stayed
    assert now["B1"]["比上行多"] == "#REF!"                          # the row above (A2) was archived
    s_was, s_now = before[SUMMARY], after[SUMMARY]
    assert s_was["B1"].value == 155 and s_now["B1"].value == 95      # the SUM shrank with the rows
    assert s_was["B2"].value == 10 and s_now["B2"].value == "#REF!"  # A0's amount went to the archive
    assert s_now["B3"].value == s_was["B3"].value == 40              # B1's amount followed B1
    assert s_now["B4"].value == 95                                   # the defined name shrank too
    assert s_now["B5"].value == s_was["B5"].value - 3                # whole column: 3 fewer order numbers
    ws = after[SHEET]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A1:H1"]
    cf = {str(c.sqref): [r.formula for r in c.rules] for c in ws.conditional_formatting}
    assert cf["A3:AK4"] == [["$AF3>35"]]                  # as LibreOffice saved it back: the staff's format
    assert "AF3:AF4" in [str(d.sqref) for d in ws.data_validations.dataValidation]   # and their validation
    assert ws["A1"].value.startswith("订单确认单")
    # the archive holds the staff's columns with the values they showed
    arch = read_archive_rows(desk.archive_dir / "2026-10" / "订单确认单-2026-10.xlsx")["订单确认单"]
    by_no = {r["订单编号"]: r for r in arch}
    assert set(by_no) == {"A0", "A1", "A2"}
    assert by_no["A1"]["客服备注"] == "A1 客户要求周末送" and by_no["A1"]["金额"] == 20


def test_libreoffice_reads_the_archive_workbook(tmp_path):
    """The archive's own writer (streamed package) opens in LibreOffice with its values and date formats."""
    from datetime import datetime

    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import archive_month

    desk = build_staffed_month(tmp_path / "desk")
    with store_for(desk) as store:
        archive_month(desk, store, "2026-10", NOV)
    (tmp_path / "c").mkdir()
    wb = recalculated(desk.archive_dir / "2026-10" / "订单确认单-2026-10.xlsx", tmp_path / "c")
    ws = wb[SHEET]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(r["订单编号"] for r in rows) == ["A0", "A1", "A2"]
    assert all(isinstance(r["签收时间"], datetime) for r in rows)
    assert {r["客服备注"] for r in rows} == {"A0 客户要求周末送", "A1 客户要求周末送", "A2 客户要求周末送"}
    assert wb["满意度回访"].max_row == 4
