"""Allocation through the service and the command: carrier choice, numbers, the Binding Table, idempotent writes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import WaybillStore, WaybillTaken
from xl_addin.adapters.workbook.books import BINDINGS_SHEET, BINDING_HISTORY_SHEET, CARRIERS_SHEET, ORDERS
from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.errors import UserError
from xl_addin.services.waybills import Books, WaybillPolicy, allocate, bind_manual, load_carriers, rebind

CN = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CN)


def order(no, province="浙江省", tags=(), weight=1, preferred=None, status="confirmed"):
    return OrderRecord(order_no=no, status=status, check_status="ok",
                       fields={"order_no": no, "weight_kg": weight, "preferred_carrier": preferred,
                               "normalized": {"province": province, "tags": list(tags)}})


@pytest.fixture()
def desk(tmp_path):
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx
    from xl_addin.services.intake.validation import validate_orders

    init_desk(tmp_path, T0)
    d = load_desk(tmp_path)
    rows = generate_orders(12, seed=3, bad_rows=False, start=T0 - timedelta(hours=1))
    write_orders_xlsx(rows, d.workbook("orders"))
    with store_for(d) as store:
        validate_orders(d.workbook("orders"), T0, store=store, backup_dir=d.backup_dir)
    return d


def test_selection_via_the_service(tmp_path):
    from xl_addin.adapters.store import open_store
    from xl_addin.domain.waybills.carriers import load_default_carriers
    import dataclasses

    carriers = [dataclasses.replace(c, qualified=False) if c.code == "ZTO" else c for c in load_default_carriers()]
    with open_store(tmp_path / "s.db") as store:
        with store.transaction():
            OrderRecords(store).save([
                order("A-CUST", "广东省", preferred="顺丰"),
                order("B-COLD", "江苏省", tags=["冷链"]),
                order("C-PLAIN", "江苏省"),
                order("D-NOWHERE", "火星省"),
                order("E-WAIT", status="awaiting_customer"),
            ], T0)
        report = allocate(store, T0, carriers=carriers)
        by = {b.order_no: b for b in report.bindings}
        assert set(by) == {"A-CUST", "B-COLD", "C-PLAIN"}
        assert by["A-CUST"].carrier_code == "SF" and by["A-CUST"].selection_reason == "客户指定"
        assert by["B-COLD"].carrier_code in ("SF", "JD") and "冷链" in by["B-COLD"].selection_reason
        assert by["C-PLAIN"].carrier_code != "ZTO"  # disqualified, though cheapest otherwise
        assert "价格最低" in by["C-PLAIN"].selection_reason
        assert [p["order_no"] for p in report.problems] == ["D-NOWHERE"]
        assert by["A-CUST"].waybill_no == "SF20261126000001"
        assert by["B-COLD"].expected_delivery is not None
        statuses = {r.order_no: r.status for r in OrderRecords(store).all()}
        assert statuses["A-CUST"] == "allocated" and statuses["D-NOWHERE"] == "confirmed"
        assert statuses["E-WAIT"] == "awaiting_customer"
        assert len(store.audit_entries("order", "A-CUST")) == 1
        # a second run allocates nothing twice
        again = allocate(store, T0 + timedelta(minutes=5), carriers=carriers)
        assert again.bindings == [] and [p["order_no"] for p in again.problems] == ["D-NOWHERE"]


def test_company_numbering_and_exhaustion_is_a_user_error(tmp_path):
    from xl_addin.adapters.store import open_store
    from xl_addin.adapters.store.waybills import SerialsExhausted

    with open_store(tmp_path / "s.db") as store:
        with store.transaction():
            OrderRecords(store).save([order(f"O{i}") for i in range(3)], T0)
        ws = WaybillStore(store)
        with store.transaction():
            ws.bump_counter("XL", T0.date(), 999_998)
        policy = WaybillPolicy(numbering="company")
        with pytest.raises(SerialsExhausted) as err:
            allocate(store, T0, policy=policy)
        assert isinstance(err.value, UserError) and "999999" in str(err.value).replace(",", "")
        assert ws.last_serial("XL", T0.date()) == 999_998  # nothing taken
        assert WaybillStore(store).all_current() == []
        with store.transaction():
            OrderRecords(store).save([order("O0"), order("O1", status="cancelled"), order("O2", status="cancelled")], T0)
        r = allocate(store, T0, policy=policy)
        assert [b.waybill_no for b in r.bindings] == ["XL20261126999999"]


def test_allocate_writes_binding_table_and_orders_idempotently(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    with store_for(desk) as store:
        confirmed = len(OrderRecords(store).all("confirmed"))
        assert confirmed >= 8
        r = allocate(store, T0, policy=policy, books=books)
        assert len(r.bindings) == confirmed and r.sync.complete and r.sync.appended == confirmed
        sheet = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET)
        assert sorted(x.values["waybill_no"] for x in sheet.rows) == sorted(b.waybill_no for b in r.bindings)
        row = sheet.rows[0].values
        assert row["source"] == "自动生成" and row["review_status"] == "待审核" and row["carrier"]
        carriers = read_sheet(desk.workbook("bindings"), CARRIERS_SHEET)
        assert len(carriers.rows) == 9  # filled with the defaults on first run
        orders = read_sheet(desk.workbook("orders"), ORDERS.sheets[0])
        mine = {b.order_no: b.waybill_no for b in r.bindings}
        for x in orders.rows:
            if x.values["order_no"] in mine:
                assert x.values["waybill_no"] == mine[x.values["order_no"]]
                assert x.values["order_status"] == "已分配运单"
        # a second sync writes nothing new
        from xl_addin.services.waybills import sync_workbooks
        again = sync_workbooks(store, books, policy)
        assert again.appended == 0 and again.orders_updated == 0
        assert len(read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows) == confirmed


def test_locked_workbook_keeps_results_and_next_run_writes_them(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    owner = desk.workbook("bindings").parent / ("~$" + desk.workbook("bindings").name)
    with store_for(desk) as store:
        load_carriers(books)  # fill the carrier sheet first
        owner.write_bytes(b"someone")
        r = allocate(store, T0, policy=policy, books=books)
        assert r.bindings and r.sync.messages and r.sync.appended == 0
        assert read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows == []
        owner.unlink()
        r2 = allocate(store, T0 + timedelta(minutes=1), policy=policy, books=books)
        assert r2.bindings == [] and r2.sync.appended == len(r.bindings)
        assert len(read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows) == len(r.bindings)


def test_manual_bind_checks_format_and_duplicates_across_sheet_and_store(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    with store_for(desk) as store:
        recs = OrderRecords(store).all("confirmed")
        a, b, c = recs[0].order_no, recs[1].order_no, recs[2].order_no
        with pytest.raises(UserError) as err:
            bind_manual(store, a, "773123456789012", "顺丰", "李四", T0, policy=policy, books=books)
        assert "申通" in str(err.value)  # looks like STO: suggested
        binding, sync, _ = bind_manual(store, a, "sf 1234567890123", "SF", "李四", T0, policy=policy, books=books)
        assert binding.waybill_no == "SF1234567890123" and binding.source == "manual"
        with pytest.raises(WaybillTaken) as err:
            bind_manual(store, b, "SF1234567890123", "SF", "王五", T0, policy=policy, books=books)
        assert a in str(err.value) and err.value.order_no == a
        # a number typed into the sheet by hand (not in the store) is refused too
        from xl_addin.adapters.workbook.xml_patch import write_cells
        sheet = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET)
        nxt = max(r.row for r in sheet.rows) + 1
        write_cells(desk.workbook("bindings"), sheet.sheet, sheet.header_row, {},
                    {(nxt, sheet.columns["order_no"]): "HANDX", (nxt, sheet.columns["waybill_no"]): "JDAB12345678901"},
                    backup_dir=None)
        with pytest.raises(WaybillTaken) as err:
            bind_manual(store, c, "JDAB12345678901", "JD", "王五", T0, policy=policy, books=books)
        assert "HANDX" in str(err.value)


def test_rebind_keeps_history_in_store_and_sheet(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    with store_for(desk) as store:
        r = allocate(store, T0, policy=policy, books=books)
        first = r.bindings[0]
        carrier_number = {"SF": "SF1000000000001", "JD": "JDAB10000000001", "ZTO": "73100000000001",
                          "YTO": "YT1000000000001", "STO": "77100000000001", "YUNDA": "310000000000001",
                          "EMS": "1000000000001", "JT": "JT1000000000001", "DEPPON": "DPK100000000001"}
        new_no = carrier_number[first.carrier_code]
        later = T0 + timedelta(hours=2)
        with pytest.raises(UserError):
            rebind(store, first.order_no, new_no, "赵六", "", later, policy=policy, books=books)
        old, new, sync = rebind(store, first.order_no, new_no, "赵六", "物流商重新出单", later, policy=policy, books=books)
        assert old.waybill_no == first.waybill_no and not old.is_current and old.replaced_by == "赵六"
        assert new.waybill_no == new_no and new.is_current
        assert WaybillStore(store).registry_entry(first.waybill_no)["state"] == "replaced"
        hist = read_sheet(desk.workbook("bindings"), BINDING_HISTORY_SHEET).rows
        assert [(h.values["old_waybill"], h.values["new_waybill"], h.values["reason"]) for h in hist] == \
            [(first.waybill_no, new_no, "物流商重新出单")]
        sheet = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows
        numbers = [x.values["waybill_no"] for x in sheet]
        assert new_no in numbers and first.waybill_no not in numbers and len(sheet) == len(r.bindings)
        # the old number can never be bound again
        with pytest.raises(WaybillTaken):
            rebind(store, first.order_no, first.waybill_no, "赵六", "改回", later, policy=policy, books=books)
        actions = [e["action"] for e in store.audit_entries("order", first.order_no)]
        assert actions == ["order:confirmed", "binding:create", "binding:rebind"] or actions[-2:] == ["binding:create", "binding:rebind"]


def test_cli_allocate_json(desk):
    from xl_addin.entrypoints import cli as cli_module
    from xl_addin.entrypoints import waybill_commands  # noqa: F401
    from click.testing import CliRunner

    runner = CliRunner()
    res = runner.invoke(cli_module.cli, ["allocate", "--desk", str(desk.root), "--json", "--now", T0.isoformat()])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["counts"]["allocated"] == len(payload["bindings"]) > 0
    res = runner.invoke(cli_module.cli, ["review", "--desk", str(desk.root), "--date", "2026-11-26", "--by", "主管"])
    assert res.exit_code == 0 and "审核" in res.output


def test_override_wins_and_is_kept_with_its_author(tmp_path):
    from xl_addin.adapters.store import open_store
    from xl_addin.domain.waybills.selection import Override

    with open_store(tmp_path / "s.db") as store:
        with store.transaction():
            OrderRecords(store).save([order("O-RULE", "江苏省"), order("O-HAND", "江苏省")], T0)
        with pytest.raises(UserError) as err:  # a typo stops the run before any number is taken
            allocate(store, T0, overrides={"O-HAND": Override("顺丰", "王芳"), "O-TYPO": Override("SF", "王芳")})
        assert "O-TYPO" in str(err.value) and WaybillStore(store).all_current() == []
        with pytest.raises(UserError):
            allocate(store, T0, overrides={"O-HAND": Override("飞鸽传书", "王芳")})
        r = allocate(store, T0, overrides={"O-HAND": Override("顺丰", "王芳", "客户电话要求")})
        by = {b.order_no: b for b in r.bindings}
        assert by["O-RULE"].carrier_code != "SF" and by["O-RULE"].decided_by == "rule"
        hand = by["O-HAND"]
        assert hand.carrier_code == "SF" and hand.decided_by == "override" and hand.waybill_no.startswith("SF")
        assert hand.selection_reason.startswith("人工指定") and "王芳" in hand.selection_reason
        assert "客户电话要求" in hand.selection_reason and "规则建议为" in hand.selection_reason
        audit = {e["action"]: e for e in store.audit_entries("order", "O-HAND")}
        assert audit["carrier:override"]["actor"] == "王芳"
        assert "SF" in json.dumps(audit["carrier:override"], ensure_ascii=False, default=str)
        assert [e["action"] for e in store.audit_entries("order", "O-RULE")] == ["binding:create"]


def test_cli_override_needs_by_and_records_it(desk, capsys):
    from xl_addin.entrypoints.cli import main

    with store_for(desk) as store:
        target = OrderRecords(store).all("confirmed")[0].order_no
    argv = ["allocate", "--desk", str(desk.root), "--json", "--now", T0.isoformat(), "--override", f"{target}=京东"]
    assert main(argv) == 2 and "--by" in capsys.readouterr().err
    assert main(argv + ["--by", "王芳", "--note", "客户改要京东"]) == 0
    payload = json.loads(capsys.readouterr().out)
    [b] = [b for b in payload["bindings"] if b["order_no"] == target]
    assert b["carrier_code"] == "JD" and "王芳" in b["selection_reason"] and "客户改要京东" in b["selection_reason"]
    row = next(r.values for r in read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows
               if r.values["order_no"] == target)
    assert "人工指定" in row["selection_reason"] and "王芳" in row["selection_reason"]


def test_archived_bindings_stay_out_of_the_live_sheet(tmp_path):
    from support.archive_month import NOV, build_month, live_keys

    from xl_addin.services.closing.archive import archive_month
    from xl_addin.services.waybills import sync_workbooks

    desk = build_month(tmp_path)
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    with store_for(desk) as store:
        archive_month(desk, store, "2026-10", NOV)
        after_archive = live_keys(desk)["bindings"]
        assert not {"A0", "A1", "A2"} & set(after_archive) and "B1" in after_archive
        with store.transaction():
            OrderRecords(store).save([order("N1", "江苏省")], NOV)
        r = allocate(store, NOV + timedelta(minutes=5), policy=policy, books=books)
        assert [b.order_no for b in r.bindings] == ["N1"] and r.sync.appended == 1
        again = sync_workbooks(store, books, policy)
        assert again.appended == 0 and again.history_appended == 0
    live = live_keys(desk)["bindings"]
    assert sorted(live) == sorted(after_archive + ["N1"])
