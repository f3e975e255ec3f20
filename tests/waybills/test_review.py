"""Daily supervisor sign-off: fingerprints, changes after review in the store and in the sheet."""

from __future__ import annotations

from datetime import date, timedelta

from xl_addin.adapters.store.waybills import WaybillStore, changed_after_review
from xl_addin.adapters.workbook.books import BINDINGS_SHEET
from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.adapters.workbook.xml_patch import write_cells
from xl_addin.bootstrap import store_for
from xl_addin.services.waybills import Books, WaybillPolicy, allocate, review_day

import pytest
from datetime import datetime, timezone

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture()
def desk(tmp_path):
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.services.intake.validation import validate_orders
    from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

    init_desk(tmp_path, T0)
    d = load_desk(tmp_path)
    write_orders_xlsx(generate_orders(6, seed=5, bad_rows=False, start=T0 - timedelta(hours=1)), d.workbook("orders"))
    with store_for(d) as store:
        validate_orders(d.workbook("orders"), T0, store=store, backup_dir=d.backup_dir)
    return d


def test_review_marks_the_day_and_detects_changes(desk):
    books = Books.for_desk(desk)
    policy = WaybillPolicy.from_settings(desk.settings)
    with store_for(desk) as store:
        r = allocate(store, T0, policy=policy, books=books)
        rep = review_day(store, date(2026, 11, 26), "钱主管", T0 + timedelta(hours=8), policy=policy, books=books)
        assert len(rep.reviewed) == len(r.bindings) and rep.changed == []
        assert all(b.review_status == "reviewed" and b.review_fingerprint for b in WaybillStore(store).all_current())
        rows = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET).rows
        assert {x.values["review_status"] for x in rows} == {"已审核"}
        assert {x.values["reviewed_by"] for x in rows} == {"钱主管"}
        # another day has nothing to review
        other = review_day(store, date(2026, 11, 25), "钱主管", T0 + timedelta(hours=8), policy=policy, books=books)
        assert other.reviewed == [] and other.already == 0
        # a second review of the same day: all already reviewed, nothing changed
        again = review_day(store, date(2026, 11, 26), "钱主管", T0 + timedelta(hours=9), policy=policy, books=books)
        assert again.reviewed == [] and again.already == len(r.bindings)

        # someone edits the carrier of a reviewed row in the sheet
        sheet = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET)
        target = sheet.rows[0]
        write_cells(desk.workbook("bindings"), sheet.sheet, sheet.header_row, {},
                    {(target.row, sheet.columns["carrier"]): "别的快递"}, backup_dir=None)
        # and a reviewed binding is changed in the store behind the product's back
        victim = WaybillStore(store).all_current()[1]
        store.conn.execute("UPDATE bindings SET est_freight = '99.9' WHERE id = ?", (victim.id,))
        found = changed_after_review(store)
        assert [(c["kind"], c["waybill_no"]) for c in found] == [("changed", victim.waybill_no)]
        later = review_day(store, date(2026, 11, 26), "钱主管", T0 + timedelta(hours=10), policy=policy, books=books)
        kinds = {(c["kind"], c["waybill_no"]) for c in later.changed}
        assert ("changed", victim.waybill_no) in kinds
        assert ("sheet", target.values["waybill_no"]) in kinds
        assert any("carrier" in c.get("fields", []) for c in later.changed)
        # the changed store binding is reviewed afresh; the fingerprint then matches again
        assert victim.waybill_no in [b.waybill_no for b in later.reviewed]
        assert changed_after_review(store) == []
