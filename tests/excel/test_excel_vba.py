"""The VBA the add-in ships, run in pyOpenVBA's VBA interpreter with a host written from Excel's object
model: ``Application.Caller`` is the calling cell (a Range), ``ActiveWorkbook`` the staff's book,
and ``XLPy`` stands in for xlwings' UDF server (``XLPy.CallUDF(module, function, args, book, caller)``,
the call xlwings' wrapper makes). The modules are read back from the built add-in file."""

import os
from pathlib import Path

import pytest
from oletools import olevba
from pyopenvba.interpreter import MISSING, NOTHING, HostBridge, Interpreter, VBAObject, member, method
from pyopenvba.interpreter._values import VBAArray

from xl_addin.excel import addin_build, udf_vba

UNRESOLVED = HostBridge().global_object("x")


class Range(VBAObject):
    vba_type_name = "Range"

    @member
    def Address(self):
        return "$B$2"


class Workbook(VBAObject):
    vba_type_name = "Workbook"

    def __init__(self, name):
        self._name = name

    @member
    def Name(self):
        return self._name


class Application(VBAObject):
    vba_type_name = "Application"

    def __init__(self, caller):
        self._caller = caller

    @member
    def Caller(self):
        return self._caller


class UdfServer(VBAObject):
    """xlwings' XLPython COM object as the wrapper sees it: CallUDF returns the function's result."""

    vba_type_name = "Object"

    def __init__(self):
        self.calls = []

    @method
    def CallUDF(self, module, function, args, book=MISSING, caller=MISSING):
        values = list(args.items) if isinstance(args, VBAArray) else [args]
        self.calls.append((module, function, values, book, caller))
        return f"{function} from Python"


class ExcelHost(HostBridge):
    def __init__(self, caller):
        self.objects = {"application": Application(caller), "activeworkbook": Workbook("订单确认单.xlsx"),
                        "xlpy": UdfServer()}

    def global_object(self, name):
        return self.objects.get(name.lower(), UNRESOLVED)

    def has_global_member(self, name):
        return name.lower() in self.objects


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    built = addin_build.build_addin(tmp_path_factory.mktemp("dist") / "xl-logistics.xlam")
    parser = olevba.VBA_Parser(str(built))
    try:
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _for_interpreter(source):
    """pyOpenVBA's preprocessor does not read a comment after a #Const directive; VBA does (xlwings'
    own xlwings.bas carries the same line), so only that comment is cut."""
    lines = source.replace("\r\n", "\n").split("\n")
    return "\n".join(l.split(" '")[0] if l.startswith("#Const") else l for l in lines)


def _runtime(source, caller):
    host = ExcelHost(caller)
    vba = Interpreter(host)
    vba.add_module(_for_interpreter(source), name=udf_vba.UDF_MODULE)
    return vba, host.objects["xlpy"]


def test_track_reaches_call_udf_from_a_cell(shipped):
    caller = Range()
    vba, server = _runtime(shipped[udf_vba.UDF_MODULE], caller)
    assert vba.run("TRACK", ["SF1234567890123"]) == "TRACK from Python"
    (module, function, args, book, called_from), = server.calls
    assert (module, function) == ("xl_addin.udfs", "TRACK")
    assert args[0] == "SF1234567890123" and args[1] is NOTHING  # the caller slot, filled in by call_udf
    assert book.Name() == "订单确认单.xlsx" and called_from is caller  # ActiveWorkbook: the add-in's rule


def test_every_function_reaches_python(shipped):
    import re

    code = shipped[udf_vba.UDF_MODULE]
    for name, params in re.findall(r"^Function (\w+)\(([^)]*)\)", code, re.M):
        vba, server = _runtime(code, Range())
        args = ["x"] * len([p for p in params.split(",") if p.strip()])
        assert vba.run(name, args) == f"{name} from Python", name
        assert server.calls[0][1] == name


def test_without_the_module_constant_the_excel_branch_is_compiled_out(shipped):
    """The old defect, reproduced: with #Const App undefined (Empty) the `#If App = "Microsoft Excel"`
    branch is gone: no calling book, no calling cell reach Python (and no On Error handler is set)."""
    source = "\n".join(l for l in shipped[udf_vba.UDF_MODULE].replace("\r\n", "\n").split("\n")
                       if not l.startswith("#Const App"))
    vba, server = _runtime(source, Range())
    vba.run("TRACK", ["SF1234567890123"])
    (_, _, _, book, caller), = server.calls
    assert book is MISSING and caller is MISSING


def test_function_help_texts_decode_to_the_python_docstrings(shipped):
    vba = Interpreter(HostBridge())
    source = shipped[udf_vba.HELP_MODULE].replace("\r\n", "\n")
    source = source.replace("Private Function W(", "Public Function W(")
    vba.add_module(source, name=udf_vba.HELP_MODULE)
    from xl_addin import udfs

    assert vba.run("W", [udf_vba.hex_utf16(udfs.TRACK.__doc__)]) == udfs.TRACK.__doc__
    assert vba.run("W", [udf_vba.hex_utf16("物流助手")]) == "物流助手"


