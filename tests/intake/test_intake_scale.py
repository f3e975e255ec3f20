"""Intake at scale: the streaming reader gives calamine's values; checking on every core gives one core's results."""

import json
import shutil
import sqlite3
import zipfile
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from xl_addin.adapters.store import open_store
from xl_addin.adapters.workbook.books import ORDERS
from xl_addin.adapters.workbook.reader import iter_sheet
from xl_addin.adapters.workbook.stream_reader import StreamingWorkbook, _format_kind, use_streaming
from xl_addin.services.intake.validation import validate_orders
from xl_addin.services.intake.row_checking import ONE_CORE, CheckPlan
from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

SCHEMA = ORDERS.sheets[0]
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _read(path, stream_from_bytes, chunk=7):
    s = iter_sheet(path, SCHEMA, stream_from_bytes=stream_from_bytes, chunk=chunk)
    head = (s.sheet, s.header_row, s.columns, s.missing, s.last_column, s.last_row, s.notes)
    return head, [(r.row, r.values, r.hidden) for part in s.chunks() for r in part]


def _same_as_calamine(path):
    ours, calamine = _read(path, 0), _read(path, None)
    assert ours[0] == calamine[0]
    assert ours[1] == calamine[1]
    # the values' types too (1 == 1.0 == True would hide a difference)
    assert [[type(v) for v in r[1].values()] for r in ours[1]] == [[type(v) for v in r[1].values()] for r in calamine[1]]
    return ours


def test_streaming_reader_gives_calamines_records_for_a_generated_order_sheet(tmp_path):
    book = write_orders_xlsx(generate_orders(300, 5), tmp_path / "o.xlsx", title="客户订单 11月")
    head, rows = _same_as_calamine(book)
    assert head[1] == 2 and len(rows) == 300


