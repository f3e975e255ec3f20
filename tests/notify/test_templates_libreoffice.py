"""Slow tier: an independent spreadsheet application (LibreOffice) opens each template and prints it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xl_addin.adapters.workbook.books import ALL_BOOKS
from xl_addin.adapters.workbook.templates import template_dir

pytestmark = pytest.mark.slow


def _soffice() -> str:
    found = shutil.which("soffice") or ("/usr/bin/soffice" if Path("/usr/bin/soffice").exists() else None)
    if not found:
        pytest.fail("找不到 LibreOffice（soffice）。请安装 libreoffice-calc-nogui："
                    "sudo apt-get install -y libreoffice-calc-nogui（CI 会安装它）", pytrace=False)
    return found


@pytest.mark.parametrize("bk", ALL_BOOKS, ids=[b.key for b in ALL_BOOKS])
def test_libreoffice_converts_template_to_pdf(bk, tmp_path):
    source = template_dir() / bk.filename
    assert source.exists(), source
    out = tmp_path / "out"
    profile = (tmp_path / "lo-profile").as_uri()   # own profile: parallel runs never share a lock
    proc = subprocess.run(
        [_soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile}",
         "--convert-to", "pdf", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=180,
    )
    pdf = out / (source.stem + ".pdf")
    assert proc.returncode == 0, proc.stderr
    assert pdf.exists(), f"no PDF; stdout={proc.stdout!r} stderr={proc.stderr!r}"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert pages >= len(bk.sheets), f"{pages} page(s) for {len(bk.sheets)} sheets"
