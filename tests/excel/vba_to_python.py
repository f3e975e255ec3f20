"""Run in a process of its own: the whole chain a worksheet cell goes through, on Linux.

The shipped UDF module (VBA, read from the built add-in) runs in pyOpenVBA's interpreter; its
``XLPy.CallUDF(module, function, args, ActiveWorkbook, Application.Caller)`` is handed to xlwings'
real ``call_udf`` (what xlwings' COM server does with it: VBA values become Python ones, Nothing
becomes None), with the calling cell and workbook from ``fake_excel``.

    python vba_to_python.py ADDIN DESK  →  JSON: formula → the value the cell would get
"""

import json
import sys
from pathlib import Path

import windows_standins  # noqa: F401  (first: real xlwings as on Windows)

import fake_excel
import xlwings.udfs as real
from oletools import olevba
from pyopenvba.interpreter import NOTHING, HostBridge, Interpreter, VBAObject, member, method
from pyopenvba.interpreter._values import VBAArray

UNRESOLVED = HostBridge().global_object("x")


class Com(VBAObject):
    """A COM object as VBA holds it; the Python side receives the object itself."""

    def __init__(self, com, type_name):
        self.com = com
        self.vba_type_name = type_name


def _python(value):
    if value is NOTHING:
        return None
    if isinstance(value, Com):
        return value.com
    if isinstance(value, VBAArray):
        return tuple(_python(v) for v in value.items)
    return value


class XLPython(VBAObject):
    vba_type_name = "Object"

    @method
    def CallUDF(self, module, function, args, book, caller):
        return real.call_udf(_python(module), _python(function), _python(args), _python(book), _python(caller))


class Application(VBAObject):
    vba_type_name = "Application"

    def __init__(self, caller):
        self._caller = caller

    @member
    def Caller(self):
        return self._caller


class Host(HostBridge):
    def __init__(self, app, caller):
        self.objects = {"application": Application(caller), "xlpy": XLPython(),
                        "activeworkbook": Com(app.ActiveWorkbook, "Workbook")}

    def global_object(self, name):
        return self.objects.get(name.lower(), UNRESOLVED)

    def has_global_member(self, name):
        return name.lower() in self.objects


def _module(addin):
    parser = olevba.VBA_Parser(addin)
    try:
        code = next(c for _, _, name, c in parser.extract_macros() if Path(name).stem == "XlLogisticsUDFs")
    finally:
        parser.close()
    lines = code.replace("\r\n", "\n").split("\n")  # pyOpenVBA reads no comment after #Const
    return "\n".join(l.split(" '")[0] if l.startswith("#Const") else l for l in lines)


def main(addin, desk):
    source = _module(addin)
    app = fake_excel.Application()
    book = fake_excel.Workbook(app, "物流单号绑定表.xlsx", folder=desk)
    app.ActiveWorkbook = book
    sheet = book.add_sheet("绑定")
    out = {}
    for formula, function, arg in (('=TRACK("SF1234567890123")', "TRACK", "SF1234567890123"),
                                   ('=TRACK("XYZ")', "TRACK", "XYZ"),
                                   ('=PHONE_OK("123")', "PHONE_OK", "123")):
        caller = Com(sheet.Cells(2, 2), "Range")
        vba = Interpreter(Host(app, caller))
        vba.add_module(source, name="XlLogisticsUDFs")
        out[formula] = vba.run(function, [arg])  # the 2-D array xlwings returns, as the wrapper passes it on
    json.dump(out, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
