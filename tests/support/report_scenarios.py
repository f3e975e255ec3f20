"""The situations whose command-line output is fixed for ``close`` and ``review`` (tests/data/cli_outputs/):
each builds a real desk, runs the real CLI and gives back its exit code, standard output and error.

The expected outputs were recorded from the commands as they were before the use cases were rewritten
to ``run(uow, request) -> Report``; the tests hold the rewritten commands to them byte for byte."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from support.cli_run import CliRun, run_cli
from support.closing_desk import make_desk, seed_order

TZ = ZoneInfo("Asia/Shanghai")
CLOSE_NOW = datetime(2026, 10, 6, 9, 0, tzinfo=TZ)
REVIEW_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
OUTPUTS = Path(__file__).resolve().parents[1] / "data" / "cli_outputs"


# ---------------------------------------------------------------- close

def closing_desk(root: Path, *, signed: bool = True):
    """O1 signed yesterday, O2 on its way, O3 signed but held by an open delay case (rows in the workbooks)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.cases.case_handling import report_exception

    now = CLOSE_NOW
    desk = make_desk(root, now)
    if signed:
        with store_for(desk) as store:
            seed_order(desk, store, "O1", "SF1001", bound_at=now - timedelta(days=3),
                       signed_at=now - timedelta(hours=16, minutes=30), now=now)
            seed_order(desk, store, "O2", "SF1002", bound_at=now - timedelta(days=1), signed_at=None, now=now)
            seed_order(desk, store, "O3", "SF1003", bound_at=now - timedelta(days=3),
                       signed_at=now - timedelta(hours=3), now=now)
            report_exception(store, now - timedelta(days=1), type="延误", description="晚到", by="张三",
                             waybill_no="SF1003", order_no="O3")
    return desk


def _open_in_excel(desk) -> None:
    """Excel's owner file beside the Order Confirmation workbook: the sheet is not written."""
    book = desk.workbook("orders")
    name = "王芳"
    ansi = name.encode("gbk")
    head = bytes([len(ansi)]) + ansi.ljust(54, b" ")  # the ANSI copy, then at offset 55 the UTF-16 one
    (book.parent / f"~${book.name}").write_bytes(head + len(name).to_bytes(2, "little") + name.encode("utf-16-le"))


def _close(root: Path, *extra: str, signed: bool = True, in_excel: bool = False) -> tuple[Path, CliRun]:
    desk = closing_desk(root, signed=signed)
    if in_excel:
        _open_in_excel(desk)
    return desk.root, run_cli("close", "--desk", str(desk.root), "--now", CLOSE_NOW.isoformat(), *extra)


def _close_twice(root: Path) -> tuple[Path, CliRun]:
    desk = closing_desk(root)
    run_cli("close", "--desk", str(desk.root), "--now", CLOSE_NOW.isoformat())
    return desk.root, run_cli("close", "--desk", str(desk.root), "--now", (CLOSE_NOW + timedelta(hours=1)).isoformat())


CLOSE: dict[str, Callable[[Path], tuple[Path, CliRun]]] = {
    "completes_and_holds": lambda root: _close(root),
    "completes_and_holds_json": lambda root: _close(root, "--json"),
    "nothing_to_do": lambda root: _close(root, signed=False),
    "second_run_changes_nothing": _close_twice,
    "sheet_open_in_excel": lambda root: _close(root, in_excel=True),
    "date_without_time": lambda root: (closing_desk(root, signed=False).root,
                                       run_cli("close", "--desk", str(root), "--now", "2026-10-06")),
    "date_without_time_json": lambda root: (closing_desk(root, signed=False).root,
                                            run_cli("close", "--desk", str(root), "--json", "--now", "2026-10-06")),
    "unknown_option": lambda root: (closing_desk(root, signed=False).root,
                                    run_cli("close", "--desk", str(root), "--month", "2026-10")),
    "not_a_desk": lambda root: (root, run_cli("close", "--desk", str(_plain_folder(root)))),
}


def _plain_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root


# ---------------------------------------------------------------- review

def waybill_desk(root: Path):
    """Six sample orders validated at 09:00 and allocated: their bindings were made on 2026-11-26."""
    from xl_addin.bootstrap import load_desk, store_for
    from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.services.intake.validation import validate_orders
    from xl_addin.services.waybills import Books, WaybillPolicy, allocate

    init_desk(root, REVIEW_T0)
    desk = load_desk(root)
    write_orders_xlsx(generate_orders(6, seed=5, bad_rows=False, start=REVIEW_T0 - timedelta(hours=1)),
                      desk.workbook("orders"))
    with store_for(desk) as store:
        validate_orders(desk.workbook("orders"), REVIEW_T0, store=store, backup_dir=desk.backup_dir)
        allocate(store, REVIEW_T0, policy=WaybillPolicy.from_settings(desk.settings), books=Books.for_desk(desk))
    return desk


def _edit_reviewed_row(desk) -> None:
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    sheet = read_sheet(desk.workbook("bindings"), BINDINGS_SHEET)
    write_cells(desk.workbook("bindings"), sheet.sheet, sheet.header_row, {},
                {(sheet.rows[0].row, sheet.columns["carrier"]): "别的快递"}, backup_dir=None)


REVIEW_LATER = (REVIEW_T0 + timedelta(hours=8)).isoformat()


def review_desk(root: Path, *, first: bool = False, edit: bool = False):
    """``waybill_desk``; ``first``: the day already signed off by 钱主管; ``edit``: a reviewed row then edited."""
    desk = waybill_desk(root)
    if first:
        run_cli("review", "--date", "2026-11-26", "--by", "钱主管", "--desk", str(desk.root), "--now", REVIEW_LATER)
    if edit:
        _edit_reviewed_row(desk)
    return desk


def _review(root: Path, *args: str, first: bool = False, edit: bool = False) -> tuple[Path, CliRun]:
    desk = review_desk(root, first=first, edit=edit)
    return desk.root, run_cli("review", *args, "--desk", str(desk.root), "--now", REVIEW_LATER)


REVIEW: dict[str, Callable[[Path], tuple[Path, CliRun]]] = {
    "signs_off_the_day": lambda root: _review(root, "--date", "2026-11-26", "--by", "钱主管"),
    "signs_off_the_day_json": lambda root: _review(root, "--date", "2026-11-26", "--by", "钱主管", "--json"),
    "nothing_bound_that_day": lambda root: _review(root, "--date", "2026-11-25", "--by", "钱主管"),
    "already_reviewed": lambda root: _review(root, "--date", "2026-11-26", "--by", "钱主管", first=True),
    "changed_after_review": lambda root: _review(root, "--date", "2026-11-26", "--by", "钱主管", first=True, edit=True),
    "changed_after_review_json": lambda root: _review(root, "--date", "2026-11-26", "--by", "钱主管", "--json",
                                                      first=True, edit=True),
    "bad_date": lambda root: _review(root, "--date", "2026/11/26", "--by", "钱主管"),
    "bad_date_json": lambda root: _review(root, "--date", "26.11.2026", "--by", "钱主管", "--json"),
    "blank_reviewer": lambda root: _review(root, "--date", "2026-11-26", "--by", "  "),
    "missing_reviewer": lambda root: _review(root, "--date", "2026-11-26"),
}

SCENARIOS = {"close": CLOSE, "review": REVIEW}


def play(command: str, name: str, root: Path) -> dict[str, object]:
    desk_root, run = SCENARIOS[command][name](root)
    return run.placed(desk_root)


def expected(command: str) -> dict[str, dict[str, object]]:
    return json.loads((OUTPUTS / f"{command}.json").read_text(encoding="utf-8"))
