"""Installing the add-in, exercised on real folders laid out as on Windows (Excel itself is not here)."""

from pathlib import Path

import pytest

from xl_addin.errors import UserError
from xl_addin.excel import addin_build
from xl_addin.excel.addin_install import config_path, install_addin, read_conf


def layout(tmp_path, user="wang"):
    addin = tmp_path / "dist" / "xl-logistics.xlam"
    addin.parent.mkdir()
    addin.write_bytes(b"PK\x03\x04 built add-in")
    home = tmp_path / "Users" / user
    python = home / "AppData" / "Local" / "Programs" / "Python311" / "python.exe"
    python.parent.mkdir(parents=True)
    python.write_bytes(b"")
    (python.parent / "pythonw.exe").write_bytes(b"")
    return addin, home / "AppData" / "Roaming", home, python


def test_copies_into_xlstart_and_writes_the_addins_own_settings(tmp_path):
    addin, appdata, home, python = layout(tmp_path)
    result = install_addin(addin, appdata=appdata, home=home, python=python, pythonpath=tmp_path / "src",
                           encoding="cp1252")
    assert result.addin == appdata / "Microsoft" / "Excel" / "XLSTART" / "xl-logistics.xlam"
    assert result.addin.read_bytes() == addin.read_bytes()
    # the file the VBA's GetConfigFilePath names: Environ("USERPROFILE") & "\." & PROJECT_NAME & "\" & PROJECT_NAME & ".conf"
    name = addin_build.PROJECT_NAME
    assert result.config == home / f".{name}" / f"{name}.conf"
    conf = read_conf(result.config, "cp1252")
    assert conf["INTERPRETER_WIN"].endswith("pythonw.exe")
    assert conf["UDF MODULES"] == "xl_addin.udfs"
    assert conf["PYTHONPATH"] == str(tmp_path / "src")
    assert not (home / ".xlwings").exists()  # the user's xlwings.conf is not ours


def test_users_xlwings_conf_is_left_alone(tmp_path):
    addin, appdata, home, python = layout(tmp_path)
    theirs = home / ".xlwings" / "xlwings.conf"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b'"INTERPRETER_WIN","C:\\conda\\python.exe"\r\n"UDF MODULES","my_funcs"\r\n')
    before = theirs.read_bytes()
    install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    assert theirs.read_bytes() == before and not theirs.with_suffix(".conf.bak").exists()


def test_chinese_user_profile_is_written_in_the_ansi_code_page(tmp_path):
    """VBA's Input # decodes the file in the ANSI code page: on Chinese Windows cp936."""
    addin, appdata, home, python = layout(tmp_path, user="张伟")
    result = install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    raw = result.config.read_bytes()
    expected = f'"INTERPRETER_WIN","{python.with_name("pythonw.exe")}"\r\n'
    assert expected.encode("cp936") in raw  # the bytes VBA reads back as the path
    assert "张伟".encode("cp936") in raw and "张伟".encode("utf-8") not in raw
    assert raw.decode("cp936").splitlines()[0] == expected.strip()


def test_rewriting_keeps_cp936_settings_intact_and_is_repeatable(tmp_path):
    addin, appdata, home, python = layout(tmp_path, user="张伟")
    conf_path = config_path(home)
    conf_path.parent.mkdir(parents=True)
    conf_path.write_bytes('"SHOW CONSOLE","True"\r\n"PYTHONPATH","D:\\台账\\脚本"\r\n'.encode("cp936"))
    install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    conf = read_conf(conf_path, "cp936")
    assert conf["SHOW CONSOLE"] == "True"
    assert conf["PYTHONPATH"] == "D:\\台账\\脚本"
    assert conf_path.with_suffix(".conf.bak").exists()


def test_a_path_the_code_page_cannot_hold_is_refused_not_garbled(tmp_path):
    addin, appdata, home, python = layout(tmp_path, user="김민준")  # Hangul: not in cp936
    with pytest.raises(UserError) as err:
        install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    assert "cp936" in str(err.value) and not config_path(home).exists()


def test_a_conf_not_in_the_code_page_is_not_rewritten(tmp_path):
    addin, appdata, home, python = layout(tmp_path)
    conf_path = config_path(home)
    conf_path.parent.mkdir(parents=True)
    conf_path.write_bytes(b'"PYTHONPATH","\xff\xfe"\r\n')  # not cp936 text
    with pytest.raises(UserError):
        install_addin(addin, appdata=appdata, home=home, python=python, encoding="cp936")
    assert conf_path.read_bytes() == b'"PYTHONPATH","\xff\xfe"\r\n'


def test_missing_addin_says_to_build_first(tmp_path):
    with pytest.raises(UserError) as err:
        install_addin(tmp_path / "nope.xlam", appdata=tmp_path, home=tmp_path, python=Path("python.exe"),
                      encoding="cp936")
    assert "addin build" in str(err.value)
