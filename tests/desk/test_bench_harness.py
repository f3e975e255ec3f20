"""The benchmark harness: per-step fresh-process measurement, the comparison table, and a tiny real run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import Figure, StepFailed, measure, print_table, to_json  # noqa: E402

PY = sys.executable


def _allocate(mb: int) -> int:
    block = b"x" * (mb * 2**20)  # touches every page, so the resident set really grows
    time.sleep(0.05)
    return len(block)


def _fail() -> None:
    raise ValueError("坏数据")


def test_measure_reports_time_and_per_step_peak_memory():
    big = measure(_allocate, 120)
    small = measure(_allocate, 1)
    assert big.result == 120 * 2**20 and small.result == 2**20
    assert big.seconds >= 0.05
    assert big.peak_rss_mb >= 120
    # a fresh process per step: the small step does not inherit the big one's peak
    assert small.peak_rss_mb < big.peak_rss_mb - 80


def test_measure_turns_a_failing_step_into_stepfailed_with_the_traceback():
    with pytest.raises(StepFailed, match="ValueError: 坏数据"):
        measure(_fail)


def test_figure_floors_and_table():
    t = Figure("read time", "s", 3.0, 1.0, "python-calamine", max_ratio=10)
    slow = Figure("read time", "s", 12.0, 1.0, "python-calamine", max_ratio=10)
    mem = Figure("peak memory", "MB", 1600.0, 300.0, "python-calamine", max_value=1500)
    rows = Figure("order rows read", "rows", 199, 200, "python-calamine", equal=True)
    gone = Figure("read time", "s", None, 1.0, "python-calamine", max_ratio=10, note="reader missing")
    assert (t.ratio, t.met) == (3.0, True)
    assert slow.met is False and mem.met is False and rows.met is False and gone.met is False
    assert Figure("x", "s", 1.0, 2.0).met is None
    out = io.StringIO()
    print_table([t, mem, gone], title="demo", out=out)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "demo" and lines[1].split() == ["figure", "ours", "baseline", "ratio", "floor", "met"]
    assert "3.00 s" in lines[2] and "1.00 s (python-calamine)" in lines[2] and "3.00×" in lines[2]
    assert lines[2].rstrip().endswith("yes") and lines[3].rstrip().endswith("no")
    assert "missing" in lines[4] and "reader missing" in text
    data = json.loads(to_json([t, gone], rows=5))
    assert data["rows"] == 5 and data["figures"][0]["met"] is True and data["figures"][1]["ours"] is None
    assert data["environment"]["cpus"] >= 1


def _our_reader_exists() -> bool:
    return (ROOT / "xl_addin/adapters/workbook/reader.py").exists() and (
        ROOT / "xl_addin/adapters/workbook/books.py").exists()


def test_tiny_read_benchmark_prints_both_figures():
    run = subprocess.run([PY, str(ROOT / "bench/bench_read.py"), "--rows", "200"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "200 generated orders" in out
    for figure in ("read time", "peak memory", "order rows read"):
        assert figure in out
    assert out.count("(python-calamine)") == 3
    if _our_reader_exists():
        rows_line = next(line for line in out.splitlines() if line.startswith("order rows read"))
        assert rows_line.split()[3:5] == ["200", "200"]
        assert "missing" not in out
    else:
        assert "our reader is not available yet" in out


def test_tiny_read_benchmark_json(tmp_path):
    wb = tmp_path / "orders.xlsx"
    gen = subprocess.run([PY, str(ROOT / "bench/generate.py"), "250", str(wb), "--seed", "3",
                          "--title", "订单确认单"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert gen.returncode == 0, gen.stderr
    assert "wrote 250 orders" in gen.stdout and wb.exists()
    run = subprocess.run([PY, str(ROOT / "bench/bench_read.py"), "--file", str(wb), "--json"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    figures = {f["name"]: f for f in data["figures"]}
    assert figures["order rows read"]["baseline"] == 250  # the title row is not an order
    assert figures["read time"]["baseline"] > 0 and figures["peak memory"]["baseline"] > 10
    if _our_reader_exists():
        assert figures["order rows read"]["ours"] == 250 and figures["order rows read"]["met"] is True
