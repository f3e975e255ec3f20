"""Installing the add-in, exercised on real folders laid out as on Windows (Excel itself is not here)."""

from pathlib import Path

import pytest

from xl_addin.errors import UserError
from xl_addin.excel.addin_install import install_addin, read_xlwings_conf


def layout(tmp_path):
    addin = tmp_path / "dist" / "xl-logistics.xlam"
    addin.parent.mkdir()
    addin.write_bytes(b"PK\x03\x04 built add-in")
    python = tmp_path / "Python311" / "python.exe"
    python.parent.mkdir()
    python.write_bytes(b"")
    (python.parent / "pythonw.exe").write_bytes(b"")
    return addin, tmp_path / "AppData" / "Roaming", tmp_path / "home", python


def test_copies_into_xlstart_and_configures_xlwings(tmp_path):
    addin, appdata, home, python = layout(tmp_path)
    result = install_addin(addin, appdata=appdata, home=home, python=python, pythonpath=tmp_path / "src")
    assert result.addin == appdata / "Microsoft" / "Excel" / "XLSTART" / "xl-logistics.xlam"
    assert result.addin.read_bytes() == addin.read_bytes()
    conf = read_xlwings_conf(home / ".xlwings" / "xlwings.conf")
    assert conf["INTERPRETER_WIN"].endswith("pythonw.exe")
    assert conf["UDF MODULES"] == "xl_addin.udfs"
    assert conf["PYTHONPATH"] == str(tmp_path / "src")


def test_keeps_the_users_other_settings_and_is_repeatable(tmp_path):
    addin, appdata, home, python = layout(tmp_path)
    conf_path = home / ".xlwings" / "xlwings.conf"
    conf_path.parent.mkdir(parents=True)
    conf_path.write_text('"UDF MODULES","my_funcs"\n"SHOW CONSOLE","True"\n', encoding="utf-8")
    install_addin(addin, appdata=appdata, home=home, python=python)
    install_addin(addin, appdata=appdata, home=home, python=python)
    conf = read_xlwings_conf(conf_path)
    assert conf["UDF MODULES"] == "xl_addin.udfs;my_funcs"
    assert conf["SHOW CONSOLE"] == "True"
    assert (conf_path.with_suffix(".conf.bak")).exists()


def test_missing_addin_says_to_build_first(tmp_path):
    with pytest.raises(UserError) as err:
        install_addin(tmp_path / "nope.xlam", appdata=tmp_path, home=tmp_path, python=Path("python.exe"))
    assert "addin build" in str(err.value)
