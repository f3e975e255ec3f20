"""Pictures of a desk's workbooks for the staff guide: LibreOffice headless → PDF → first page as PNG.

    .venv/bin/xl-logistics demo --dir /tmp/demo-desk
    .venv/bin/python tools/render_workbooks.py /tmp/demo-desk docs/zh/images

Works on copies (LibreOffice never touches the desk's files). Small on purpose: 72 dpi, first page only, the top-left corner of the first sheet.
Needs the Debian packages libreoffice-calc-nogui, poppler-utils (pdftoppm) and fonts-wqy-microhei.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# desk workbook → picture name (ASCII names keep Markdown links simple)
PICTURES = {
    "订单确认单.xlsx": "orders.png",
    "物流单号绑定表.xlsx": "bindings.png",
    "实时物流跟踪记录表.xlsx": "tracking.png",
    "异常订单处理台账.xlsx": "exceptions.png",
}


AREA = "A1:I22"  # what fits on one readable page: the first columns of the first rows


def _print_first_rows(copy: Path) -> None:
    """On the copy only: print the first sheet's top-left corner on one landscape page."""
    import openpyxl

    wb = openpyxl.load_workbook(copy)
    for ws in wb.worksheets:
        ws.print_area = AREA
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
    wb.save(copy)


def render(desk: Path, out_dir: Path, dpi: int = 72) -> list[Path]:
    office, pdftoppm = shutil.which("soffice") or shutil.which("libreoffice"), shutil.which("pdftoppm")
    if not office or not pdftoppm:
        raise SystemExit("needs soffice (libreoffice-calc-nogui) and pdftoppm (poppler-utils)")
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, picture in PICTURES.items():
            if not (desk / name).exists():
                continue
            copy = work / picture.replace(".png", ".xlsx")
            shutil.copyfile(desk / name, copy)
            _print_first_rows(copy)
            subprocess.run([office, f"-env:UserInstallation=file://{work}/profile", "--headless",
                            "--convert-to", "pdf", "--outdir", str(work), str(copy)],
                           check=True, capture_output=True, timeout=180)
            stem = out_dir / picture[:-4]
            subprocess.run([pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                            str(copy.with_suffix(".pdf")), str(stem)], check=True, timeout=60)
            made.append(stem.with_suffix(".png"))
    return made


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    for p in render(Path(sys.argv[1]), Path(sys.argv[2])):
        print(p)
