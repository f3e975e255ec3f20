"""The built add-in, read back with independent readers (zipfile, lxml, oletools' olevba)."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from xl_addin.excel import addin_build

olevba = pytest.importorskip("oletools.olevba")


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
        assert z.read(addin_build.RIBBON_PART) == (addin_build.MACROS / "customUI14.xml").read_bytes()
        rels = etree.fromstring(z.read("_rels/.rels"))
        ui = [r for r in rels if r.get("Type") == addin_build.RIBBON_REL]
        assert len(ui) == 1 and ui[0].get("Target") == addin_build.RIBBON_PART
        types = z.read("[Content_Types].xml")
        assert b'Extension="xml"' in types and b"addin.macroEnabled" in types


def test_xlwings_version_in_vba_matches_installed(modules):
    import xlwings

    assert addin_build.named_xlwings_version(modules["xlwings"]) == xlwings.__version__
    assert f"xlwings64-{xlwings.__version__}.dll" in modules["xlwings"]


def test_udf_wrappers_cover_every_function(modules):
    from xl_addin import udfs

    for name, *_ in udfs.UDFS:
        assert re.search(rf'^Function {name}\(', modules[addin_build.UDF_MODULE], re.M), name
        assert f'XLPy.CallUDF("xl_addin.udfs", "{name}"' in modules[addin_build.UDF_MODULE]


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