class RibbonControl(VBAObject):
    vba_type_name = "IRibbonControl"

    def __init__(self, tag):
        self._tag = tag

    @member
    def Tag(self):
        return self._tag


class ButtonHost(ExcelHost):
    """Excel for the ribbon callback: RunPython is xlwings' (recorded), MsgBox shows a message (recorded)."""

    def __init__(self, active_book):
        super().__init__(Range())
        self.objects["activeworkbook"] = active_book
        self.ran, self.boxes = [], []

    def has_global_member(self, name):
        return name.lower() in ("runpython", "registerfunctionhelp") or super().has_global_member(name)

    def call_global(self, name, args, named):
        if name.lower() == "runpython":
            self.ran.append(args[0])
            return 0
        if name.lower() == "registerfunctionhelp":
            return None
        return super().call_global(name, args, named)


def _callback(shipped, active_book):
    host = ButtonHost(active_book)
    vba = Interpreter(host)
    vba.add_module(shipped["XlLogistics"].replace("\r\n", "\n"), name="XlLogistics")
    return vba, host


def test_button_passes_its_tag_to_python(shipped):
    vba, host = _callback(shipped, Workbook("订单确认单.xlsx"))
    vba.run("XlLogistics_OnAction", [RibbonControl("intake.validate")])
    assert host.ran == ["import xl_addin.excel.handlers as h; h.run('intake.validate')"]


def test_button_with_no_usable_workbook_answers_in_chinese_and_starts_no_python(shipped, monkeypatch):
    boxes = []
    vba, host = _callback(shipped, NOTHING)
    monkeypatch.setattr(vba, "call_intrinsic", _recording_msgbox(vba.call_intrinsic, boxes))
    vba.run("XlLogistics_OnAction", [RibbonControl("intake.validate")])
    assert host.ran == []
    assert boxes and "没有可用的工作簿" in boxes[0][0] and boxes[0][2] == "物流助手"


def test_a_forged_tag_reaches_python_as_empty(shipped):
    vba, host = _callback(shipped, Workbook("x.xlsx"))
    vba.run("XlLogistics_OnAction", [RibbonControl("x'); import os; os.system('calc")])
    assert host.ran == ["import xl_addin.excel.handlers as h; h.run('')"]


def _recording_msgbox(original, boxes):
    def call(name, args, named):
        if name.lower() == "msgbox":
            boxes.append(tuple(args) + (None,) * (3 - len(args)))
            return 1
        return original(name, args, named)
    return call


class RegisteringApplication(VBAObject):
    """Application.MacroOptions as Excel's object model declares it (named arguments)."""

    vba_type_name = "Application"

    def __init__(self):
        self.registered = {}

    @method
    def MacroOptions(self, Macro=MISSING, Description=MISSING, HasMenu=MISSING, MenuText=MISSING,
                     HasShortcutKey=MISSING, ShortcutKey=MISSING, Category=MISSING, StatusBar=MISSING,
                     HelpContextID=MISSING, HelpFile=MISSING, ArgumentDescriptions=MISSING):
        args = list(ArgumentDescriptions.items) if isinstance(ArgumentDescriptions, VBAArray) else []
        self.registered[Macro] = (Description, Category, args)


def test_auto_open_registers_what_xlwings_import_udfs_would(shipped):
    """The same description, category and argument texts xlwings' import_udfs hands to MacroOptions."""
    import json
    import subprocess
    import sys

    app = RegisteringApplication()
    host = ExcelHost(Range())
    host.objects.update({"application": app, "thisworkbook": Workbook("xl-logistics.xlam")})
    vba = Interpreter(host)
    vba.add_module(shipped[udf_vba.HELP_MODULE].replace("\r\n", "\n"), name=udf_vba.HELP_MODULE)
    vba.run("RegisterFunctionHelp")
    # what xlwings' own decorators recorded, read in a process where they are real
    code = ("import windows_standins, json, xl_addin.udfs as m, xlwings.udfs as u, io; "
            "u.generate_vba_wrapper('xl_addin.udfs', m, io.StringIO(), type('B', (), {'Name': 'a.xlam'})()); "
            "print(json.dumps({f.__name__: [f.__xlfunc__['ret']['doc'][:255], f.__xlfunc__['category'], "
            "[a['doc'][:255] for a in f.__xlfunc__['args'] if not a['vba']]] for f in m.EXCEL_FUNCTIONS}))")
    here = Path(__file__).resolve().parent
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=here,
                       env={**os.environ, "PYTHONPATH": str(here)})
    assert r.returncode == 0, r.stderr[-2000:]
    expected = json.loads(r.stdout)
    got = {macro.split("!")[1]: [d, c, a] for macro, (d, c, a) in app.registered.items()}
    assert got == expected
    assert all(macro.startswith("'xl-logistics.xlam'!") for macro in app.registered)
    assert got["TRACK"][1] == "物流助手" and got["TRACK"][2] and len(got["TRACK"][2]) == 1  # caller is hidden
