"""iter_sheet: the same records as read_sheet, a chunk at a time, header facts known first."""


import openpyxl
import pytest

from xl_addin.adapters.workbook.books import ORDERS
from xl_addin.adapters.workbook.reader import iter_sheet, read_sheet
from xl_addin.errors import WorkbookError
from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

SCHEMA = ORDERS.sheets[0]


def test_chunks_equal_read_sheet_and_header_comes_first(tmp_path):
    book = write_orders_xlsx(generate_orders(250, 3), tmp_path / "o.xlsx")
    whole = read_sheet(book, SCHEMA)
    stream = iter_sheet(book, SCHEMA, chunk=40)
    assert (stream.sheet, stream.header_row, stream.columns) == (whole.sheet, whole.header_row, whole.columns)
    assert stream.last_row == 251
    chunks = list(stream.chunks())
    assert [len(c) for c in chunks] == [40] * 6 + [10]
    assert [(r.row, r.values, r.hidden) for c in chunks for r in c] == \
        [(r.row, r.values, r.hidden) for r in whole.rows]


def test_merges_blank_rows_hidden_rows_and_offset_columns(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SCHEMA.name
    labels = [c.label for c in SCHEMA.columns[:10]]
    ws.append(["说明：本表由客户提供"])
    ws.append([None, *labels])  # the table starts in column B
    ws.append([None, "DD1", "杭州云舟", "T恤", "L", 2, 0.5, None, "李娜", "13912345678", "浙江省杭州市西湖区文三路1号"])
    ws.append([None, "DD2", None, "T恤", "L", 3.0, 0.5, None, "王伟", "13912345679", "浙江省杭州市西湖区文三路2号"])
    ws.append([])
    ws.append([None, "DD3", "宁波海曙", "袜子", "M", "4", 0.2, None, "张敏", "13912345670", "浙江省宁波市海曙区中山路3号"])
    ws.merge_cells("C3:C4")
    ws.row_dimensions[6].hidden = True
    path = tmp_path / "m.xlsx"
    wb.save(path)
    stream = iter_sheet(path, SCHEMA, chunk=1)
    assert stream.header_row == 2 and stream.columns["order_no"] == 2
    assert any("合并单元格" in n for n in stream.notes) and any("隐藏行" in n for n in stream.notes)
    rows = [r for c in stream.chunks() for r in c]
    assert [r.row for r in rows] == [3, 4, 6]  # the blank row 5 is skipped
    assert [r.values["customer"] for r in rows] == ["杭州云舟", "杭州云舟", "宁波海曙"]
    assert [r.values["quantity"] for r in rows] == [2, 3, "4"]  # whole floats → int, text stays text
    assert [r.hidden for r in rows] == [False, False, True]


def test_missing_required_column_is_raised_before_any_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SCHEMA.name
    ws.append(["订单编号", "客户名称"])
    ws.append(["DD1", "某公司"])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    with pytest.raises(WorkbookError) as err:
        iter_sheet(path, SCHEMA)
    assert "缺少必填列" in str(err.value)


def test_progress_is_reported_per_chunk(tmp_path):
    book = write_orders_xlsx(generate_orders(100, 5), tmp_path / "p.xlsx")
    seen = []
    stream = iter_sheet(book, SCHEMA, chunk=30, progress=lambda d, t: seen.append((d, t)))
    for _ in stream.chunks():
        pass
    assert seen[:3] == [(30, 100), (60, 100), (90, 100)] and seen[-1] == (100, 100)
