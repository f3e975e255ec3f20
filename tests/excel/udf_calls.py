"""Run in a process of its own: call our worksheet functions the way Excel does, through xlwings' real
``call_udf`` (what the VBA wrapper's ``XLPy.CallUDF`` reaches), with COM ranges from ``fake_excel``.

    python udf_calls.py DESK_FOLDER  →  JSON: scenario name → the value Excel would receive
"""

import json
import sys
from datetime import date, datetime

import windows_standins  # noqa: F401  (first: real xlwings as on Windows)

import fake_excel
import xlwings.udfs as real


def call(name, args, book, caller):
    # The VBA: XLPy.CallUDF("xl_addin.udfs", name, Array(args..., Nothing), ActiveWorkbook, Application.Caller)
    return real.call_udf("xl_addin.udfs", name, tuple(args) + (None,) if name.startswith("TRACK") else tuple(args),
                         book, caller)


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return {"date": value.isoformat()}
    return value


def main(desk: str) -> None:
    app = fake_excel.Application()
    book = fake_excel.Workbook(app, "物流单号绑定表.xlsx", folder=desk)
    app.ActiveWorkbook = book
    sheet = book.add_sheet("绑定")
    numbers = json.loads(sys.stdin.read())
    for i, n in enumerate(numbers, start=2):
        sheet.cells[(i, 1)] = n
    one = sheet.Cells(2, 1)
    column = fake_excel.Range(sheet, 2, 1, len(numbers), 1)
    out = {
        "single": call("TRACK", [one], book, sheet.Cells(2, 2)),
        "status": call("TRACK_STATUS", [one], book, sheet.Cells(2, 3)),
        "eta": call("TRACK_ETA", [one], book, sheet.Cells(2, 4)),
        "column": call("TRACK", [column], book, fake_excel.Range(sheet, 2, 2, len(numbers), 1)),
        "nodes": call("TRACK_NODES", [one], book, sheet.Cells(2, 5)),
        "unknown": call("TRACK", ["XYZ123"], book, sheet.Cells(2, 6)),
        "number_as_float": call("CARRIER", [1234567890123.0], book, sheet.Cells(2, 7)),
        "phone": call("PHONE_OK", ["123"], book, sheet.Cells(2, 8)),
        "waybill_ok": call("WAYBILL_OK", [one, "SF"], book, sheet.Cells(2, 9)),
    }
    unsaved = fake_excel.Workbook(app, "Book1")
    app.ActiveWorkbook = unsaved
    other = unsaved.add_sheet("Sheet1")
    other.cells[(1, 1)] = numbers[0]
    out["unsaved"] = call("TRACK", [other.Cells(1, 1)], unsaved, other.Cells(1, 2))
    json.dump(plain(out), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