def test_streaming_reader_gives_calamines_values_for_dates_merges_rich_text_and_gaps(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SCHEMA.name
    labels = [c.label for c in SCHEMA.columns[:13]]
    ws["B3"] = "说明"  # the table starts lower and further right than A1
    for j, label in enumerate(labels):
        ws.cell(row=4, column=2 + j, value=label)
    samples = [
        ["DD1", "杭州云舟", "T恤", "L", 2, 0.5, None, "李娜", "13912345678", "浙江省杭州市西湖区文三路1号", "易碎", "微信",
         datetime(2026, 11, 26, 9, 30, 15)],
        ["DD2", None, CellRichText(["纯棉", TextBlock(InlineFont(b=True), "T恤")]), "M", 3.0, "1.5", 0.01, "王伟",
         13912345679, "上海市浦东新区世纪大道2号", True, "电话", date(2026, 11, 25)],
        ["DD3", "宁波海曙", "袜子", None, "4", 0.25, None, "张敏", "+86 139 1234 5670", "浙江省宁波市海曙区中山路3号",
         False, None, time(14, 5)],
    ]
    for i, values in enumerate(samples):
        for j, value in enumerate(values):
            ws.cell(row=5 + i, column=2 + j, value=value)
    ws.cell(row=9, column=2, value="DD4")  # row 8 left empty
    ws.cell(row=9, column=14, value=datetime(1900, 1, 1, 12, 0))
    ws.cell(row=9, column=14).number_format = "yyyy/m/d h:mm"
    ws.cell(row=9, column=5, value=45000.5)
    ws.cell(row=9, column=5).number_format = '[Red]0.00;"负"0.00'  # not a date: colour and quoted text
    ws.cell(row=10, column=2, value="DD5")
    ws.cell(row=10, column=14, value=1.75)
    ws.cell(row=10, column=14).number_format = "[h]:mm"  # an elapsed time
    ws.merge_cells("C5:C6")
    ws.row_dimensions[7].hidden = True
    path = tmp_path / "m.xlsx"
    wb.save(path)
    head, rows = _same_as_calamine(path)
    assert head[1] == 4 and [r[0] for r in rows] == [5, 6, 7, 9, 10]
    assert rows[1][1]["customer"] == "杭州云舟" and rows[1][1]["goods_name"] == "纯棉T恤"
    assert isinstance(rows[3][1]["received_at"], datetime) and rows[4][1]["received_at"] == timedelta(hours=42)


def test_number_formats_that_show_dates():
    assert [_format_kind(f) for f in ["yyyy-mm-dd", "h:mm AM/PM", "[$-804]yyyy年m月d日", "[h]:mm:ss", "0.00",
                                      '"d"0', "[Red]#,##0", "0;yyyy"]] == \
        ["date", "date", "date", "duration", None, None, None, None]


def test_huge_sheets_are_streamed_and_the_strings_file_goes_with_the_workbook(tmp_path):
    book = write_orders_xlsx(generate_orders(50, 1), tmp_path / "o.xlsx")
    assert use_streaming(book, None, from_bytes=1) and not use_streaming(book, None, from_bytes=10**9)
    wb = StreamingWorkbook(book)
    strings = wb._strings
    assert len(strings) > 50 and strings[0]
    wb.close()
    assert strings._file.closed


@pytest.fixture(scope="module")
def sheet_with_repeats(tmp_path_factory):
    """2,600 orders with repeated addresses/phones/goods and duplicated order numbers across parts."""
    orders = generate_orders(2600, 11)
    for i in range(0, 2600, 7):
        orders[i] = {**orders[i], "address": orders[3]["address"], "receiver_phone": orders[3]["receiver_phone"]}
    for i in (400, 1300, 2550):  # a later row repeats an earlier row's order number
        orders[i] = {**orders[i], "order_no": orders[i - 350]["order_no"]}
    return write_orders_xlsx(orders, tmp_path_factory.mktemp("repeats") / "orders.xlsx")


def _check(src, folder, plan, store_path=None, runs=1):
    folder.mkdir()
    book = folder / "orders.xlsx"
    shutil.copyfile(src, book)
    texts = []
    for k in range(runs):
        store = open_store(store_path) if store_path else None
        try:
            report = validate_orders(book, NOW + timedelta(minutes=90 * k), store=store, backup_dir=folder / "b",
                                     plan=plan, chunk=700)
        finally:
            if store is not None:
                store.close()
        texts.append("".join(report.iter_json(indent=2)).replace(str(book), "FILE"))
    with zipfile.ZipFile(book) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    return report, texts, sheet


def test_every_core_gives_the_same_reports_workbook_and_store_as_one_core(sheet_with_repeats, tmp_path):
    pool = CheckPlan(parallel_from_rows=1, workers=2, part_rows=250)
    assert pool.workers_for(2600) == 2
    one, one_texts, one_sheet = _check(sheet_with_repeats, tmp_path / "one", ONE_CORE, tmp_path / "one.sqlite3", 2)
    many, many_texts, many_sheet = _check(sheet_with_repeats, tmp_path / "many", pool, tmp_path / "many.sqlite3", 2)
    assert many_texts == one_texts and many_sheet == one_sheet
    assert many.summary == one.summary and many.summary["rows"] == 2600
    dups = [r.row for r in many.rows if any(p.code == "DUPLICATE_ORDER" for p in r.result.problems)]
    assert {402, 1302, 2552} <= set(dups)  # and the generator's own duplicate rows
    tables = []
    for name in ("one", "many"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite3") as db:
            tables.append(db.execute("SELECT order_no, status, check_status, fingerprint, checked_at, confirm_deadline "
                                     "FROM orders ORDER BY order_no").fetchall())
    assert tables[0] == tables[1] and len(tables[0]) == 2600 - len(dups)


def test_small_sheets_and_callers_without_a_plan_stay_on_one_core():
    assert CheckPlan().workers_for(10**6) == 1  # off unless a desk sets a threshold
    assert CheckPlan(50_000).workers_for(49_999) == 1
    assert CheckPlan(50_000, workers=4).workers_for(100_000) == 4
    assert CheckPlan(parallel_from_rows=0).workers_for(10**6) == 1
    assert ONE_CORE.workers_for(10**6) == 1


def test_streamed_and_calamine_checks_write_the_same(sheet_with_repeats, tmp_path):
    results = []
    for name, n in (("calamine", None), ("stream", 0)):
        folder = tmp_path / name
        folder.mkdir()
        book = folder / "orders.xlsx"
        shutil.copyfile(sheet_with_repeats, book)
        report = validate_orders(book, NOW, backup_dir=folder / "b", stream_from_bytes=n, chunk=900)
        with zipfile.ZipFile(book) as zf:
            results.append((json.loads("".join(report.iter_json()).replace(str(book), "FILE")),
                            zf.read("xl/worksheets/sheet1.xml")))
    assert results[0] == results[1]
