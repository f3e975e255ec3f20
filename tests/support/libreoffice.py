"""LibreOffice as an independent spreadsheet application: a workbook recalculated by it and read back by value."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def _soffice() -> str:
    found = shutil.which("soffice") or ("/usr/bin/soffice" if Path("/usr/bin/soffice").exists() else None)
    if not found:
        pytest.fail("找不到 LibreOffice（soffice）。请安装 libreoffice-calc-nogui：scripts/system-deps.sh")
    return found


def recalculated(path: Path, work: Path):
    """The workbook as LibreOffice computes it (every formula recalculated on load), read back by value."""
    profile = work / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
    out = work / "out"
    out.mkdir(exist_ok=True)
    src = work / path.name
    shutil.copy(path, src)
    proc = subprocess.run([_soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and (out / path.name).exists(), proc.stderr
    return load_workbook(out / path.name, data_only=True)
