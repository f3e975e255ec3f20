"""Bringing orders in from back-office/ERP exports: real CSV/xlsx files into a real desk."""

import json
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

import xl_addin.entrypoints.import_commands  # noqa: F401  (registers the command)
from xl_addin.entrypoints.cli import main

NOW = "2026-03-02T10:00+08:00"
TZ = ZoneInfo("Asia/Shanghai")

TAOBAO_HEADER = ["订单编号", "买家会员名", "宝贝标题", "购买数量", "收货人姓名", "联系手机", "收货地址", "订单备注"]
TAOBAO_ROWS = [
    ["000123", "杭州小米粒", "陶瓷马克杯", "2", "张三", "13800138000", "浙江省杭州市西湖区文三路100号", "易碎"],
    ["000124", "杭州小米粒", "=HYPERLINK(\"http://evil.example\",\"点我\")", "1", "李四", "13900139000",
     "浙江省杭州市上城区解放路8号\n3单元502室", ""],
    ["000125", "宁波大户", "保温杯", "3", "王五", "13700137000", "浙江省宁波市鄞州区天童南路1号", "加急"],
    ["000125", "宁波大户", "保温杯", "3", "王五", "13700137000", "浙江省宁波市鄞州区天童南路1号", "加急"],
]


def write_csv(path: Path, header, rows, encoding: str, blank_line_after: int | None = None) -> Path:
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for i, row in enumerate(rows):
        w.writerow(row)
        if blank_line_after is not None and i == blank_line_after:
            buf.write("\r\n")
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture
def desk(tmp_path):
    from xl_addin.services.desk.setup import init_desk

    root = tmp_path / "台账"
    init_desk(root, datetime(2026, 3, 1, 9, 0, tzinfo=TZ))
    return root


def run(desk, *args, capsys):
    code = main(["import", *map(str, args), "--desk", str(desk), "--now", NOW, "--json"])
    out = capsys.readouterr()
    try:
        payload = json.loads(out.out) if out.out.strip() else None
    except json.JSONDecodeError:
        payload = None
    return code, payload, out


def sheet_rows(desk):
    wb = openpyxl.load_workbook(desk / "订单确认单.xlsx")
    ws = wb["订单确认单"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    return ws, header, [r for r in rows if r.get("订单编号") is not None]


def test_gbk_csv_new_source_is_confirmed_then_appended_with_row_numbers(desk, tmp_path, capsys):
    src = write_csv(tmp_path / "淘宝导出.csv", TAOBAO_HEADER, TAOBAO_ROWS, "gbk", blank_line_after=1)
    assert src.read_bytes().decode("gbk")  # really GBK, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        src.read_bytes().decode("utf-8")

    code, payload, out = run(desk, src, "--source", "淘宝", capsys=capsys)
    assert code == 2  # never guessed silently when not at a terminal
    assert payload["mapping"]["mapping"]["收货人电话"] == "联系手机"
    assert payload["mapping"]["mapping"]["订单编号"] == "订单编号"
    assert "--accept-mapping" in out.err
    assert sheet_rows(desk)[2] == []

    code, payload, out = run(desk, src, "--source", "淘宝", "--accept-mapping", capsys=capsys)
    assert code == 0, out.err
    assert payload["encoding"] == "GBK/GB18030"
    assert payload["mapping_saved"] is True
    actions = {(r["row"], r["order_no"]): (r["action"], r["code"]) for r in payload["rows"]}
    # row 4 is the blank line; the quoted line break does not shift record numbers
    assert actions == {(2, "000123"): ("added", None), (3, "000124"): ("added", None),
                       (5, "000125"): ("added", None), (6, "000125"): ("skipped", "DUPLICATE_IN_FILE")}
    dup = next(r for r in payload["rows"] if r["code"] == "DUPLICATE_IN_FILE")
    assert "第5行" in dup["message"] and dup["severity"] == "warning"

    ws, header, rows = sheet_rows(desk)
    assert [r["订单编号"] for r in rows] == ["000123", "000124", "000125"]  # leading zeros kept: text
    first = rows[0]
    assert first["收货人电话"] == "13800138000" and first["数量"] == 2 and first["客户名称"] == "杭州小米粒"
    assert first["接收时间"] == datetime(2026, 3, 2, 10, 0)
    assert rows[1]["收货地址"] == "浙江省杭州市上城区解放路8号\n3单元502室"
    # formula-looking text from outside stays text
    cell = ws.cell(row=3, column=header.index("货物名称") + 1)
    assert cell.value == '=HYPERLINK("http://evil.example","点我")' and cell.data_type == "s"
    with zipfile.ZipFile(desk / "订单确认单.xlsx") as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml and "HYPERLINK" in xml


def test_saved_mapping_is_reused_and_repeats_are_skipped(desk, tmp_path, capsys):
    first = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, TAOBAO_ROWS[:2], "gbk")
    assert run(desk, first, "--source", "淘宝", "--accept-mapping", capsys=capsys)[0] == 0
    # a later export of the same source: no confirmation needed, headers reordered
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    later_rows = [[r[i] for i in order] for r in TAOBAO_ROWS[:3]]
    later = write_csv(tmp_path / "b.csv", [TAOBAO_HEADER[i] for i in order], later_rows, "gbk")
    code, payload, out = run(desk, later, "--source", "淘宝", capsys=capsys)
    assert code == 0, out.err
    assert payload["mapping"]["reused"] is True and payload["mapping_saved"] is False
    summary = payload["summary"]
    assert (summary["added"], summary["skipped"]) == (1, 2)
    assert {r["code"] for r in payload["rows"] if r["action"] == "skipped"} == {"ALREADY_PRESENT"}
    assert [r["订单编号"] for r in sheet_rows(desk)[2]] == ["000123", "000124", "000125"]


