"""Reading users' workbooks: headers found by name anywhere in the first rows, bad input survives."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.adapters.workbook.schema import PRODUCT, Column, SheetSchema
from xl_addin.errors import WorkbookError

SCHEMA = SheetSchema(
    name="订单确认单", table="Orders",
    columns=(
        Column("order_no", "订单编号", ("Order No", "Order Number"), required=True),
        Column("customer", "客户名称", ("Customer Name", "customer"), required=True),
        Column("quantity", "数量", ("Qty", "Quantity")),
        Column("receiver_phone", "收货人电话", ("Receiver Phone",)),
        Column("address", "收货地址", ("Address",)),
        Column("received_at", "接收时间", ("Received At",)),
        Column("check_status", "检查结果", ("Check Status",), owner=PRODUCT),
    ),
)


def _book(path: Path, rows: list[list], title: str | None = "订单确认单（2024年5月）", sheet="订单确认单",
          extra_first: bool = False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if extra_first:
        ws.title = "说明"
        ws["A1"] = "填写说明：每行一个订单"
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    if title:
        ws.append([title])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_header_under_title_row_and_extra_sheet_first(tmp_path):
    path = _book(tmp_path / "orders.xlsx", [
        ["订单编号", "客户名称", "数量", "收货人电话", "收货地址", "我的备注"],
        ["SO-001", "杭州云栖贸易有限公司", 3, "13812345678", "浙江省杭州市西湖区文三路90号", "老客户"],
        ["SO-002", "成都蓉城食品厂", 10, 13987654321, "四川省成都市锦江区春熙路1号", None],
    ], extra_first=True, sheet="Sheet2")
    t = read_sheet(path, SCHEMA)
    assert t.sheet == "Sheet2" and t.header_row == 2
    assert t.columns == {"order_no": 1, "customer": 2, "quantity": 3, "receiver_phone": 4, "address": 5}
    assert set(t.missing) == {"received_at", "check_status"}
    assert t.last_column == 6
    assert [r.row for r in t.rows] == [3, 4]
    assert t.rows[0].values["customer"] == "杭州云栖贸易有限公司"
    assert t.rows[0].values["quantity"] == 3 and isinstance(t.rows[0].values["quantity"], int)
    # a phone typed as a number comes back as a whole number, text stays text
    assert t.rows[0].values["receiver_phone"] == "13812345678"
    assert t.rows[1].values["receiver_phone"] == 13987654321


def test_english_aliases_case_and_space_insensitive(tmp_path):
    path = _book(tmp_path / "export.xlsx", [
        [None, None, None],
        ["  ORDER   no ", "customer_NAME", "received at", "QTY"],
        ["A100", "Acme 上海分公司", datetime(2024, 5, 3, 9, 30), "5"],
    ], title="ERP export")
    t = read_sheet(path, SCHEMA)
    assert t.header_row == 3
    assert t.columns == {"order_no": 1, "customer": 2, "received_at": 3, "quantity": 4}
    row = t.rows[0].values
    assert row["received_at"] == datetime(2024, 5, 3, 9, 30)
    assert row["quantity"] == "5"  # a number stored as text is returned as read


def test_missing_required_column_names_file_sheet_and_label(tmp_path):
    path = _book(tmp_path / "no_customer.xlsx", [["订单编号", "数量"], ["SO-1", 1]])
    with pytest.raises(WorkbookError) as exc:
        read_sheet(path, SCHEMA)
    msg = str(exc.value)
    assert exc.value.exit_code == 2
    assert "no_customer.xlsx" in msg and "订单确认单" in msg and "客户名称" in msg
    assert "订单编号" not in msg.split("缺少必填列")[1].split("—")[0]
    assert "\n" not in msg


def test_unknown_sheet_name_is_an_error(tmp_path):
    path = _book(tmp_path / "o.xlsx", [["订单编号", "客户名称"], ["1", "甲"]])
    with pytest.raises(WorkbookError, match="没有名为"):
        read_sheet(path, SCHEMA, sheet_name="不存在")


def test_blank_hidden_merged_long_and_multiline_rows(tmp_path):
    long_text = "北京市朝阳区建国路88号" * 400
    path = _book(tmp_path / "messy.xlsx", [
        ["订单编号", "客户名称", "收货地址"],
        ["SO-1", "北京华贸商贸", "第一行\n第二行"],
        [None, None, None],
        ["SO-2", "上海外滩物流", long_text],
        ["SO-3", None, "广东省深圳市南山区科技园1号"],
        ["SO-4", None, "广东省深圳市南山区科技园2号"],
        ["SO-5", "隐藏客户", "江苏省南京市鼓楼区中山路1号"],
    ])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.merge_cells("B6:B7")
    ws["B6"] = "深圳湾电子"
    ws.row_dimensions[8].hidden = True
    wb.save(path)
    seen = []
    t = read_sheet(path, SCHEMA, progress=lambda done, total: seen.append((done, total)))
    by_no = {r.values["order_no"]: r for r in t.rows}
    assert [r.row for r in t.rows] == [3, 5, 6, 7, 8]  # the blank row 4 is skipped, nothing else
    assert by_no["SO-1"].values["address"] == "第一行\n第二行"
    assert by_no["SO-2"].values["address"] == long_text
    assert by_no["SO-3"].values["customer"] == by_no["SO-4"].values["customer"] == "深圳湾电子"
    assert by_no["SO-5"].hidden and not by_no["SO-1"].hidden
    assert any("合并单元格" in n and "B列" in n for n in t.notes)
    assert any("隐藏行" in n and "8" in n for n in t.notes)
    assert seen and seen[-1][0] == seen[-1][1]


def _set_cached_values(path: Path, values: dict[str, str]) -> None:
    """openpyxl writes formulas without cached values; put some in as Excel would."""
    src = zipfile.ZipFile(path)
    items = [(i, src.read(i.filename)) for i in src.infolist()]
    src.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                for ref, v in values.items():
                    data = re.sub(rb'(<c r="' + ref.encode() + rb'"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?',
                                  rb"\1\2<v>" + v.encode() + b"</v>", data)
            out.writestr(info, data)


def test_formulas_use_cached_values_and_say_when_none(tmp_path):
    path = _book(tmp_path / "f.xlsx", [
        ["订单编号", "客户名称", "数量"],
        ["SO-1", "甲公司", "=2*3"],
        ["SO-2", "乙公司", "=2*4"],
    ])
    _set_cached_values(path, {"C3": "6"})
    t = read_sheet(path, SCHEMA)
    assert t.rows[0].values["quantity"] == 6
    assert t.rows[1].values["quantity"] is None
    assert any(n.startswith("第4行 C列 是公式且没有缓存值") for n in t.notes)
    assert not any("第3行" in n for n in t.notes)
