"""Follow-ups: a dissatisfied answer opens (or links) a case; the sheet and `followups --json` list them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support.closing_desk import make_desk, seed_order

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 6, 9, 0, tzinfo=TZ)


@pytest.fixture
def desk(tmp_path):
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import complete_signed_orders

    d = make_desk(tmp_path / "desk", NOW)
    with store_for(d) as store:
        seed_order(d, store, "O1", "SF3001", bound_at=NOW - timedelta(days=3), signed_at=NOW - timedelta(hours=20),
                   now=NOW, in_workbooks=False)
        seed_order(d, store, "O2", "SF3002", bound_at=NOW - timedelta(days=3), signed_at=NOW - timedelta(hours=30),
                   now=NOW, in_workbooks=False)
        seed_order(d, store, "O3", "SF3003", bound_at=NOW - timedelta(days=3), signed_at=NOW - timedelta(hours=2),
                   now=NOW, in_workbooks=False)
        complete_signed_orders(store, NOW)
    return d


def test_dissatisfied_follow_up_opens_a_case_and_a_repeat_links_it(desk):
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import report_exception
    from xl_addin.services.closing.close_orders import followup_list, record_followup
    from xl_addin.errors import UserError

    with store_for(desk) as store:
        out = record_followup(store, NOW, "O1", by="李四", goods_intact="否", speed_ok="是", score="2",
                              comment="外箱压扁")
        assert len(out["case_ids"]) == 1
        case = CaseStore(store).get(out["case_ids"][0])
        assert (case["type"], case["order_no"], case["waybill_no"]) == ("破损", "O1", "SF3001")
        assert "外箱压扁" in case["description"]
        with pytest.raises(UserError, match="已于"):
            record_followup(store, NOW, "O1", by="李四", goods_intact="是", speed_ok="是")
        # an open delay case already exists for O2: the "no" links to it instead of opening a second
        existing = report_exception(store, NOW - timedelta(hours=1), type="延误", description="晚到一天", by="系统",
                                    waybill_no="SF3002", order_no="O2")
        out2 = record_followup(store, NOW, "O2", by="李四", goods_intact="yes", speed_ok="no", score=3)
        assert out2["case_ids"] == [existing["case_id"]]
        assert len([c for c in CaseStore(store).open_cases() if c["waybill_no"] == "SF3002"]) == 1
        assert not out2["on_time"]  # signed 30 h ago: the call came late
        with pytest.raises(UserError, match="评分"):
            record_followup(store, NOW, "O3", by="李四", goods_intact="是", speed_ok="是", score="9")
        states = {f["order_no"]: f["state"] for f in followup_list(store, NOW)}
        assert states == {"O1": "done", "O2": "done", "O3": "due"}


def test_sheet_answers_are_recorded_and_states_shown(desk):
    from xl_addin.adapters.store.followups import ClosingStore
    from xl_addin.adapters.workbook.books import FOLLOWUPS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.close_orders import sync_followups_sheet

    path = desk.workbook("orders")
    with store_for(desk) as store:
        sync_followups_sheet(path, store, NOW, TZ, backup_dir=None)
        rows = {r.values["order_no"]: r.values for r in read_sheet(path, FOLLOWUPS_SHEET).rows}
        assert {k: v["followup_status"] for k, v in rows.items()} == {"O1": "待回访", "O2": "已超时", "O3": "待回访"}
        assert rows["O1"]["due_at"] == datetime(2026, 10, 6, 13, 0)  # signed 05 13:00 + 24 h, desk time
        # staff type the answer for O3 into the sheet
        t = read_sheet(path, FOLLOWUPS_SHEET)
        r = next(x.row for x in t.rows if x.values["order_no"] == "O3")
        from xl_addin.adapters.workbook.xml_patch import write_cells
        write_cells(path, t.sheet, t.header_row, {}, {(r, t.columns["contacted_by"]): "王五",
                                                      (r, t.columns["contacted_at"]): datetime(2026, 10, 6, 10, 0),
                                                      (r, t.columns["goods_intact"]): "是",
                                                      (r, t.columns["speed_satisfied"]): "是",
                                                      (r, t.columns["score"]): 5}, backup_dir=None)
        out = sync_followups_sheet(path, store, NOW + timedelta(hours=2), TZ, backup_dir=None)
        assert [x["order_no"] for x in out["recorded"]] == ["O3"] and out["problems"] == []
        fu = ClosingStore(store).followup("O3")
        assert fu["contacted_by"] == "王五" and fu["score"] == 5
        assert fu["contacted_at"] == datetime(2026, 10, 6, 10, 0, tzinfo=TZ)
        rows = {r.values["order_no"]: r.values for r in read_sheet(path, FOLLOWUPS_SHEET).rows}
        assert rows["O3"]["followup_status"] == "已完成" and len(rows) == 3


def test_followups_json_command(desk, capsys):
    from xl_addin.entrypoints import closing_commands  # noqa: F401  (registers the commands)
    from xl_addin.entrypoints.cli import main

    code = main(["followups", "--desk", str(desk.root), "--json", "--now", NOW.isoformat()])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["counts"] == {"due": 2, "overdue": 1, "done": 0}
    assert {f["order_no"]: f["state"] for f in out["followups"]}["O2"] == "overdue"
    code = main(["followup", "O1", "--intact", "yes", "--speed-ok", "yes", "--score", "5", "--by", "李四",
                 "--desk", str(desk.root), "--now", NOW.isoformat()])
    assert code == 0 and "已记录订单 O1" in capsys.readouterr().out
    runs = (desk.log_dir / "jobs.log").read_text(encoding="utf-8").splitlines()
    assert runs and "\tfollowups-list\tok\t" in runs[-1]
    assert (desk.root / "最近运行.xlsx").exists()
