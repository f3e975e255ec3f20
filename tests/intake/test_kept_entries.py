"""What a person records while a workbook is open in Excel is kept and reaches the workbook later.

Real workbooks with a real Excel owner file (``~$name``) beside them, the real state store, the CLI.
"""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from support.order_desk import column, fill_desk, order, run

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.orders import OrderRecords

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)


def _owner(book):
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(b"\x04Wang" + b"\x00" * 49)
    return owner


def _desk(tmp_path, orders):
    root = tmp_path / "desk"
    assert run("init", str(root)).returncode == 0
    return root, fill_desk(root, orders)


def test_a_cancellation_recorded_while_the_book_is_open_survives_the_next_check(tmp_path):
    root, book = _desk(tmp_path, [order(order_no="DD6001", special_requirements="要开发票")])
    assert run("validate", "--desk", str(root), "--now", NOW.isoformat()).returncode == 0
    owner = _owner(book)
    before = book.read_bytes()
    said = run("confirm", "DD6001", "--outcome", "已取消", "--by", "王芳", "--desk", str(root),
               "--now", (NOW + timedelta(minutes=5)).isoformat(), "--json")
    assert said.returncode == 0, said.stderr
    answer = json.loads(said.stdout)
    assert answer["order_status"] == "cancelled" and answer["written"] is False
    assert "Excel" in said.stderr and "状态库" in said.stderr
    assert book.read_bytes() == before  # the open book was not touched
    with open_store(root / ".xl-logistics" / "state.sqlite3") as store:
        assert OrderRecords(store).get("DD6001").status == "cancelled"
    # a check while it is still open keeps the cancellation too
    still = json.loads(run("validate", "--desk", str(root), "--now", (NOW + timedelta(minutes=8)).isoformat(),
                           "--json").stdout)
    assert still["rows"][0]["order_status"] == "cancelled"
    owner.unlink()
    after = run("validate", "--desk", str(root), "--now", (NOW + timedelta(minutes=10)).isoformat(), "--json")
    assert json.loads(after.stdout)["rows"][0]["order_status"] == "cancelled"
    assert column(book, "订单状态") == ["已取消"]
    assert column(book, "确认结果") == ["已取消"] and column(book, "确认人") == ["王芳"]
    # from now on the row itself carries the answer
    again = run("validate", "--desk", str(root), "--now", (NOW + timedelta(hours=2)).isoformat(), "--json")
    assert json.loads(again.stdout)["rows"][0]["order_status"] == "cancelled"


def test_an_override_recorded_while_the_book_is_open_is_kept(tmp_path):
    root, book = _desk(tmp_path, [order(order_no="DD6002", receiver_phone="1391234567")])
    run("validate", "--desk", str(root), "--now", NOW.isoformat())
    owner = _owner(book)
    said = run("override", "DD6002", "PHONE_INVALID", "--by", "张主管", "--role", "物流主管", "--reason", "客户书面确认",
               "--desk", str(root), "--now", (NOW + timedelta(minutes=5)).isoformat())
    assert said.returncode == 0, said.stderr
    assert "状态库" in said.stderr
    owner.unlink()
    run("validate", "--desk", str(root), "--now", (NOW + timedelta(minutes=10)).isoformat())
    assert column(book, "订单状态") == ["已确认"]
    assert "张主管（物流主管）" in column(book, "问题说明")[0]


def test_a_later_answer_replaces_one_still_waiting_to_be_written(tmp_path):
    root, book = _desk(tmp_path, [order(order_no="DD6003", special_requirements="要开发票")])
    run("validate", "--desk", str(root), "--now", NOW.isoformat())
    owner = _owner(book)
    run("confirm", "DD6003", "--outcome", "已取消", "--by", "王芳", "--desk", str(root),
        "--now", (NOW + timedelta(minutes=5)).isoformat())
    run("confirm", "DD6003", "--outcome", "已确认", "--by", "李强", "--desk", str(root),
        "--now", (NOW + timedelta(minutes=6)).isoformat())
    owner.unlink()
    run("validate", "--desk", str(root), "--now", (NOW + timedelta(minutes=10)).isoformat())
    assert column(book, "订单状态") == ["已确认"] and column(book, "确认人") == ["李强"]


def test_a_binding_made_while_the_books_are_open_is_stored_and_written_later(tmp_path):
    root, book = _desk(tmp_path, [order(order_no="DD6004")])
    run("validate", "--desk", str(root), "--now", NOW.isoformat())
    bindings = root / "物流单号绑定表.xlsx"
    owners = [_owner(book), _owner(bindings)]
    before = bindings.read_bytes()
    said = run("bind", "DD6004", "SF1234567890123", "--carrier", "SF", "--by", "李娜", "--desk", str(root),
               "--now", (NOW + timedelta(minutes=5)).isoformat())
    assert said.returncode == 0, said.stderr
    assert "状态库" in said.stdout + said.stderr and bindings.read_bytes() == before
    with open_store(root / ".xl-logistics" / "state.sqlite3") as store:
        assert OrderRecords(store).get("DD6004").status == "allocated"
    for o in owners:
        o.unlink()
    assert run("allocate", "--desk", str(root), "--now", (NOW + timedelta(minutes=10)).isoformat()).returncode in (0, 1)
    import openpyxl

    sheet = openpyxl.load_workbook(bindings, read_only=True).worksheets[0]
    rows = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    assert any("DD6004" in r and "SF1234567890123" in r for r in rows)


def test_a_case_update_and_a_follow_up_while_the_books_are_open_are_kept(tmp_path):
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.adapters.store.followups import ClosingStore
    from xl_addin.adapters.store.tracking import TrackingStore

    root, book = _desk(tmp_path, [order(order_no="DD6005")])
    with open_store(root / ".xl-logistics" / "state.sqlite3") as store, store.transaction():
        TrackingStore(store).register([{"waybill_no": "SF1234567890123", "order_no": "DD6005",
                                        "carrier_code": "shunfeng"}], NOW)
        cs = ClosingStore(store)
        cs.add_followup("DD6005", "SF1234567890123", NOW, NOW + timedelta(hours=24), NOW)
    ledger = root / "异常订单处理台账.xlsx"
    owners = [_owner(ledger), _owner(book)]
    at = ["--desk", str(root), "--now", (NOW + timedelta(minutes=5)).isoformat()]
    opened = run("report-exception", "--waybill", "SF1234567890123", "--type", "延误", "--description", "三天未动",
                 "--by", "李娜", "--json", *at)
    assert opened.returncode == 0, opened.stderr
    case_id = json.loads(opened.stdout)["case_id"]
    updated = run("case-update", case_id, "--by", "王强", "--cause", "暴雨", *at)
    assert updated.returncode == 0, updated.stderr
    followed = run("followup", "DD6005", "--intact", "是", "--speed-ok", "是", "--score", "5", "--by", "王芳", *at)
    assert followed.returncode == 0, followed.stderr
    with open_store(root / ".xl-logistics" / "state.sqlite3") as store:
        assert CaseStore(store).get(case_id)["cause"] == "暴雨"
        assert ClosingStore(store).followup("DD6005")["contacted_by"] == "王芳"
    for o in owners:
        o.unlink()
    synced = run("sync-ledger", *at)
    assert synced.returncode == 0, synced.stderr
    import openpyxl

    ws = openpyxl.load_workbook(ledger, read_only=True)["异常台账"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    mine = [r for r in rows[1:] if r[head.index("案件编号")] == case_id]
    assert mine and mine[0][head.index("原因")] == "暴雨"