def test_utf8_bom_csv_with_other_chinese_headers(desk, tmp_path, capsys):
    header = ["外部订单号", "客户", "商品名称", "数量", "收件人", "电话", "详细地址", "下单时间"]
    rows = [["JD-7788", "京东自营", "蓝牙耳机", "1", "赵六", "138 0013 8001", "北京市朝阳区建国路88号", "2026/03/01 08:30"],
            ["JD-7789", "京东自营", "x" * 40000, "2", "钱七", "13800138002", "上海市浦东新区世纪大道100号", ""]]
    src = tmp_path / "jd.csv"
    write_csv(src, header, rows, "utf-8-sig")
    assert src.read_bytes().startswith(b"\xef\xbb\xbf")
    code, payload, out = run(desk, src, "--source", "京东", "--accept-mapping", "--channel", "电商后台", capsys=capsys)
    assert code == 0, out.err
    assert payload["encoding"] == "UTF-8 (BOM)"
    keys = payload["mapping"]["keys"]
    assert keys["order_no"] == "外部订单号" and keys["address"] == "详细地址" and keys["receiver_phone"] == "电话"
    assert any("32767" in n for n in payload["notes"])
    rows_out = sheet_rows(desk)[2]
    assert rows_out[0]["接收时间"] == datetime(2026, 3, 1, 8, 30) and rows_out[0]["接收渠道"] == "电商后台"
    assert len(rows_out[1]["货物名称"]) == 32767


