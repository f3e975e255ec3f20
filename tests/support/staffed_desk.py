"""A desk whose staff made the order sheet their own: a merged title over the header, their own columns
with formulas (same-row, cross-row, absolute, cross-sheet), a summary sheet summing a column,
conditional formatting and a validation on their column, a defined name."""

from __future__ import annotations

from openpyxl import load_workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from support.archive_month import build_month

SHEET = "订单确认单"
SUMMARY = "客服汇总"
STAFF = {"AF": "金额", "AG": "客服备注", "AH": "编号-金额", "AI": "比上行多", "AJ": "含税", "AK": "加底数"}
AMOUNTS = {"A0": 10, "A1": 20, "A2": 30, "B1": 40, "C1": 55}


def build_staffed_month(root):
    desk = build_month(root)
    path = desk.workbook("orders")
    wb = load_workbook(path)
    ws = wb[SHEET]
    ws.insert_rows(1)
    ws["A1"] = "订单确认单 — 客服部（请勿删除标题）"
    ws.merge_cells("A1:H1")
    ws["AM1"] = 1.13                          # the tax factor the staff keep in the title row
    last = ws.max_row
    for t in ws.tables.values():
        t.ref = f"A2:{t.ref.split(':')[1].rstrip('0123456789')}{last}"
        if t.autoFilter is not None:
            t.autoFilter.ref = t.ref
    for col, label in STAFF.items():
        ws[f"{col}2"] = label
    for r in range(3, last + 1):
        no = ws[f"A{r}"].value
        ws[f"AF{r}"] = AMOUNTS[no]
        ws[f"AG{r}"] = f"{no} 客户要求周末送"
        ws[f"AH{r}"] = f'=A{r}&"-"&AF{r}'
        ws[f"AI{r}"] = f"=AF{r}-AF{r - 1}" if r > 3 else "=AF3"
        ws[f"AJ{r}"] = f"=ROUND(AF{r}*$AM$1,2)"
        ws[f"AK{r}"] = f"='{SUMMARY}'!$A$1+AF{r}"
    ws.conditional_formatting.add(f"A3:AK{last}", FormulaRule(formula=["$AF3>35"], fill=PatternFill("solid", "FFC7CE")))
    dv = DataValidation(type="whole", operator="between", formula1="0", formula2="100000")
    dv.add(f"AF3:AF{last}")
    ws.add_data_validation(dv)
    s = wb.create_sheet(SUMMARY)
    s["A1"] = 1000
    s["B1"] = f"=SUM({SHEET}!AF3:AF{last})"
    s["B2"] = f"={SHEET}!AF3"                 # A0's amount: A0 is archived → #REF!
    s["B3"] = f"={SHEET}!AF6"                 # B1's amount
    s["B4"] = "=SUM(金额)"                     # a defined name over the column
    s["B5"] = f"=COUNTA({SHEET}!A:A)"          # whole column
    wb.defined_names["金额"] = DefinedName("金额", attr_text=f"'{SHEET}'!$AF$3:$AF${last}")
    wb.save(path)
    return desk
