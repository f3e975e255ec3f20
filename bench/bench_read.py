"""Read a 100,000-row order workbook with our adapter vs python-calamine reading the same file.

``python bench/bench_read.py [--rows 100000] [--file F.xlsx] [--repeat N] [--json]``

Each reader runs in its own fresh process (time and peak memory per step).
Our reader does more than calamine's (finds columns by header, hidden rows,
merged cells, formulas without cached values), so the floor is a ratio to
calamine, not parity: within 10× its time, and under 1.5 GB, as issue 3 sets
for the whole check. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Figure, Measurement, measure, print_table, to_json  # noqa: E402

SHEET = "订单确认单"
HEADER_FIRST_CELL = "订单编号"
TIME_RATIO_FLOOR = 10.0
MEMORY_FLOOR_MB = 1500.0


def read_with_calamine(path: str) -> int:
    """Baseline: python-calamine reads every cell of the order sheet; returns the number of order rows."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    rows = wb.get_sheet_by_name(SHEET).to_python()
    header = next((i for i, row in enumerate(rows[:10]) if row and row[0] == HEADER_FIRST_CELL), 0)
    return sum(1 for row in rows[header + 1:] if any(v not in ("", None) for v in row))


def read_with_ours(path: str) -> int:
    """Our workbook adapter reads the order sheet into records; returns the number of order rows."""
    reader, schema = load_our_reader()
    table = reader(path, schema)
    rows = getattr(table, "rows", table)
    return len(rows) if hasattr(rows, "__len__") else sum(1 for _ in rows)


def load_our_reader():
    """(read_sheet, the Order Confirmation sheet schema); ImportError/AttributeError when not there yet."""
    reader = importlib.import_module("xl_addin.adapters.workbook.reader").read_sheet
    books = importlib.import_module("xl_addin.adapters.workbook.books")
    return reader, books.ORDERS.sheets[0]


def our_reader_missing() -> str | None:
    """Why our reader cannot be measured, or None when it can."""
    try:
        load_our_reader()
    except (ImportError, AttributeError, IndexError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def best_of(repeat: int, fn, *args) -> Measurement:
    """Fastest of ``repeat`` runs (each in a fresh process), with the highest peak seen."""
    runs = [measure(fn, *args) for _ in range(max(1, repeat))]
    fastest = min(runs, key=lambda m: m.seconds)
    return Measurement(fastest.seconds, max(m.peak_rss_mb for m in runs), fastest.result)


def run(rows: int, *, seed: int = 7, file: Path | None = None, repeat: int = 1,
        workdir: Path | None = None) -> tuple[list[Figure], dict]:
    """Measure both readers on one workbook; the figures and what was measured."""
    meta: dict = {"benchmark": "read order workbook", "repeat": repeat}
    if file is None:
        from bench.generate import generate_workbook

        file = Path(workdir or tempfile.mkdtemp(prefix="xl-bench-")) / f"orders-{rows}.xlsx"
        started = time.perf_counter()
        generate_workbook(rows, file, seed=seed)
        meta.update(generated_rows=rows, seed=seed, generate_seconds=round(time.perf_counter() - started, 2))
    meta.update(file=str(file), file_mb=round(file.stat().st_size / 2**20, 2))

    base = best_of(repeat, read_with_calamine, str(file))
    missing = our_reader_missing()
    ours = None if missing else best_of(repeat, read_with_ours, str(file))
    note = f"our reader is not available yet ({missing}); only the baseline was measured" if missing else ""
    if missing:
        meta["missing"] = missing
    figures = [
        Figure("read time", "s", ours and ours.seconds, base.seconds, "python-calamine",
               max_ratio=TIME_RATIO_FLOOR, note=note),
        Figure("peak memory", "MB", ours and ours.peak_rss_mb, base.peak_rss_mb, "python-calamine",
               max_value=MEMORY_FLOOR_MB),
        Figure("order rows read", "rows", ours and ours.result, base.result, "python-calamine", equal=True),
    ]
    return figures, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="orders in the generated workbook (default 100000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--file", type=Path, default=None, help="measure this workbook instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs per reader; the fastest counts")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xl-bench-") as tmp:
        figures, meta = run(args.rows, seed=args.seed, file=args.file, repeat=args.repeat, workdir=Path(tmp))
    if args.json:
        print(to_json(figures, **meta))
    else:
        what = f"{meta['file']}" if args.file else f"{args.rows:,} generated orders (seed {args.seed})"
        print_table(figures, title=f"Reading an order workbook: {what}, {meta['file_mb']} MB")
        if "generate_seconds" in meta:
            print(f"  (generating the workbook took {meta['generate_seconds']} s; not part of any figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
