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

from xl_addin.adapters.store import open_store
from xl_addin.adapters.store.orders import OrderRecords
from xl_addin.services.intake import validation as intake
from xl_addin.services.intake.validation import validate_orders
from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx

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


def test_reports_beyond_memory_spill_and_print_the_same_json(tmp_path, monkeypatch):
    book = write_orders_xlsx(generate_orders(150, 5), tmp_path / "a.xlsx")
    whole = validate_orders(book, NOW, chunk=1000, write=False)
    monkeypatch.setattr(intake, "KEEP_IN_MEMORY", 40)
    spilled = validate_orders(book, NOW, chunk=30, write=False)
    assert "chunks on disk" in repr(spilled.rows) and not repr(spilled.rows).startswith("RowLog(150 rows, 0")
    assert len(spilled.rows) == 150 and spilled.rows[-1].row == whole.rows[-1].row == 151
    assert [r.as_dict() for r in spilled.rows] == [r.as_dict() for r in whole.rows]
    assert [r.row for r in spilled.rows[35:45]] == list(range(37, 47))
    assert spilled.summary == whole.summary and spilled.summary["errors"] > 0 and spilled.has_errors
    for indent in (2, None):
        text = "".join(spilled.iter_json(indent))
        assert text == json.dumps(whole.as_dict(), ensure_ascii=False, indent=indent, default=str)
        assert len(json.loads(text)["rows"]) == 150


def test_store_lookups_per_chunk_keep_earlier_results(tmp_path):
    book = write_orders_xlsx(generate_orders(60, 9), tmp_path / "a.xlsx")
    with open_store(tmp_path / "state.sqlite3") as store:
        first = validate_orders(book, NOW, store=store, chunk=25, backup_dir=tmp_path / "bk")
        records = OrderRecords(store)
        numbers = [r.order_no for r in first.rows if r.order_no][:30]
        found = records.by_numbers(str(book.resolve()), numbers + ["NO-SUCH-ORDER"])
        assert sorted(found) == sorted(set(numbers))
        assert records.by_numbers("another.xlsx", numbers) == {}
        again = validate_orders(book, NOW, store=store, chunk=7, backup_dir=tmp_path / "bk")
    assert first.stored and again.stored
    assert [r.decision.status for r in again.rows] == [r.decision.status for r in first.rows]
    assert not any(p.code == "DUPLICATE_ORDER" for r in again.rows for p in r.result.problems
                   if r.order_no in found)


_CHILD = textwrap.dedent("""
    import json, resource, sys
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from xl_addin.services.intake.validation import validate_orders
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
    assert result["summary"]["rows"] == n and result["summary"]["errors"] > 0
    rows = sheet_rows(book)
    header = rows[0]
    status = header.index("校验状态")
    assert len(rows) == n + 1
    assert all(r[status] in ("通过", "有问题", "待复核") for r in rows[1:])
    assert rows[-1][0] != "" and rows[-1][status] != ""


def test_fast_simplified_folding_agrees_with_zhconv_on_its_whole_table():
    import zhconv
    from zhconv.zhconv import getdict

    from xl_addin.domain.intake.text import to_simplified

    keys = list(getdict("zh-cn"))
    texts = keys + [f"浙江省杭州市{k}路8号" for k in keys] + ["广东省深圳市南山区科技园1号", "臺灣省臺北市", "反覆確認"]
    assert [to_simplified(t) for t in texts] == [zhconv.convert(t, "zh-cn") for t in texts]
    assert to_simplified("北京市朝阳区建国路88号") == "北京市朝阳区建国路88号"
    assert to_simplified("請回覆") == "请回复"
