"""Monthly archive: round trip, idempotence, refusals, --verify."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest


from support.archive_month import NOV, OCT, archived_keys, build_month, live_keys


def test_archive_round_trip_idempotent_and_verify(tmp_path):
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import archive_month, verify_archive

    desk = build_month(tmp_path / "desk")
    seen, said = [], []
    with store_for(desk) as store:
        res = archive_month(desk, store, "2026-10", NOV, progress=said.append, steps=lambda d, t: seen.append((d, t)))
    assert res["status"] == "archived" and res["orders"] == 3
    assert seen == [(i, 9) for i in range(1, 10)]                     # 4 files, the check, 4 live books
    assert "已从 订单确认单.xlsx 移除 6 行" in said
    assert res["removed"]["orders"] == 6 and res["removed"]["bindings"] == 3  # 3 order rows + 3 follow-up rows
    live, arch = live_keys(desk), archived_keys(desk)
    assert sorted(arch["orders"]) == ["A0", "A1", "A2"] and sorted(arch["followups"]) == ["A0", "A1", "A2"]
    assert sorted(live["orders"]) == ["B1", "C1"] and sorted(live["bindings"]) == ["B1", "C1"]
    assert live["followups"] == ["B1"]
    folder = desk.archive_dir / "2026-10"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["state"] == "complete"
    nodes = manifest["files"]["物流跟踪节点-2026-10.xlsx"]
    assert nodes["rows"] == {"节点明细": 6} and len(nodes["sha256"]) == 64
    assert verify_archive(folder) == []
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    workbook_before = desk.workbook("orders").read_bytes()
    with store_for(desk) as store:
        again = archive_month(desk, store, "2026-10", NOV + timedelta(days=1))
    assert again["status"] == "already_complete" and not again["changed"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert desk.workbook("orders").read_bytes() == workbook_before
    # --verify notices a changed file
    p = folder / "物流单号绑定表-2026-10.xlsx"
    p.write_bytes(p.read_bytes() + b"x")
    assert any("SHA-256" in m for m in verify_archive(folder))


def test_archive_refuses_month_not_over_and_open_cases(tmp_path):
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import ArchiveRefused, archive_month
    from xl_addin.services.cases.case_handling import report_exception

    desk = build_month(tmp_path / "desk")
    with store_for(desk) as store:
        with pytest.raises(ArchiveRefused, match="还没有结束"):
            archive_month(desk, store, "2026-11", NOV)
        case = report_exception(store, OCT, type="破损", description="外箱破", by="张三", waybill_no="SF601",
                                order_no="C1")
        with pytest.raises(ArchiveRefused) as err:
            archive_month(desk, store, "2026-10", NOV)
        assert case["case_id"] in str(err.value) and "--force-open-cases" in str(err.value)
        assert not (desk.archive_dir / "2026-10").exists()
        res = archive_month(desk, store, "2026-10", NOV, force_open_cases=True)
    assert res["orders"] == 3 and res["open_cases_left"] == [case["case_id"]]
    assert sorted(live_keys(desk)["orders"]) == ["B1", "C1"]


def test_archive_command_verify(tmp_path, capsys):
    from xl_addin.entrypoints import closing_commands  # noqa: F401
    from xl_addin.entrypoints.cli import main

    desk = build_month(tmp_path / "desk")
    assert main(["archive", "--month", "2026-10", "--desk", str(desk.root), "--now", NOV.isoformat()]) == 0
    assert "归档完成" in capsys.readouterr().out
    assert main(["archive", "--verify", "2026-10", "--desk", str(desk.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def _cache_formula_values(path, sheet_xml, values):
    """Give formula cells the cached results Excel stores beside them ({cell: text})."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[sheet_xml].decode()
    for ref, text in values.items():
        xml, n = re.subn(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                         lambda m: f'<c r="{ref}"{m.group(1)} t="str"><f>{m.group(2)}</f><v>{text}</v></c>', xml)
        assert n == 1, ref
    parts[sheet_xml] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_archive_keeps_every_column_under_the_workbooks_own_headers(tmp_path):
    from openpyxl import load_workbook

    from support.staffed_desk import AMOUNTS, SHEET, build_staffed_month
    from xl_addin.bootstrap import store_for
    from xl_addin.services.closing.archive import archive_month, read_archive_rows
    from xl_addin.services.cases.case_handling import close_case, report_exception

    desk = build_staffed_month(tmp_path / "desk")
    _cache_formula_values(desk.workbook("orders"), "xl/worksheets/sheet1.xml",
                          {f"AH{r}": f"{no}-{AMOUNTS[no]}" for r, no in zip(range(3, 6), ["A0", "A1", "A2"])})
    live_headers = [c.value for c in load_workbook(desk.workbook("orders"))[SHEET][2]]
    while live_headers[-1] is None:
        live_headers.pop()
    assert live_headers[-6:] == ["金额", "客服备注", "编号-金额", "比上行多", "含税", "加底数"]
    (desk.root / "凭证").mkdir()
    (desk.root / "凭证" / "破损.jpg").write_bytes(b"photo")
    with store_for(desk) as store:
        case = report_exception(store, OCT, type="破损", description="外箱破", by="张三", waybill_no="SF401",
                                order_no="A1", evidence="凭证/破损.jpg")
        close_case(store, OCT + timedelta(hours=2), case["case_id"], by="李四", result="已补发",
                   responsible_party="物流商", customer_informed_at=OCT + timedelta(hours=1),
                   receiver_informed_at=OCT + timedelta(hours=1))
        archive_month(desk, store, "2026-10", NOV)
    folder = desk.archive_dir / "2026-10"
    book = folder / "订单确认单-2026-10.xlsx"
    ws = load_workbook(book)[SHEET]
    headers = [c.value for c in ws[1]]
    assert headers[:len(live_headers)] == live_headers and headers[len(live_headers):] == ["签收时间", "完成时间"]
    rows = {r["订单编号"]: r for r in read_archive_rows(book)[SHEET]}
    assert set(rows) == {"A0", "A1", "A2"}
    a1 = rows["A1"]
    assert a1["客服备注"] == "A1 客户要求周末送" and a1["金额"] == 20 and a1["客户名称"] == "甲公司"
    assert a1["编号-金额"] == "A1-20" and a1["订单状态"] == "已完成"     # the formula's last value, not the formula
    assert all(not isinstance(c.value, str) or not c.value.startswith("=") for row in ws.iter_rows() for c in row)
    signed = headers.index("签收时间") + 1
    assert ws.cell(2, signed).number_format == "yyyy-mm-dd hh:mm" and ws.cell(2, signed).is_date
    b = read_archive_rows(folder / "物流单号绑定表-2026-10.xlsx")["绑定表"]
    assert {r["物流单号"] for r in b} == {"SF400", "SF401", "SF402"} and {r["当前绑定"] for r in b} == {"是"}
    nodes = read_archive_rows(folder / "物流跟踪节点-2026-10.xlsx")["节点明细"]
    assert len(nodes) == 6 and all(len(n["节点指纹"]) == 32 and n["实际时间"] for n in nodes)
    ledger = read_archive_rows(folder / "异常订单处理台账-2026-10.xlsx")
    (c,) = ledger["异常台账"]
    import hashlib
    assert c["案件编号"] == case["case_id"] and c["凭证SHA-256"] == hashlib.sha256(b"photo").hexdigest()
    assert any(h["案件编号"] == case["case_id"] for h in ledger["处理历史"])