def test_xlsx_export_with_english_headers_keeps_numbers_as_text(desk, tmp_path, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders Export"
    ws.append(["Order ID", "Customer Name", "Product Name", "Qty", "Consignee", "Phone", "Shipping Address"])
    ws.append([202603010001, "Acme Ltd", "Desk lamp", 4, "Zhou Ba", 13800138003, "广东省深圳市南山区科技园路1号"])
    ws.append([202603010002, "Acme Ltd", "Chair", 1, "Wu Jiu", 13800138004, "广东省广州市天河区体育西路2号"])
    for n in range(3, 9):
        ws.append([202603010000 + n, "Acme Ltd", "Box", n, "Zheng Shi", 13800138000 + n, "广东省深圳市福田区深南大道3号"])
    src = tmp_path / "erp.xlsx"
    wb.save(src)
    code, payload, out = run(desk, src, "--source", "ERP", "--accept-mapping", capsys=capsys)
    assert code == 0, out.err
    sheet, _, rows = sheet_rows(desk)
    assert len(rows) == 8
    assert sheet.tables["Orders"].ref == "A1:AF9"  # the Excel table grew over the appended rows
    assert [r["订单编号"] for r in rows[:2]] == ["202603010001", "202603010002"]
    assert rows[0]["收货人电话"] == "13800138003" and rows[0]["数量"] == 4


def test_source_mismatch_is_flagged_then_accepted_with_audit(desk, tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, TAOBAO_ROWS[:1], "gbk")
    assert run(desk, src, "--source", "淘宝", "--accept-mapping", capsys=capsys)[0] == 0
    changed = [TAOBAO_ROWS[0][:3] + ["5"] + TAOBAO_ROWS[0][4:6] + ["浙江省杭州市西湖区文三路200号"] + ["易碎"]]
    again = write_csv(tmp_path / "a2.csv", TAOBAO_HEADER, changed, "gbk")

    code, payload, out = run(desk, again, "--source", "淘宝", capsys=capsys)
    assert code == 1
    row = payload["rows"][0]
    assert row["action"] == "flagged" and row["code"] == "SOURCE_MISMATCH" and row["sheet_row"] == 2
    diffs = {d["label"]: (d["current"], d["incoming"]) for d in row["differences"]}
    assert diffs == {"数量": ("2", "5"), "收货地址": ("浙江省杭州市西湖区文三路100号", "浙江省杭州市西湖区文三路200号")}
    flagged = sheet_rows(desk)[2][0]
    assert flagged["数量"] == 2 and flagged["收货地址"].endswith("100号")  # nothing overwritten
    assert flagged["校验状态"] == "有问题"
    assert "SOURCE_MISMATCH" in flagged["问题说明"] and "“2”" in flagged["问题说明"] and "“5”" in flagged["问题说明"]

    # the same difference again is flagged again, but recorded once
    assert run(desk, again, "--source", "淘宝", capsys=capsys)[0] == 1
    # accepting needs a name
    assert run(desk, again, "--source", "淘宝", "--accept-changes", "000123", capsys=capsys)[0] == 2
    code, payload, out = run(desk, again, "--source", "淘宝", "--accept-changes", "000123", "--by", "王主管",
                             capsys=capsys)
    assert code == 0, out.err
    assert payload["rows"][0]["action"] == "updated"
    updated = sheet_rows(desk)[2][0]
    assert updated["数量"] == 5 and updated["收货地址"].endswith("200号")
    assert not updated["问题说明"] and updated["校验状态"] == "待复核"

    from xl_addin.adapters.store import open_store

    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        audit = store.audit_entries("order", "000123")
        cases = store.conn.execute("SELECT state, resolved_by FROM import_mismatches").fetchall()
    accepted = [a for a in audit if a["action"] == "import:accept_changes"]
    assert len(accepted) == 1 and accepted[0]["actor"] == "王主管"
    assert {d["label"] for d in accepted[0]["detail"]["differences"]} == {"数量", "收货地址"}
    assert cases == [("accepted", "王主管")]
    # once accepted, the same file is a plain repeat
    code, payload, _ = run(desk, again, "--source", "淘宝", capsys=capsys)
    assert code == 0 and payload["rows"][0]["code"] == "ALREADY_PRESENT"


def test_keep_current_stops_the_flag_without_changing_the_row(desk, tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, TAOBAO_ROWS[:1], "gbk")
    run(desk, src, "--source", "淘宝", "--accept-mapping", capsys=capsys)
    changed = write_csv(tmp_path / "b.csv", TAOBAO_HEADER, [TAOBAO_ROWS[0][:5] + ["13800138999"] + TAOBAO_ROWS[0][6:]],
                        "gbk")
    assert run(desk, changed, "--source", "淘宝", capsys=capsys)[0] == 1
    code, payload, _ = run(desk, changed, "--source", "淘宝", "--keep-current", "000123", "--by", "李客服",
                           capsys=capsys)
    assert code == 0 and payload["rows"][0]["action"] == "kept"
    assert sheet_rows(desk)[2][0]["收货人电话"] == "13800138000"
    assert run(desk, changed, "--source", "淘宝", capsys=capsys)[1]["rows"][0]["code"] == "ALREADY_PRESENT"


def test_map_option_corrects_the_guess(desk, tmp_path, capsys):
    header = ["平台交易号", "客户名称", "货物名称", "数量", "收货人", "收货人电话", "收货地址"]
    src = write_csv(tmp_path / "erp.csv", header, [["T-1", "甲公司", "书", "1", "孙", "13800138005",
                                                     "江苏省南京市玄武区中山路1号"]], "utf-8")
    code, _, out = run(desk, src, "--source", "ERP2", "--accept-mapping", capsys=capsys)
    assert code == 2 and "订单编号" in out.err and "erp.csv" in out.err
    code, payload, out = run(desk, src, "--source", "ERP2", "--map", "订单编号=平台交易号", "--accept-mapping",
                             capsys=capsys)
    assert code == 0, out.err
    assert payload["mapping"]["keys"]["order_no"] == "平台交易号"
    assert sheet_rows(desk)[2][0]["订单编号"] == "T-1"


def test_bad_input_exits_2_naming_the_file(desk, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, out = run(desk, empty, "--accept-mapping", capsys=capsys)
    assert code == 2 and "empty.csv" in out.err
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\r\n\r\n  \r\n")
    assert run(desk, blank, "--accept-mapping", capsys=capsys)[0] == 2
    garbage = tmp_path / "乱码.csv"
    garbage.write_bytes("订单编号,收货人\n".encode("utf-8") + b"\x81 \xff\xff,x\n")
    code, _, out = run(desk, garbage, "--accept-mapping", capsys=capsys)
    assert code == 2 and "乱码.csv" in out.err and "编码" in out.err
    no_phone = write_csv(tmp_path / "缺列.csv", [h for h in TAOBAO_HEADER if h != "联系手机"],
                         [[c for i, c in enumerate(TAOBAO_ROWS[0]) if i != 5]], "gbk")
    code, _, out = run(desk, no_phone, "--accept-mapping", capsys=capsys)
    assert code == 2 and "收货人电话" in out.err and "缺列.csv" in out.err
    assert sheet_rows(desk)[2] == []


def test_rows_without_order_number_are_rejected_and_exit_1(desk, tmp_path, capsys):
    rows = [TAOBAO_ROWS[0], [""] + TAOBAO_ROWS[2][1:]]
    src = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, rows, "gbk")
    code, payload, _ = run(desk, src, "--accept-mapping", capsys=capsys)
    assert code == 1
    assert [(r["row"], r["action"], r["code"]) for r in payload["rows"]] == [
        (2, "added", None), (3, "rejected", "MISSING_ORDER_NO")]


def test_import_with_validate_keeps_the_mismatch_flag(desk, tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, TAOBAO_ROWS[:1], "gbk")
    code, payload, out = run(desk, src, "--source", "淘宝", "--accept-mapping", "--validate", capsys=capsys)
    assert payload["validation"]["rows"] == 1, out.err
    changed = write_csv(tmp_path / "b.csv", TAOBAO_HEADER, [TAOBAO_ROWS[0][:3] + ["9"] + TAOBAO_ROWS[0][4:]], "gbk")
    code, payload, _ = run(desk, changed, "--source", "淘宝", "--validate", capsys=capsys)
    assert code == 1
    row = sheet_rows(desk)[2][0]
    assert row["校验状态"] == "有问题" and "SOURCE_MISMATCH" in row["问题说明"] and row["数量"] == 2


def test_workbook_open_in_excel_imports_nothing(desk, tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", TAOBAO_HEADER, TAOBAO_ROWS[:2], "gbk")
    owner = desk / "~$订单确认单.xlsx"
    owner.write_bytes(b"\x05Alice" + b"\x00" * 40)
    code, _, out = run(desk, src, "--source", "淘宝", "--accept-mapping", capsys=capsys)
    assert code == 2 and "没有导入" in out.err
    owner.unlink()
    code, payload, _ = run(desk, src, "--source", "淘宝", capsys=capsys)  # mapping was kept; rows were not
    assert code == 0 and payload["summary"]["added"] == 2
