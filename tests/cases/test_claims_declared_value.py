"""The declared value read at intake (保价5000元 → 保价金额) reaches the claim: `case` shows it, and a claim
amount above it is flagged by `case` and `case-update` (an insured parcel is paid up to its declared value)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.entrypoints import case_commands  # noqa: F401  (registers the commands)
from xl_addin.entrypoints.cli import main
from xl_addin.services.desk.setup import init_desk

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=CN)
AT = ["--now", "2026-11-26T09:00+08:00"]


def _desk_with_insured_order(root, declared):
    init_desk(root, NOW)
    desk = load_desk(root)
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([Binding(order_no="O1", waybill_no="SF1234567890", carrier="顺丰",
                                                  carrier_code="shunfeng", source="auto", bound_at=NOW,
                                                  bound_by="系统", expected_delivery=(NOW + timedelta(days=2)).date())])
        normalized = {"tags": ["保价"], "declared_value": declared} if declared is not None else {}
        OrderRecords(st).save([OrderRecord("O1", "allocated", "ok", fields={"normalized": normalized})], NOW)
    return root


def _report(root, capsys) -> str:
    assert main(["report-exception", "--waybill", "SF1234567890", "--type", "破损", "--description", "外箱压坏",
                 "--by", "张敏", "--json", "--desk", str(root), *AT]) == 0
    return json.loads(capsys.readouterr().out)["case_id"]


def test_claim_above_the_declared_value_is_flagged(tmp_path, capsys):
    root = _desk_with_insured_order(tmp_path / "desk", "5000")
    case_id = _report(root, capsys)
    assert main(["case-update", case_id, "--by", "李四", "--claim-amount", "8000", "--desk", str(root), *AT]) == 0
    out = capsys.readouterr().out
    assert "理赔金额 8000" in out and "保价金额 5000" in out
    assert main(["case", case_id, "--desk", str(root), *AT]) == 0
    out = capsys.readouterr().out
    assert "订单保价金额: 5000" in out and "超过订单保价金额" in out
    assert main(["case", case_id, "--json", "--desk", str(root), *AT]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["declared_value"] == "5000" and view["claim_over_declared"] is True


def test_claim_within_the_declared_value_or_without_one_is_not_flagged(tmp_path, capsys):
    root = _desk_with_insured_order(tmp_path / "insured", "5000")
    case_id = _report(root, capsys)
    assert main(["case-update", case_id, "--by", "李四", "--claim-amount", "3000", "--desk", str(root), *AT]) == 0
    assert "超过" not in capsys.readouterr().out
    plain = _desk_with_insured_order(tmp_path / "plain", None)
    case_id = _report(plain, capsys)
    assert main(["case-update", case_id, "--by", "李四", "--claim-amount", "3000", "--desk", str(plain), *AT]) == 0
    assert "保价" not in capsys.readouterr().out
    assert main(["case", case_id, "--json", "--desk", str(plain), *AT]) == 0
    assert json.loads(capsys.readouterr().out)["declared_value"] is None
