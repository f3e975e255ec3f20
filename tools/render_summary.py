"""The README's picture of the weekly summary: the tests' hand-checked week 2026-W48, written by
``write_summary``, printed to PDF by LibreOffice headless, first page as PNG.

    .venv/bin/python tools/render_summary.py [docs/images/weekly-summary.png]

Run it when the summary's layout changes and commit the picture (the slow test
tests/closing/test_summary_libreoffice.py checks the same conversion but only writes into its own temporary
folder). Needs the Debian packages libreoffice-calc-nogui, poppler-utils (pdftoppm) and fonts-wqy-microhei.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "images" / "weekly-summary.png"


def render(out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.week48 import TZ, build_week48

    from xl_addin.adapters.store.store import open_store
    from xl_addin.services.closing.weekly_summary import write_summary

    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (scripts/system-deps.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="xl-summary-") as tmp:
        work = Path(tmp)
        store = open_store(work / "state.sqlite3")
        try:
            build_week48(store)
            book = write_summary(store, "2026-W48", work / "weekly-summary.xlsx", tz=TZ, desk_name="物流部")["path"]
        finally:
            store.close()
        subprocess.run(["soffice", f"-env:UserInstallation={(work / 'lo-profile').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(work), str(book)],
                       check=True, capture_output=True, timeout=180)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        str(work / "weekly-summary.pdf"), str(out.with_suffix(""))], check=True, timeout=60)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(render(target))
