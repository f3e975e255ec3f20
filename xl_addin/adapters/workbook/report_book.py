"""The weekly summary report workbook: three sheets, native Excel charts, each sheet one printed page.

Written whole by openpyxl (a report is the product's own file, not a staff workbook) from the
summary data, atomically (temporary file, then replace).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CLOCK_ORDER = ("report", "claim", "delay_update", "wrong_info", "close")


def write_report_book(data: dict[str, Any], out: Path, *, desk_name: str = "") -> Path:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    from xl_addin.adapters.workbook.files import save_workbook

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="FFDDEBF7")
    best_fill = PatternFill("solid", fgColor="FFC6EFCE")
    worst_fill = PatternFill("solid", fgColor="FFFFC7CE")
    thin = Side(style="thin", color="FF999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    pct = "0.0%"

    def table(ws, row: int, col: int, header: list[str], rows: list[list[Any]], formats: dict[int, str] | None = None):
        for j, h in enumerate(header):
            c = ws.cell(row, col + j, h)
            c.font, c.fill, c.border = bold, head_fill, box
            c.alignment = Alignment(horizontal="center", wrap_text=True)
        for i, values in enumerate(rows, start=1):
            for j, v in enumerate(values):
                c = ws.cell(row + i, col + j, v)
                c.border = box
                if formats and j in formats:
                    c.number_format = formats[j]
        return row + len(rows)

    def page(ws, landscape: bool = True):
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.5

    wb = Workbook()
    ov = wb.active
    ov.title = "概览"
    start, end = data["start"][:10], data["end"][:10]
    ov["A1"] = f"{desk_name + ' ' if desk_name else ''}周度汇总分析 {data['week']}（{start} 至 {end} 前）"
    ov["A1"].font = Font(bold=True, size=14)
    rate_keys = {"on_time_rate"}
    rows = []
    for key, c in data["compare"].items():
        rows.append([c["label"], c["value"], c["previous"], c["avg4"]])
    last = table(ov, 3, 1, ["指标", "本周", "上周", "近4周平均"], rows)
    for i, key in enumerate(data["compare"], start=4):
        if key in rate_keys:
            for j in (2, 3, 4):
                ov.cell(i, j).number_format = pct
    types = list(data["exceptions_opened_by_type"])
    table(ov, 3, 6, ["异常类型", "新增", "结案"],
          [[t, data["exceptions_opened_by_type"][t], data["exceptions_closed_by_type"][t]] for t in types])
    names = data["sla_breach_names"]
    table(ov, 10, 6, ["SLA时限", "超时数"], [[names[k], data["sla_breaches"].get(k, 0)] for k in CLOCK_ORDER])
    table(ov, 17, 6, ["未结案件账龄", "件数"], [[b, n] for b, n in data["open_cases_by_age"].items()])
    trend_row = last + 2
    ov.cell(trend_row - 1, 1, "近5周趋势").font = bold
    trend = data["trend"]
    t_last = table(ov, trend_row, 1, ["周", "签收", "新增异常", "准时率"],
                   [[t["week"], t["delivered"], t["exceptions_opened"], t["on_time_rate"]] for t in trend], {3: pct})
    for col, width in zip("ABCDEFGH", (22, 10, 10, 11, 3, 14, 8, 8)):
        ov.column_dimensions[col].width = width

    line = LineChart()
    line.title = "近5周签收与新增异常"
    line.height, line.width = 7.0, 13.0
    line.add_data(Reference(ov, min_col=2, max_col=3, min_row=trend_row, max_row=t_last), titles_from_data=True)
    line.set_categories(Reference(ov, min_col=1, min_row=trend_row + 1, max_row=t_last))
    line.y_axis.title = "单数"
    for series in line.series:
        series.smooth = False
    ov.add_chart(line, f"A{t_last + 2}")

    sc = wb.create_sheet("物流商评分")
    sc["A1"] = f"物流商评分 {data['week']}（按准时率、异常率、时长排名）"
    sc["A1"].font = Font(bold=True, size=14)
    header = ["排名", "物流商", "发货量", "签收", "准时率", "运输时长中位数(小时)"] + \
             [f"每千单{t}" for t in types] + ["每千单异常合计", "理赔件数", "理赔金额", "平均回复(小时)"]
    carriers = data["carriers"]
    rows = [[c["rank"], c["carrier"], c["volume"], c["delivered"], c["on_time_rate"], c["transit_median_hours"]]
            + [c["exceptions_per_1000"][t] for t in types]
            + [c["exceptions_per_1000_total"], c["claims_count"], float(c["claims_amount"]), c["avg_response_hours"]]
            for c in carriers]
    s_last = table(sc, 3, 1, header, rows, {4: pct, len(header) - 2: "¥#,##0.00"})
    for i, c in enumerate(carriers, start=4):
        fill = best_fill if c["best"] else worst_fill if c["worst"] else None
        if fill:
            for j in range(1, len(header) + 1):
                sc.cell(i, j).fill = fill
    sc.cell(s_last + 1, 1, "绿色：本周最佳；红色：本周最差")
    for j in range(1, len(header) + 1):
        sc.column_dimensions[get_column_letter(j)].width = 11 if j != 2 else 12
    if carriers:
        bar = BarChart()
        bar.type = "col"
        bar.title = "各物流商准时率"
        bar.height, bar.width = 7.0, 13.0
        bar.add_data(Reference(sc, min_col=5, min_row=3, max_row=s_last), titles_from_data=True)
        bar.set_categories(Reference(sc, min_col=2, min_row=4, max_row=s_last))
        bar.y_axis.number_format = "0%"
        bar.y_axis.scaling.min = 0
        bar.y_axis.scaling.max = 1
        ov.add_chart(bar, f"F{t_last + 2}")
        # shipments (单) as bars on the left axis, the per-thousand rate as a line on a second axis at the right:
        # on one axis the rate's scale would flatten the bars
        vol = BarChart()
        vol.type = "col"
        vol.title = "各物流商发货量与每千单异常"
        vol.height, vol.width = 7.0, 15.0
        vol.add_data(Reference(sc, min_col=3, min_row=3, max_row=s_last), titles_from_data=True)
        vol.set_categories(Reference(sc, min_col=2, min_row=4, max_row=s_last))
        vol.y_axis.title = "发货量（单）"
        vol.y_axis.majorGridlines = None
        rate = LineChart()
        col_total = 7 + len(types)
        rate.add_data(Reference(sc, min_col=col_total, min_row=3, max_row=s_last), titles_from_data=True)
        rate.y_axis.axId = 200
        rate.y_axis.title = "每千单异常"
        rate.y_axis.crosses = "max"
        for axis in (vol.x_axis, vol.y_axis, rate.y_axis):
            axis.delete = False
        vol += rate
        sc.add_chart(vol, f"A{s_last + 3}")

    an = wb.create_sheet("异常分析")
    an["A1"] = f"异常分析 {data['week']}"
    an["A1"].font = Font(bold=True, size=14)
    a = data["analysis"]
    m_last = table(an, 3, 1, ["异常类型", "物流商", "责任方", "件数"],
                   [[m["type"], m["carrier"], m["responsible_party"], m["count"]] for m in a["matrix"]])
    table(an, 3, 6, ["主要原因", "件数"], [[c["cause"], c["count"]] for c in a["top_causes"]])
    table(an, max(m_last, 9) + 2, 1, ["结案最慢的案件", "类型", "物流单号", "物流商", "结案用时(小时)"],
          [[s["case_id"], s["type"], s["waybill_no"], s["carrier"], s["hours_to_close"]] for s in a["slowest_to_close"]])
    for col, width in zip("ABCDEFG", (18, 10, 18, 12, 14, 24, 8)):
        an.column_dimensions[col].width = width

    for ws in (ov, sc, an):
        page(ws)
        ws.oddFooter.center.text = "&P / &N"
    return save_workbook(wb, Path(out))
