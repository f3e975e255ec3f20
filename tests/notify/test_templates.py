"""The generated templates: what Excel users get, and that the committed files are current."""

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from xl_addin.adapters.workbook.books import ALL_BOOKS, ORDERS, is_open_choice
from xl_addin.adapters.workbook.schema import header_key
from xl_addin.adapters.workbook.templates import (
    TABLE_STYLE, VALIDATION_LAST_ROW, describe_book, template_bytes, template_dir, write_book, write_templates,
)

BOOK_IDS = [b.key for b in ALL_BOOKS]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates")
    paths = write_templates(folder)
    return dict(zip(BOOK_IDS, paths))


def test_write_templates_writes_the_four_files(generated):
    assert [p.name for p in generated.values()] == [b.filename for b in ALL_BOOKS]
    assert all(p.stat().st_size > 5000 for p in generated.values())
    assert not [p for p in next(iter(generated.values())).parent.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize("bk", ALL_BOOKS, ids=BOOK_IDS)
def test_template_opens_with_tables_validations_and_frozen_header(bk, generated):
    wb = load_workbook(generated[bk.key])
    assert wb.sheetnames == [s.name for s in bk.sheets]
    assert wb.properties.title == bk.title
    for sheet in bk.sheets:
        ws = wb[sheet.name]
        headers = [c.value for c in ws[1]]
        assert headers == [c.label for c in sheet.columns]
        assert all(ws.cell(row=1, column=i).font.b for i in range(1, len(headers) + 1))
        assert {c.label for c in sheet.required} <= set(headers)
        # every header cell is recognised as its own column
        for col, text in zip(sheet.columns, headers):
            assert header_key(text) in col.header_keys()
        assert ws.freeze_panes == "A2"
        assert list(ws.tables) == [sheet.table]
        table = ws.tables[sheet.table]
        last = get_column_letter(len(sheet.columns))
        assert table.ref.startswith("A1:" + last) and int(table.ref.split(last)[-1]) > 2
        assert table.tableStyleInfo.name == TABLE_STYLE
        assert [c.name for c in table.tableColumns] == headers

        dvs = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
        for idx, col in enumerate(sheet.columns, start=1):
            letter = get_column_letter(idx)
            dv = dvs[f"{letter}2:{letter}{VALIDATION_LAST_ROW}"]
            assert dv.prompt == col.help and dv.showInputMessage
            if col.choices:
                assert dv.type == "list"
                assert dv.formula1.strip('"').split(",") == list(col.choices)
                assert bool(dv.showErrorMessage) == (not is_open_choice(sheet, col))
            else:
                assert dv.type is None
            if col.number_format:
                assert ws.cell(row=2, column=idx).number_format == col.number_format
                assert ws.cell(row=3, column=idx).number_format == col.number_format
                assert ws.column_dimensions[letter].number_format == col.number_format
            assert ws.column_dimensions[letter].width == col.width


def test_orders_problem_rows_are_coloured(generated):
    wb = load_workbook(generated["orders"])
    ws = wb["订单确认单"]
    status_letter = get_column_letter([c.key for c in ORDERS.sheet("Orders").columns].index("check_status") + 1)
    rules = {}
    for cf in ws.conditional_formatting:
        assert str(cf.sqref).startswith("A2:")
        for rule in cf.rules:
            rules[rule.formula[0]] = rule.dxf.fill.fgColor.rgb
    assert rules == {f'${status_letter}2="有问题"': "FFFFC7CE", f'${status_letter}2="待复核"': "FFFFEB9C"}


def test_exception_ledger_sla_colours(generated):
    ws = load_workbook(generated["exceptions"])["异常台账"]
    fills = {r.formula[0].split("=")[-1].strip('"'): r.dxf.fill.fgColor.rgb
             for cf in ws.conditional_formatting for r in cf.rules}
    assert fills == {"超时": "FFFFC7CE", "临近": "FFFFEB9C"}


def test_generation_is_deterministic():
    for bk in ALL_BOOKS:
        assert template_bytes(bk) == template_bytes(bk)


@pytest.mark.parametrize("bk", ALL_BOOKS, ids=BOOK_IDS)
def test_committed_templates_are_current(bk, generated):
    committed = template_dir() / bk.filename
    assert committed.exists(), f"缺少 {committed}；请运行 python -m xl_addin.adapters.workbook.templates"
    assert describe_book(committed) == describe_book(generated[bk.key]), (
        f"{committed.name} 与 books.py 不一致；请运行 python -m xl_addin.adapters.workbook.templates 重新生成")


def test_describe_book_notices_a_changed_validation(tmp_path, generated):
    wb = load_workbook(generated["orders"])
    wb["订单确认单"].data_validations.dataValidation[0].prompt = "改过的提示"
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    assert describe_book(changed) != describe_book(generated["orders"])


def test_write_book_replaces_an_existing_file(tmp_path):
    target = tmp_path / "desk" / ORDERS.filename
    target.parent.mkdir()
    target.write_bytes(b"old content")
    assert write_book(ORDERS, target) == target
    assert target.read_bytes() == template_bytes(ORDERS)
    assert [p.name for p in target.parent.iterdir()] == [ORDERS.filename]


def test_template_survives_a_user_round_trip(tmp_path, generated):
    """Staff type a row and save; the Table, dropdowns and formats are still there."""
    wb = load_workbook(generated["orders"])
    ws = wb["订单确认单"]
    ws["A2"] = "SO-0001"
    ws["I2"] = "13800138000"
    saved = tmp_path / "typed.xlsx"
    wb.save(saved)
    again = load_workbook(saved)["订单确认单"]
    assert again["A2"].value == "SO-0001" and again["I2"].number_format == "@"
    assert "Orders" in again.tables and again.freeze_panes == "A2"
    assert len(again.data_validations.dataValidation) == len(ORDERS.sheet("Orders").columns)


def test_template_dir_is_the_repository_folder():
    assert template_dir() == Path(__file__).resolve().parents[2] / "workbook_templates"
