"""Stage 1 end to end: real workbooks, the real state store, the command line."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

from support.order_desk import NOW, column, fill_desk, new_desk, order, run, sheet_values


@pytest.fixture()
def desk(tmp_path):
    return new_desk(tmp_path)


def test_validate_desk_reports_rows_and_writes_results(desk):
    book = fill_desk(desk, [order(), order(order_no="DD1002", receiver_phone="1391234567"),
                            order(order_no="DD1003", address="Flat 3, 12 Nathan Road, Kowloon, Hong Kong")])
    result = run("validate", "--desk", str(desk), "--now", NOW.isoformat(), "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["rows"] == 3
    rows = {r["order_no"]: r for r in report["rows"]}
    assert rows["DD1001"]["status"] == "ok" and rows["DD1001"]["row"] == 2
    assert rows["DD1001"]["normalized"]["phone"] == "13912345678"
    assert rows["DD1002"]["status"] == "error"
    assert [p["code"] for p in rows["DD1002"]["problems"]] == ["PHONE_INVALID"]
    assert rows["DD1002"]["problems"][0]["column"] == "receiver_phone"
    assert rows["DD1003"]["status"] == "warning"
    assert {"file", "sheet", "rows", "summary"} <= set(report)
    assert column(book, "校验状态") == ["通过", "有问题", "待复核"]
    assert column(book, "订单状态") == ["已确认", "待确认", "待确认"]
    assert column(book, "确认人")[0] == "系统校验"
    deadline = column(book, "确认截止")[1]
    assert deadline == datetime(2026, 11, 26, 11, 0)


def test_rerun_is_idempotent_and_user_data_untouched(desk):
    book = fill_desk(desk, [order(), order(order_no="DD1002", quantity=0)])
    run("validate", "--desk", str(desk), "--now", NOW.isoformat())
    first = sheet_values(book)
    run("validate", "--desk", str(desk), "--now", (NOW + timedelta(minutes=10)).isoformat())
    second = sheet_values(book)
    assert first == second
    assert column(book, "货物名称") == ["纯棉T恤", "纯棉T恤"]
    assert column(book, "数量") == [2, 0]


def test_overdue_after_one_hour_and_person_confirms(desk):
    fill_desk(desk, [order(order_no="DD2001", address="Flat 3, 12 Nathan Road, Kowloon, Hong Kong")])
    run("validate", "--desk", str(desk), "--now", NOW.isoformat())
    at = run("validate", "--desk", str(desk), "--now", (NOW + timedelta(minutes=59)).isoformat(), "--json")
    assert json.loads(at.stdout)["summary"]["overdue"] == 0
    late = json.loads(run("validate", "--desk", str(desk), "--now",
                          (NOW + timedelta(minutes=61)).isoformat(), "--json").stdout)
    assert late["summary"]["overdue"] == 1
    assert late["overdue"][0]["order_no"] == "DD2001"
    done = run("confirm", "DD2001", "--outcome", "已确认", "--by", "王芳", "--channel", "电话",
               "--desk", str(desk), "--now", (NOW + timedelta(minutes=70)).isoformat(), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["order_status"] == "confirmed"
    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        rec = OrderRecords(store).get("DD2001")
        audit = store.audit_entries("order", "DD2001")
    assert rec.status == "confirmed" and rec.confirmed_by == "王芳" and rec.confirm_channel == "电话"
    assert [a["actor"] for a in audit][-1] == "王芳"


def test_corrected_row_is_rechecked(desk):
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells

    book = fill_desk(desk, [order(order_no="DD3001", receiver_phone="138****8000")])
    run("validate", "--desk", str(desk), "--now", NOW.isoformat())
    phone_col = [c.key for c in ORDERS.sheets[0].columns].index("receiver_phone") + 1
    write_cells(book, "订单确认单", 1, {}, {(2, phone_col): "13800138000"}, backup_dir=None)
    result = run("confirm", "DD3001", "--outcome", "已更正", "--by", "王芳", "--desk", str(desk),
                 "--now", (NOW + timedelta(minutes=30)).isoformat(), "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["status"] == "ok" and row["order_status"] == "confirmed"
    assert column(book, "确认结果") == ["已更正"]


def test_duplicate_against_earlier_confirmed_order_in_store(desk):
    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        with store.transaction():
            OrderRecords(store).save([OrderRecord("DD1001", "confirmed", "ok", source="/old/archive.xlsx")], NOW)
    fill_desk(desk, [order(), order(order_no="DD1005"), order(order_no=" DD1005 ")])
    report = json.loads(run("validate", "--desk", str(desk), "--now", NOW.isoformat(), "--json").stdout)
    codes = {r["row"]: [p["code"] for p in r["problems"]] for r in report["rows"]}
    assert codes == {2: ["DUPLICATE_ORDER"], 3: [], 4: ["DUPLICATE_ORDER"]}


def test_loose_file_gets_product_columns_after_the_users_last_column(tmp_path):
    orders = generate_orders(30, seed=3, bad_rows=False)
    path = write_orders_xlsx(orders, tmp_path / "导出.xlsx", title="某平台订单导出")
    before = sheet_values(path)
    result = run("validate", str(path), "--json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["rows"] == 30 and report["stored"] is False
    after = sheet_values(path)
    width = len(before[1])
    assert [r[:width] for r in after] == [r[:width] for r in before]
    assert after[1][width] == "校验状态"


def test_open_in_excel_keeps_results_in_store(desk):
    book = fill_desk(desk, [order()])
    before = book.read_bytes()
    (desk / "~$订单确认单.xlsx").write_bytes(b"owner")
    result = run("validate", "--desk", str(desk), "--now", NOW.isoformat(), "--json")
    report = json.loads(result.stdout)
    assert report["written"] is False and report["stored"] is True
    assert "Excel" in report["write_message"]
    assert book.read_bytes() == before
    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        assert OrderRecords(store).get("DD1001").status == "confirmed"


def test_missing_required_column_exits_2_naming_it(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["订单编号", "客户名称", "货物名称", "数量", "收货人", "收货地址"])
    ws.append(["DD1", "某公司", "T恤", 1, "李娜", "浙江省杭州市西湖区文三路1号"])
    wb.save(tmp_path / "x.xlsx")
    result = run("validate", str(tmp_path / "x.xlsx"), cwd=tmp_path)
    assert result.returncode == 2
    assert "收货人电话" in result.stderr and "x.xlsx" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name,content", [("a.csv", b"order_no\n1\n"), ("a.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 600),
                                          ("a.xlsx", b"not a zip"), ("a.txt", b"hello")])
def test_bad_file_types_exit_2_with_one_line(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    result = run("validate", str(tmp_path / name), cwd=tmp_path)
    assert result.returncode == 2
    assert name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _use_goods_file(desk: Path, content: bytes) -> None:
    (desk / "自定义关键词.csv").write_bytes(content)
    config = desk / "xl-logistics.toml"
    text = config.read_text(encoding="utf-8").replace('extra_goods_file = ""', 'extra_goods_file = "自定义关键词.csv"')
    config.write_text(text, encoding="utf-8")


def test_desk_keyword_file_extends_the_lists(desk):
    _use_goods_file(desk, "term,category,kind\n电子烟油,5 易燃液体,禁寄\n纯棉T恤,,allowed\n".encode("gbk"))
    fill_desk(desk, [order(goods_name="薄荷味电子烟油"), order(order_no="DD1002")])
    report = json.loads(run("validate", "--desk", str(desk), "--now", NOW.isoformat(), "--json").stdout)
    problems = {r["order_no"]: r["problems"] for r in report["rows"]}
    assert [p["code"] for p in problems["DD1001"]] == ["PROHIBITED_GOODS"]
    assert "电子烟油" in problems["DD1001"][0]["message"]
    assert problems["DD1002"] == []


def test_bad_keyword_file_row_is_named(desk):
    _use_goods_file(desk, "电子烟油,5 易燃液体,forbidden\n".encode("utf-8"))
    fill_desk(desk, [order()])
    result = run("validate", "--desk", str(desk))
    assert result.returncode == 2
    assert "自定义关键词.csv" in result.stderr and "第 1 行" in result.stderr
