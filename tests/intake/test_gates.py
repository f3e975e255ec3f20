"""Stage 1's gate: severity decides what clears an order (real workbooks, the real state store, the CLI)."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from support.order_desk import column, fill_desk, order, run

from xl_addin.adapters.store.orders import OrderRecords
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.domain.confirmation import Outcome, decide
from xl_addin.domain.gates import GatePolicy, Override, assess
from xl_addin.errors import UserError
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.intake.confirmation import record_confirmation
from xl_addin.services.intake.validation import validate_orders
from xl_addin.services.intake.desk_rules import policy_for_desk
from xl_addin.services.intake.overrides import record_override

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
KNIFE = dict(order_no="DD5001", goods_name="管制刀具")
BAD_PHONE = dict(order_no="DD5002", receiver_phone="1391234567")
POWER_BANK = dict(order_no="DD5003", goods_name="充电宝 20000mAh")
SHORT_ADDRESS = dict(order_no="DD5004", address="浙江省杭州市西湖区")
ZERO = dict(order_no="DD5005", quantity=0)


@pytest.fixture()
def desk(tmp_path):
    root = tmp_path / "desk"
    init_desk(root, NOW)
    return load_desk(root)


def _validate(desk, now=NOW):
    with store_for(desk) as store:
        return validate_orders(desk.workbook("orders"), now, store=store, backup_dir=desk.backup_dir,
                               policy=policy_for_desk(desk))


def _confirm(desk, order_no, outcome="已确认", now=NOW + timedelta(minutes=10)):
    with store_for(desk) as store:
        return record_confirmation(desk.workbook("orders"), order_no, outcome, "王芳", now, channel="电话",
                                   store=store, backup_dir=desk.backup_dir, policy=policy_for_desk(desk))


def _override(desk, order_no, *codes, role="物流主管", reason="客户书面确认此号码为座机分机", by="张主管",
              now=NOW + timedelta(minutes=20)):
    with store_for(desk) as store:
        return record_override(desk.workbook("orders"), order_no, list(codes), by=by, role=role, reason=reason,
                               now=now, store=store, backup_dir=desk.backup_dir, policy=policy_for_desk(desk))


def _status(desk, order_no):
    with store_for(desk) as store:
        return OrderRecords(store).get(order_no).status


@pytest.mark.parametrize("bad", [KNIFE, BAD_PHONE, SHORT_ADDRESS, ZERO, dict(order_no="DD5006", receiver=None)],
                         ids=["prohibited", "phone", "address", "quantity", "missing-field"])
def test_the_customers_yes_does_not_clear_a_hard_error(desk, bad):
    fill_desk(desk.root, [order(**bad)])
    _validate(desk)
    row = _confirm(desk, bad["order_no"])
    assert row.result.status == "error"
    assert row.decision.status == "awaiting_customer"
    assert "客户确认不能放行" in row.decision.note
    assert _status(desk, bad["order_no"]) == "awaiting_customer"
    assert column(desk.workbook("orders"), "订单状态") == ["待确认"]


def test_an_override_names_who_role_reason_and_code_and_shows_in_the_row(desk):
    fill_desk(desk.root, [order(**BAD_PHONE)])
    _validate(desk)
    row = _override(desk, "DD5002", "PHONE_INVALID")
    assert row.decision.status == "confirmed" and row.decision.confirmed_by == "张主管"
    book = desk.workbook("orders")
    assert column(book, "订单状态") == ["已确认"]
    assert column(book, "确认结果") == ["已放行"] and column(book, "确认人") == ["张主管"]
    shown = column(book, "问题说明")[0]
    assert "PHONE_INVALID" in shown and "张主管（物流主管）" in shown and "座机分机" in shown
    with store_for(desk) as store:
        audit = [a for a in store.audit_entries("order", "DD5002") if a["action"] == "order:override"]
    assert audit and audit[-1]["actor"] == "张主管"
    assert audit[-1]["detail"]["code"] == "PHONE_INVALID" and audit[-1]["detail"]["role"] == "物流主管"
    # a later check keeps the release
    again = _validate(desk, NOW + timedelta(hours=3))
    assert again.rows[0].decision.status == "confirmed"


def test_an_override_covers_only_its_code(desk):
    fill_desk(desk.root, [order(order_no="DD5007", receiver_phone="1391234567", quantity=0)])
    _validate(desk)
    row = _override(desk, "DD5007", "PHONE_INVALID")
    assert row.decision.status == "awaiting_customer" and "QUANTITY_INVALID" in row.decision.note


@pytest.mark.parametrize("kwargs, said", [
    (dict(role="跟踪专员"), "无权放行"), (dict(reason=" "), "理由"), (dict(by=""), "批准人")])
def test_an_override_without_authority_or_reason_records_nothing(desk, kwargs, said):
    fill_desk(desk.root, [order(**BAD_PHONE)])
    _validate(desk)
    with pytest.raises(UserError, match=said):
        _override(desk, "DD5002", "PHONE_INVALID", **kwargs)
    with store_for(desk) as store:
        assert not [a for a in store.audit_entries("order", "DD5002") if a["action"] == "order:override"]
    assert _status(desk, "DD5002") == "awaiting_customer"


def test_prohibited_goods_cannot_be_overridden_only_corrected_or_cancelled(desk):
    fill_desk(desk.root, [order(**KNIFE)])
    _validate(desk)
    with pytest.raises(UserError, match="禁寄物品不能放行"):
        _override(desk, "DD5001", "PROHIBITED_GOODS")
    assert _status(desk, "DD5001") == "awaiting_customer"
    assert _confirm(desk, "DD5001", "已取消").decision.status == "cancelled"
    assert _status(desk, "DD5001") == "cancelled"


def test_a_code_the_order_does_not_have_or_a_warning_is_not_overridden(desk):
    fill_desk(desk.root, [order(**BAD_PHONE), order(order_no="DD5008", special_requirements="要开发票")])
    _validate(desk)
    with pytest.raises(UserError, match="没有 ADDRESS_INCOMPLETE"):
        _override(desk, "DD5002", "ADDRESS_INCOMPLETE")
    with pytest.raises(UserError, match="由客户确认即可"):
        _override(desk, "DD5008", "SPECIAL_REQUIREMENT_UNCLEAR")


def test_a_warning_waits_for_the_customer_and_their_yes_clears_it(desk):
    fill_desk(desk.root, [order(order_no="DD5008", special_requirements="要开发票")])
    first = _validate(desk)
    assert first.rows[0].result.status == "warning" and first.rows[0].decision.status == "awaiting_customer"
    assert _confirm(desk, "DD5008").decision.status == "confirmed"


def test_restricted_goods_only_tag_the_order_by_default(desk):
    fill_desk(desk.root, [order(**POWER_BANK)])
    report = _validate(desk)
    row = report.rows[0]
    assert [p.code for p in row.result.problems] == ["RESTRICTED_GOODS"]
    assert row.decision.status == "confirmed" and row.decision.deadline is None
    book = desk.workbook("orders")
    assert "特殊处理" in column(book, "要求标签")[0]
    assert column(book, "确认截止") == [None]


def test_the_desk_decides_which_warnings_hold(desk):
    cfg = desk.root / "xl-logistics.toml"
    text = cfg.read_text(encoding="utf-8")
    assert 'tag_only = ["RESTRICTED_GOODS"]' in text  # the default is written, with its comment
    cfg.write_text(text.replace('tag_only = ["RESTRICTED_GOODS"]', "tag_only = []"), encoding="utf-8")
    desk = load_desk(desk.root)
    fill_desk(desk.root, [order(**POWER_BANK)])
    assert _validate(desk).rows[0].decision.status == "awaiting_customer"


def test_summary_counts_add_up_to_the_rows(desk):
    fill_desk(desk.root, [order(), order(**KNIFE), order(**POWER_BANK), order(order_no="DD5009"),
                          order(order_no="DD5010", special_requirements="要开发票"), order(order_no=None)])
    first = _validate(desk)
    _confirm(desk, "DD5001", "已取消")
    with store_for(desk) as store, store.transaction():
        rec = OrderRecords(store).get("DD5009")
        rec.status = "allocated"
        OrderRecords(store).save([rec], NOW)
    s = _validate(desk, NOW + timedelta(minutes=30)).summary
    assert s["rows"] == 6 == first.summary["rows"]
    assert s["ok"] + s["warnings"] + s["errors"] == s["rows"]
    assert s["confirmed"] + s["awaiting"] + s["cancelled"] + s["later"] == s["rows"]
    assert s["later"] == 1 and s["cancelled"] == 1


def test_decide_with_no_gate_still_blocks_errors():
    # the domain rule alone, without the service: a confirmed outcome never opens an error's gate
    gate = assess([("PHONE_INVALID", "error")], {}, GatePolicy())
    d = decide("error", Outcome("confirmed", "王芳", NOW), None, "fp", NOW, timedelta(hours=1), gate)
    assert d.status == "awaiting_customer"
    released = assess([("PHONE_INVALID", "error")],
                      {"PHONE_INVALID": Override("PHONE_INVALID", "张主管", "物流主管", "理由", NOW)}, GatePolicy())
    assert decide("error", Outcome(None), None, "fp", NOW, timedelta(hours=1), released).status == "confirmed"
    never = assess([("PROHIBITED_GOODS", "error")],
                   {"PROHIBITED_GOODS": Override("PROHIBITED_GOODS", "张主管", "物流主管", "理由", NOW)}, GatePolicy())
    assert never.blocking == ("PROHIBITED_GOODS",)


def test_cli_confirm_and_override_on_a_real_desk(tmp_path):
    root = tmp_path / "desk"
    assert run("init", str(root)).returncode == 0
    fill_desk(root, [order(**KNIFE), order(**BAD_PHONE), order(**POWER_BANK)])
    assert run("validate", "--desk", str(root), "--now", NOW.isoformat()).returncode == 1
    later = (NOW + timedelta(minutes=10)).isoformat()
    said = run("confirm", "DD5001", "--outcome", "已确认", "--by", "王芳", "--desk", str(root), "--now", later)
    assert said.returncode == 1 and "客户确认不能放行" in said.stdout
    refused = run("override", "DD5001", "PROHIBITED_GOODS", "--by", "张主管", "--role", "物流主管",
                  "--reason", "客户坚持", "--desk", str(root), "--now", later)
    assert refused.returncode == 2 and "禁寄物品不能放行" in refused.stderr and "Traceback" not in refused.stderr
    ok = run("override", "DD5002", "PHONE_INVALID", "--by", "张主管", "--role", "物流主管",
             "--reason", "客户书面确认", "--desk", str(root), "--now", later, "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["order_status"] == "confirmed"
    alloc = run("allocate", "--desk", str(root), "--now", (NOW + timedelta(minutes=30)).isoformat(), "--json")
    assert alloc.returncode in (0, 1), alloc.stderr
    bound = column(root / "物流单号绑定表.xlsx", "订单编号", sheet=_binding_sheet(root))
    assert "DD5001" not in bound and {"DD5002", "DD5003"} <= set(bound)


def _binding_sheet(root: Path) -> str:
    import openpyxl

    return openpyxl.load_workbook(root / "物流单号绑定表.xlsx", read_only=True).sheetnames[0]
