"""The built add-in, read back with independent readers (zipfile, lxml, oletools' olevba)."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from xl_addin.excel import addin_build

from oletools import olevba


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return addin_build.build_addin(tmp_path_factory.mktemp("dist") / "xl-logistics.xlam")


@pytest.fixture(scope="module")
def modules(built):
    parser = olevba.VBA_Parser(str(built))
    try:
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _body(source: str) -> str:
    """The code as the VBA editor shows it: Attribute lines are hidden, line ends are CRLF."""
    lines = source.replace("\r\n", "\n").split("\n")
    return "\n".join(l for l in lines if not l.startswith("Attribute VB_")).strip()


def test_vba_read_back_equals_the_sources(modules):
    expected = addin_build.vba_sources()
    for name, source in expected.items():
        assert name in modules, name
        assert _body(modules[name]) == _body(source), name


def test_every_onaction_names_a_sub_in_the_vba(built, modules):
    with zipfile.ZipFile(built) as z:
        ribbon = etree.fromstring(z.read(addin_build.RIBBON_PART))
    subs = {m.group(1) for code in modules.values()
            for m in re.finditer(r"^(?:Public |Private )?Sub (\w+)\s*\(", code, re.M | re.I)}
    actions = {e.get("onAction") for e in ribbon.iter() if e.get("onAction")}
    assert actions and actions <= subs


def test_ribbon_part_relationship_and_content_type(built):
    with zipfile.ZipFile(built) as z:
        assert z.testzip() is None
        assert z.read(addin_build.RIBBON_PART) == (addin_build.MACROS / addin_build.RIBBON_FILE).read_bytes()
        rels = etree.fromstring(z.read("_rels/.rels"))
        ui = [r for r in rels if r.get("Type") == addin_build.RIBBON_REL]
        assert len(ui) == 1 and ui[0].get("Target") == addin_build.RIBBON_PART
        types = z.read("[Content_Types].xml")
        assert b'Extension="xml"' in types and b"addin.macroEnabled" in types


def test_embedded_module_is_xlwings_custom_addin_module_with_our_project_name(modules):
    import xlwings

    original = (Path(xlwings.__file__).parent / "xlwings_custom_addin.bas").read_text(encoding="utf-8")
    embedded = modules["xlwings"]
    assert addin_build.named_xlwings_version(embedded) == xlwings.__version__
    assert f"xlwings64-{xlwings.__version__}.dll" in embedded
    assert 'Public Const PROJECT_NAME As String = "xl_logistics"' in embedded
    assert "Option Private Module" in embedded  # GetConfig, ReadFile, ... are no worksheet functions
    # apart from those two lines it is xlwings' module as shipped (ActiveWorkbook semantics)
    changed = [l for l in _body(embedded).splitlines() if l not in original.splitlines()]
    assert changed == ["Option Private Module", 'Public Const PROJECT_NAME As String = "xl_logistics"']


def test_vba_project_stream_is_the_on_write_form(built):
    """MS-OVBA 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF on write, Reserved2 0, no performance cache."""
    import struct

    import xlwings
    from pyopenvba.cfb import CFB

    def stream(path):
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("vbaProject.bin"))
            return CFB.from_bytes(z.read(name)).get_stream_in_storage("VBA", "_VBA_PROJECT")

    ours = stream(built)
    reserved1, version, reserved2 = struct.unpack("<HHB", ours[:5])
    assert (reserved1, version, reserved2, len(ours)) == (0x61CC, 0xFFFF, 0, 7)
    assert ours == stream(Path(xlwings.__file__).parent / "quickstart_addin.xlam")  # xlwings' own add-in


def test_udf_module_is_what_xlwings_generates(modules):
    from xl_addin.excel import udf_vba

    code = modules[udf_vba.UDF_MODULE]
    assert _body(code) == _body(addin_build.udf_modules()[udf_vba.UDF_MODULE])
    lines = _body(code).splitlines()
    # the constant import_udfs writes, before the first #If App (module-private in VBA)
    const = lines.index("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
    assert const < next(i for i, l in enumerate(lines) if l.strip().startswith("#If App"))
    for name in ("TRACK", "TRACK_STATUS", "TRACK_LAST", "TRACK_ETA", "TRACK_NODES", "TRACK_MANY",
                 "CARRIER", "WAYBILL_OK", "PHONE_OK", "ADDRESS_OK"):
        assert re.search(rf"^Function {name}\(", code, re.M), name
        assert f'XLPy.CallUDF("xl_addin.udfs", "{name}"' in code
    assert "Function TRACK(waybill)\r\n" in code and "Array(waybill, Nothing)" in code  # caller: filled by xlwings
    assert "ActiveWorkbook, Application.Caller" in code and "ThisWorkbook" not in code


def test_function_help_registers_every_function_once(modules):
    from xl_addin.excel import udf_vba

    help_code = modules[udf_vba.HELP_MODULE]
    assert "Option Private Module" in help_code
    registered = re.findall(r'MacroOptions Macro:=book & "(\w+)"', help_code)
    assert sorted(registered) == sorted(re.findall(r"^Function (\w+)\(", modules[udf_vba.UDF_MODULE], re.M))
    assert "RegisterFunctionHelp" in modules["XlLogistics"]  # called from Auto_Open
    assert max(len(l) for l in help_code.splitlines()) < 1023  # VBA's line limit


def test_our_vba_sources_are_ascii():
    for path in addin_build.MACROS.glob("*.bas"):
        path.read_bytes().decode("ascii")


def _cli(*args):
    code = ("import sys; from xl_addin.entrypoints import addin_commands; "
            "from xl_addin.entrypoints.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_build_and_install(tmp_path):
    out = tmp_path / "a.xlam"
    r = _cli("addin", "build", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.exists() and zipfile.is_zipfile(out)
    if not sys.platform.startswith("win"):
        r = _cli("addin", "install")
        assert r.returncode == 2 and "Windows" in r.stderr


def test_missing_source_fails_loudly(tmp_path, monkeypatch):
    from xl_addin.errors import UserError

    empty = tmp_path / "macros"
    empty.mkdir()
    monkeypatch.setattr(addin_build, "MACROS", empty)
    with pytest.raises(UserError) as err:
        addin_build.build_addin(tmp_path / "out" / "x.xlam")
    assert "XlLogistics.bas" in str(err.value)
    (empty / "XlLogistics.bas").write_text('Attribute VB_Name = "XlLogistics"\n', encoding="ascii")
    with pytest.raises(UserError) as err:
        addin_build.build_addin(tmp_path / "out" / "x.xlam")
    assert addin_build.RIBBON_FILE in str(err.value)
    assert not (tmp_path / "out" / "x.xlam").exists()


def test_default_output_is_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = addin_build.build_addin()
    assert path == tmp_path / "dist" / addin_build.DEFAULT_NAME and path.is_file()
