"""The qualified-carrier list and its prices: the Binding Table's “合格物流商名录” and “运价与时效” sheets."""

from __future__ import annotations

import logging
from typing import Any

from xl_addin.errors import UserError, WorkbookLocked
from xl_addin.services.waybills.policy import Books

log = logging.getLogger(__name__)


class CarrierTableError(UserError):
    """The carriers or rate sheet has bad rows; ``problems`` name the sheet, row and column."""

    def __init__(self, message: str, problems: list, hint: str | None = None, *, path: str | None = None):
        super().__init__(message, hint, path=path)
        self.problems = problems


def load_carriers(books: Books | None = None):
    """The qualified-carrier list with its prices and transit days.

    Carriers: the "合格物流商名录" sheet when it has rows, else the default (then written into the
    empty sheet so the desk can edit it). Prices and days: the "运价与时效" sheet's rows for a carrier
    replace its built-in table; an empty rate sheet is filled with what is in use. Bad rows raise
    CarrierTableError (exit 2) listing every bad cell.
    """
    from xl_addin.domain.waybills.carriers import CarrierRowsError, carriers_from_rows, load_default_carriers

    defaults = load_default_carriers()
    if books is None or books.bindings is None:
        return defaults
    from xl_addin.adapters.workbook.books import CARRIERS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet

    table = read_sheet(books.bindings, CARRIERS_SHEET)
    if not table.rows:
        try:
            _fill_carriers_sheet(books, table, defaults)
        except WorkbookLocked:
            log.info("carriers sheet not filled: workbook open in Excel")
        return _with_rate_sheet(books, defaults)
    from xl_addin.domain.waybills.carriers import _default_rows

    base = {r["code"]: dict(r) for r in _default_rows()}
    rows = []
    for rec in table.rows:
        v = rec.values
        code = str(v.get("carrier_code") or "").strip().upper()
        row = dict(base.get(code) or {"code": code, "prices": {}, "transit_days": {}, "services": ["standard"]})
        for key, target in (("name", "name"), ("kuaidi100_code", "kuaidi100_code"), ("short_code", "short_code"),
                            ("qualified", "qualified"), ("services", "services")):
            if v.get(key) not in (None, ""):
                row[target] = v[key]
        days = v.get("transit_days")
        if isinstance(days, str) and days.strip().startswith("{"):
            row["transit_days"] = days
        elif isinstance(days, int) and not isinstance(days, bool):
            table_days = {s: dict(g) for s, g in (row.get("transit_days") or {}).items()}
            table_days.setdefault("standard", {})["national"] = days
            row["transit_days"] = table_days
        rows.append(row)
    try:
        carriers = carriers_from_rows(rows)
    except CarrierRowsError as exc:
        raise CarrierTableError(f"「{CARRIERS_SHEET.name}」有错误: {exc}", [p.as_dict() for p in exc.problems],
                                "请改正物流商名录后重试", path=str(books.bindings)) from None
    return _with_rate_sheet(books, carriers)


def _with_rate_sheet(books: Books, carriers):
    """Apply the "运价与时效" rows; fill the sheet when it is empty; an old workbook without it keeps the built-in table."""
    from xl_addin.adapters.workbook.books import RATES_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.waybills.carriers import CarrierRowsError
    from xl_addin.domain.waybills.rates import apply_rates, rate_rows_for, rates_from_rows
    from xl_addin.errors import WorkbookError

    try:
        table = read_sheet(books.bindings, RATES_SHEET, sheet_name=RATES_SHEET.name)
    except WorkbookError as exc:
        log.info("no rate sheet in %s (%s): built-in prices used", books.bindings, exc)
        return carriers
    if not table.rows:
        try:
            _fill_rates_sheet(books, table, rate_rows_for(carriers))
        except WorkbookLocked:
            log.info("rate sheet not filled: workbook open in Excel")
        return carriers
    try:
        rates = rates_from_rows(((r.row, r.values) for r in table.rows), [c.code for c in carriers],
                                RATES_SHEET.name)
    except CarrierRowsError as exc:
        shown = "；".join(p.message for p in exc.problems[:20])
        more = f"；另有 {len(exc.problems) - 20} 处" if len(exc.problems) > 20 else ""
        raise CarrierTableError(f"「{RATES_SHEET.name}」有 {len(exc.problems)} 处错误: {shown}{more}",
                                [p.as_dict() for p in exc.problems], "请改正运价与时效表后重试",
                                path=str(books.bindings)) from None
    return apply_rates(carriers, rates)


def _fill_rates_sheet(books: Books, table, rates) -> None:
    from xl_addin.adapters.workbook.books import RATES_SHEET
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.waybills.rates import RATE_GROUP_LABELS, RATE_SERVICE_LABELS

    keys = ("carrier_code", "service", "dest_group", "first_weight_price", "additional_price", "transit_days")
    columns, headers = ensure_columns(table, RATES_SHEET, keys)
    cells: dict[tuple[int, int], Any] = {}
    for i, r in enumerate(rates):
        row = table.header_row + 1 + i
        values = (r.carrier_code, RATE_SERVICE_LABELS[r.service], RATE_GROUP_LABELS[r.dest_group],
                  float(r.first_weight_price), float(r.additional_price), r.transit_days)
        for key, value in zip(keys, values):
            cells[(row, columns[key])] = value
    if cells:
        write_cells(books.bindings, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir,
                    append_table_rows=True)


def _fill_carriers_sheet(books: Books, table, carriers) -> None:
    from xl_addin.adapters.workbook.books import CARRIERS_SHEET
    from xl_addin.adapters.workbook.xml_patch import write_cells
    from xl_addin.domain.waybills.carriers import SERVICE_LABELS, STANDARD

    columns, headers = ensure_columns(table, CARRIERS_SHEET,
                                       ("carrier_code", "name", "kuaidi100_code", "short_code", "qualified",
                                        "services", "transit_days"))
    cells: dict[tuple[int, int], Any] = {}
    for i, c in enumerate(carriers):
        r = table.header_row + 1 + i
        order = ("standard", "express", "cold_chain", "bulky", "insured")
        values = {"carrier_code": c.code, "name": c.name, "kuaidi100_code": c.kuaidi100_code,
                  "short_code": c.short_code, "qualified": "是" if c.qualified else "否",
                  "services": ",".join(SERVICE_LABELS[s].replace("标准快递", "标准") for s in order if s in c.services),
                  "transit_days": c.transit_days.get(STANDARD, {}).get("national")}
        for key, value in values.items():
            cells[(r, columns[key])] = value
    write_cells(books.bindings, table.sheet, table.header_row, headers, cells, backup_dir=books.backup_dir,
                append_table_rows=True)


def ensure_columns(table, schema, keys) -> tuple[dict[str, int], dict[int, str]]:
    """Columns of ``keys`` in the sheet; missing ones get a header after the last column."""
    columns = dict(table.columns)
    headers: dict[int, str] = {}
    next_col = max([table.last_column, *columns.values(), 0]) + 1
    for key in keys:
        if key not in columns:
            columns[key] = next_col
            headers[next_col] = schema.column(key).label
            next_col += 1
    return columns, headers
