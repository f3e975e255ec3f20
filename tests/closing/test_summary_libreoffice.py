"""Slow tier: LibreOffice opens the weekly summary workbook (charts included) and prints it to PDF;
the first page is rendered to a picture (in the test's own folder; the README's picture is made by
tools/render_summary.py, so a test run never changes the tracked tree)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import pytest

from support.week48 import TZ, build_week48
from xl_addin.adapters.store.store import open_store
from xl_addin.services.closing.weekly_summary import write_summary

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_summary_to_pdf_and_png(tmp_path):
    store = open_store(tmp_path / "state.sqlite3")
    build_week48(store)
    out = write_summary(store, "2026-W48", tmp_path / "weekly-summary.xlsx", tz=TZ, desk_name="物流部")
    store.close()
    with zipfile.ZipFile(out["path"]) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 3   # native charts, not pictures
    profile = (tmp_path / "lo-profile").as_uri()
    proc = subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), out["path"]], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "weekly-summary.pdf"
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"Pages:\s+3\n", info), info  # one printed page per sheet
    if shutil.which("pdftoppm"):
        png = tmp_path / "weekly-summary.png"
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(png.with_suffix(""))], check=True, timeout=60)
        assert png.stat().st_size > 10_000


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_keeps_the_scorecard_rates_on_their_own_axis(tmp_path):
    """LibreOffice reads the scorecard chart and writes it back from its own model: the rate line still
    has a value axis of its own, apart from the shipment bars'."""
    from xml.etree import ElementTree as ET

    store = open_store(tmp_path / "state.sqlite3")
    build_week48(store)
    out = write_summary(store, "2026-W48", tmp_path / "src" / "weekly.xlsx", tz=TZ, desk_name="物流部")
    store.close()
    profile = (tmp_path / "lo-profile").as_uri()
    proc = subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
                           "--outdir", str(tmp_path / "lo"), out["path"]], capture_output=True, text=True, timeout=180)
    again = tmp_path / "lo" / "weekly.xlsx"
    assert proc.returncode == 0 and again.exists(), proc.stderr
    c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    with zipfile.ZipFile(again) as z:
        charts = [ET.fromstring(z.read(n)) for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)]
    mixed = [x for x in charts if x.find(f".//{c}barChart") is not None and x.find(f".//{c}lineChart") is not None]
    assert len(mixed) == 1, [ET.tostring(x)[:200] for x in charts]
    plot = mixed[0].find(f".//{c}plotArea")
    bar_axes = {a.get("val") for a in plot.find(f"{c}barChart").findall(f"{c}axId")}
    line_axes = {a.get("val") for a in plot.find(f"{c}lineChart").findall(f"{c}axId")}
    value_axes = {a.find(f"{c}axId").get("val") for a in plot.findall(f"{c}valAx")}
    assert len(value_axes) == 2 and (bar_axes & value_axes) != (line_axes & value_axes)
