"""Big sheets: validate streams (read, check, save, write a chunk at a time) within the memory limit."""

import json
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from python_calamine import CalamineWorkbook

from xl_addin.services.intake import validate_orders
from xl_addin.services.sample_orders import generate_orders, write_orders_xlsx

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MEMORY_LIMIT_MB = 1500


def sheet_rows(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("订单确认单").to_python()


def test_small_chunks_give_the_same_workbook_and_report(tmp_path):
    a = write_orders_xlsx(generate_orders(120, 11), tmp_path / "a.xlsx")
    b = write_orders_xlsx(generate_orders(120, 11), tmp_path / "b.xlsx")
    ra = validate_orders(a, NOW, chunk=7, backup_dir=tmp_path / "bk")
    rb = validate_orders(b, NOW, chunk=10_000, backup_dir=tmp_path / "bk")
    assert ra.written and rb.written
    assert [r.as_dict() for r in ra.rows] == [r.as_dict() for r in rb.rows]
    assert sheet_rows(a) == sheet_rows(b)
    assert ra.summary["errors"] > 0 and ra.summary["ok"] > 0


_CHILD = textwrap.dedent("""
    import json, resource, sys
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from xl_addin.services.intake import validate_orders
    seen = []
    report = validate_orders(Path(sys.argv[1]), datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
                             backup_dir=Path(sys.argv[2]), progress=lambda d, t: seen.append(d))
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rows": len(report.rows), "written": report.written, "progress_calls": len(seen),
                      "summary": report.summary}))
""")


@pytest.mark.slow
def test_200k_rows_stay_under_the_memory_limit(tmp_path):
    n = 200_000
    book = write_orders_xlsx(generate_orders(n, 7), tmp_path / "big.xlsx")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(book), str(tmp_path / "bk")],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["rows"] == n and result["written"]
    assert result["progress_calls"] >= n // 20_000  # progress arrives while it works, not only at the end
    assert result["peak_mb"] < MEMORY_LIMIT_MB, result
    rows = sheet_rows(book)
    header = rows[0]
    status = header.index("校验状态")
    assert len(rows) == n + 1
    assert all(r[status] in ("通过", "有问题", "待复核") for r in rows[1:])
    assert rows[-1][0] != "" and rows[-1][status] != ""
