"""Installing the add-in on a Windows PC: copy it where Excel loads it and point xlwings at our Python.

Excel opens every workbook in the user's XLSTART folder at start-up. The add-in carries
xlwings' custom add-in module with ``PROJECT_NAME = "xl_logistics"``, so it reads its settings
from ``%USERPROFILE%\\.xl_logistics\\xl_logistics.conf`` (lines of ``"KEY","VALUE"``) — not from
the user's ``~/.xlwings/xlwings.conf``, which we never touch. We set the interpreter and
PYTHONPATH there and keep every other line the user put in.

Encoding: the VBA reads that file with ``Input #``, which decodes bytes in the Windows ANSI code
page (cp936 on Chinese Windows, cp1252 in Western Europe), so it is read and written in that code
page — an interpreter under ``C:\\Users\\张伟\\…`` then reads back as written. A path the code page
cannot hold is refused with a message instead of being written garbled.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from xl_addin.errors import UserError

ADDIN_NAME = "xl-logistics.xlam"
UDF_MODULE = "xl_addin.udfs"
from xl_addin.excel.addin_build import PROJECT_NAME  # noqa: E402  (the VBA constant)


def config_path(home: Path) -> Path:
    """What the add-in's VBA ``GetConfigFilePath`` returns: %USERPROFILE%\\.<PROJECT_NAME>\\<PROJECT_NAME>.conf."""
    return Path(home) / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def ansi_code_page() -> str:
    """The code page VBA's ``Input #``/``Write #`` use on this Windows (GetACP), e.g. ``cp936``."""
    import ctypes

    return f"cp{ctypes.windll.kernel32.GetACP()}"  # type: ignore[attr-defined]


@dataclass
class InstallResult:
    addin: Path
    config: Path
    settings: dict[str, str]

    def as_dict(self) -> dict:
        return {"addin": str(self.addin), "config": str(self.config), "settings": self.settings}


def xlstart_folder(appdata: Path) -> Path:
    """The user's Excel start-up folder (what Excel calls Application.StartupPath)."""
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"


def windowless_interpreter(python: Path) -> Path:
    """pythonw.exe beside python.exe when there is one: buttons then open no console window."""
    candidate = Path(python).with_name("pythonw.exe")
    return candidate if candidate.exists() else Path(python)


def read_conf(path: Path, encoding: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    if not path.exists():
        return settings
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError:
        raise UserError(f"配置文件 {path} 不是本机 Windows 代码页（{encoding}）的文本，无法安全改写",
                        "请删除或改正这个文件后重新运行 xl-logistics addin install") from None
    for line in text.splitlines():
        parts = [p.strip().strip('"') for p in line.split('","')]
        if len(parts) == 2 and parts[0]:
            settings[parts[0]] = parts[1]
    return settings


def write_conf(path: Path, settings: dict[str, str], encoding: str) -> None:
    """Lines as VBA's ``Write #`` writes them (``"KEY","VALUE"`` + CRLF), in the ANSI code page."""
    text = "".join(f'"{k}","{v}"\r\n' for k, v in settings.items())
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise UserError(f"路径中的字符“{bad}”无法用本机 Windows 代码页（{encoding}）保存，加载项读取时会变成乱码",
                        "请把 Python 安装到只含中文常用字、字母和数字的文件夹，"
                        "或在 Windows“区域”设置中启用对应的系统区域") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copy2(path, path.with_suffix(".conf.bak"))
    tmp = path.with_suffix(".conf.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def install_addin(addin: Path, *, appdata: Path, home: Path, python: Path,
                  pythonpath: Path | None = None, encoding: str | None = None) -> InstallResult:
    """Copy ``addin`` into XLSTART and write the add-in's settings; refuses while Excel holds the old copy open."""
    addin = Path(addin)
    encoding = encoding or ansi_code_page()
    if not addin.exists():
        raise UserError(f"找不到加载项文件 {addin}", "先运行 xl-logistics addin build")
    target_dir = xlstart_folder(appdata)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / ADDIN_NAME
    tmp = target.with_name(f".{ADDIN_NAME}.tmp")
    shutil.copyfile(addin, tmp)
    try:
        os.replace(tmp, target)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise UserError(f"无法替换 {target}：Excel 正在使用旧版加载项", "请关闭所有 Excel 窗口后再运行 addin install") from None
    try:  # a downloaded file carries a "came from the internet" mark that makes Excel block its macros
        os.remove(f"{target}:Zone.Identifier")
    except OSError:
        pass
    conf = config_path(home)
    settings = read_conf(conf, encoding)
    settings["INTERPRETER_WIN"] = str(windowless_interpreter(python))
    settings["UDF MODULES"] = UDF_MODULE  # the add-in's own file: only our functions live here
    if pythonpath is not None:
        paths = [p for p in settings.get("PYTHONPATH", "").split(";") if p and p != str(pythonpath)]
        settings["PYTHONPATH"] = ";".join([str(pythonpath), *paths])
    write_conf(conf, settings, encoding)
    return InstallResult(target, conf, settings)


def install_for_this_user(addin: Path) -> InstallResult:
    """The Windows entry: real folders of the signed-in user and the running interpreter."""
    appdata = os.environ.get("APPDATA")
    if not appdata:
        raise UserError("找不到 APPDATA 文件夹", "请在 Windows 用户会话中运行")
    import xl_addin

    package_parent = Path(xl_addin.__file__).resolve().parents[1]
    in_site_packages = "site-packages" in package_parent.parts
    return install_addin(addin, appdata=Path(appdata), home=Path.home(), python=Path(sys.executable),
                         pythonpath=None if in_site_packages else package_parent)
