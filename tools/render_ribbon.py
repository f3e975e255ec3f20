"""Draw the 物流助手 ribbon from macros/customUI14.xml as SVG, and as PNG through rsvg-convert.

A diagram, not a screenshot (Excel does not run here): groups and buttons in the XML's order,
large buttons as tall tiles, small ones stacked, each with its keytip. Run:

    .venv/bin/python tools/render_ribbon.py            # writes docs/images/ribbon.svg and ribbon.png

Needs the Debian packages librsvg2-bin (rsvg-convert) and fonts-wqy-microhei (a CJK font).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
NS = {"c": "http://schemas.microsoft.com/office/2009/07/customui"}
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
LARGE_W, SMALL_W, H, PAD = 86, 118, 92, 8


def groups(xml_path: Path) -> tuple[str, list[tuple[str, list[dict]]]]:
    root = ET.parse(xml_path).getroot()
    tab = root.find(".//c:tab", NS)
    out = []
    for g in tab.findall("c:group", NS):
        out.append((g.get("label"), [dict(b.attrib) for b in g.findall("c:button", NS)]))
    return tab.get("label"), out


def _text(x, y, s, size=12, anchor="middle", weight="normal", fill="#222"):
    return (f'<text x="{x}" y="{y}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}">{escape(s)}</text>')


def svg(xml_path: Path) -> str:
    tab, gs = groups(xml_path)
    parts, x = [], PAD
    top = 34
    for label, buttons in gs:
        large = [b for b in buttons if b.get("size") == "large"]
        small = [b for b in buttons if b.get("size") != "large"]
        width = len(large) * (LARGE_W + 4) + ((len(small) + 2) // 3) * (SMALL_W + 4) + 8
        parts.append(f'<rect x="{x}" y="{top}" width="{width}" height="{H + 22}" fill="#fafafa" stroke="#c8c8c8"/>')
        bx = x + 4
        for b in large:
            parts.append(f'<rect x="{bx}" y="{top + 4}" width="{LARGE_W}" height="{H - 8}" rx="3" fill="#e8f0fb" stroke="#9bb7e0"/>')
            parts.append(f'<rect x="{bx + LARGE_W / 2 - 14}" y="{top + 12}" width="28" height="28" rx="4" fill="#2f6fba"/>')
            parts.append(_text(bx + LARGE_W / 2, top + 31, b.get("keytip", ""), 12, weight="bold", fill="#fff"))
            parts.append(_text(bx + LARGE_W / 2, top + 62, b["label"], 13))
            bx += LARGE_W + 4
        for i, b in enumerate(small):
            col, row = divmod(i, 3)
            sx, sy = bx + col * (SMALL_W + 4), top + 6 + row * 28
            parts.append(f'<rect x="{sx}" y="{sy}" width="{SMALL_W}" height="24" rx="3" fill="#f1f5fb" stroke="#b9cbe6"/>')
            parts.append(f'<rect x="{sx + 4}" y="{sy + 4}" width="16" height="16" rx="3" fill="#2f6fba"/>')
            parts.append(_text(sx + 12, sy + 16, b.get("keytip", ""), 10, weight="bold", fill="#fff"))
            parts.append(_text(sx + 26, sy + 17, b["label"], 12, anchor="start"))
        parts.append(_text(x + width / 2, top + H + 16, label, 12, fill="#555"))
        x += width + 6
    total_w, total_h = x + PAD, top + H + 30
    head = [f'<rect x="0" y="0" width="{total_w}" height="{total_h}" fill="#ffffff"/>',
            f'<rect x="0" y="0" width="{total_w}" height="28" fill="#217346"/>',
            _text(16, 19, "文件  开始  插入  页面布局  公式  数据  审阅  视图", 12, anchor="start", fill="#e6f2ea"),
            '<rect x="360" y="4" width="86" height="24" fill="#ffffff"/>',
            _text(403, 21, tab, 13, weight="bold", fill="#217346")]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" '
            f'viewBox="0 0 {total_w} {total_h}">' + "".join(head + parts) + "</svg>\n")


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    svg_path = out_dir / "ribbon.svg"
    svg_path.write_text(svg(ROOT / "macros" / "customUI14.xml"), encoding="utf-8")
    tool = shutil.which("rsvg-convert")
    if tool is None:
        print("rsvg-convert not found: apt-get install librsvg2-bin fonts-wqy-microhei", file=sys.stderr)
        return 2
    subprocess.run([tool, "-o", str(out_dir / "ribbon.png"), str(svg_path)], check=True)
    print(out_dir / "ribbon.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
