"""The report's JSON text and the pre-read sheet scan: fast paths that must give the standard results exactly."""

from __future__ import annotations

import json
import random
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from xl_addin.adapters.workbook import limits
from xl_addin.display.json_text import dumps_indented


class _Level(IntEnum):
    HIGH = 3


class _Text(str):
    pass


SHAPES = [
    {}, [], (), "text", 3, None, True, 2.5, float("nan"),
    {"a": [], "b": {}, "c": [[], [{}], ((1,),)]},
    [1, 2.5, None, True, False, "x\n\"\u2028é\t\\"],
    {1: 2, 2.5: 3, None: 2, False: 0},
    {"d": Decimal("1.10"), "t": datetime(2026, 1, 2, 3, 4), "e": _Level.HIGH, "s": _Text("q"),
     "f": -float("inf"), "g": float("inf"), "big": 10**30, "neg": -0.0},
    {"row": 2, "order_no": "DD1", "problems": [{"code": "X", "severity": "error", "column": None, "message": "缺"}],
     "normalized": {"phone": "139", "tags": ["易碎", "保价"], "quantity": 5, "weight_kg": 9.35}},
]


def test_indented_text_is_what_json_dumps_writes():
    for shape in SHAPES:
        for level in (0, 1, 2):
            want = json.dumps(shape, ensure_ascii=False, indent=2, default=str).replace("\n", "\n" + "  " * level)
            assert dumps_indented(shape, 2, level) == want, shape


def _scan_by_patterns(region: bytes, rows: int, cols: int) -> tuple[int, int, int]:
    """What check_sheet counted before the fast scan: the three patterns over the region."""
    cells = len(limits._CELL_OPEN.findall(region))
    for m in limits._ROW_R.finditer(region):
        rows = max(rows, int(m.group(1)))
    for m in limits._WIDE_REF.finditer(region):
        cols = max(cols, limits._col(m.group(1)))
        rows = max(rows, int(m.group(2)))
    return cells, rows, cols


def test_fast_sheet_scan_counts_what_the_patterns_count():
    pieces = [b"<c ", b"<c>", b"<c/>", b"<c\t", b"<x:c ", b"<cols>", b"<col ", b'r="AB12"', b' r="AB12"',
              b' r="ZZ9"', b'\tr="AAA3"', b"<row ", b'<row r="5">', b'<x:row r="77"', b' r="9"', b">", b"</c>",
              b"<v>1</v>", b'<c r="A1"', b'<c r="AC999" ', b'<c a="<" r="BB7">', b"<rows>", b'ar="QQ8"', b":c",
              b":row", b" ", b"r=", b'"', b"AB", b"12"]
    rnd = random.Random(21)
    for _ in range(20_000):
        region = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 25)))
        rows, cols = rnd.choice([(0, 0), (5, 3), (100, 30)])
        assert limits._scan(region, rows, cols) == _scan_by_patterns(region, rows, cols), region
