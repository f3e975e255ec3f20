"""Installing the add-in on a Windows PC: copy it where Excel loads it and point xlwings at our Python.

Excel opens every workbook in the user's XLSTART folder at start-up; xlwings reads
its settings from ``~/.xlwings/xlwings.conf`` (lines of ``"KEY","VALUE"``). We set
the interpreter, the module our worksheet functions live in, and leave every other
setting the user has as it was.
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


def read_xlwings_conf(path: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    if not path.exists():
        return settings
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = [p.strip().strip('"') for p in line.split('","')]
        if len(parts) == 2 and parts[0]:
            settings[parts[0]] = parts[1]
    return settings


def write_xlwings_conf(path: Path, settings: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copy2(path, path.with_suffix(".conf.bak"))
    tmp = path.with_suffix(".conf.tmp")
    tmp.write_text("".join(f'"{k}","{v}"\n' for k, v in settings.items()), encoding="utf-8")
    os.replace(tmp, path)


def install_addin(addin: Path, *, appdata: Path, home: Path, python: Path,
                  pythonpath: Path | None = None) -> InstallResult:
    """Copy ``addin`` into XLSTART and update xlwings.conf; refuses while Excel holds the old copy open."""
    addin = Path(addin)
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
    conf = Path(home) / ".xlwings" / "xlwings.conf"
    settings = read_xlwings_conf(conf)
    settings["INTERPRETER_WIN"] = str(windowless_interpreter(python))
    modules = [m for m in settings.get("UDF MODULES", "").split(";") if m and m != UDF_MODULE]
    settings["UDF MODULES"] = ";".join([UDF_MODULE, *modules])
    if pythonpath is not None:
        paths = [p for p in settings.get("PYTHONPATH", "").split(";") if p and p != str(pythonpath)]
        settings["PYTHONPATH"] = ";".join([str(pythonpath), *paths])
    write_xlwings_conf(conf, settings)
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
