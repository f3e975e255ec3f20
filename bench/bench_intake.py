"""Check 100,000 order rows (read, check every row, write back) vs a calamine read and an openpyxl load+save.

``python bench/bench_intake.py [--rows 100000] [--file F.xlsx] [--skip-openpyxl] [--json]``

Issue 3's floor: our total within 10× the python-calamine read of the same file,
below the time openpyxl takes only to load and save it, and peak memory under
1.5 GB. Each step runs in its own fresh process (bench/harness.py), on its own
copy of the workbook. ``--rows 1000000`` shows the big-sheet case works within
memory (row reports spill to a temporary file above 100,000 rows); openpyxl is
skipped there by default (it would take many minutes). Use ``--file`` with a
workbook from ``bench/generate.py`` to skip the (slow) generation.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Figure, measure, print_table, to_json  # noqa: E402

SHEET = "订单确认单"
TIME_RATIO_FLOOR = 10.0
MEMORY_FLOOR_MB = 1500.0
OPENPYXL_UP_TO = 200_000  # rows; above this openpyxl is skipped unless asked for


def read_with_calamine(path: str) -> int:
    """Baseline: python-calamine reads every cell of the order sheet; returns the number of rows."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    rows = wb.get_sheet_by_name(SHEET).to_python()
    return len(rows)


def load_and_save_with_openpyxl(path: str) -> int:
    """Baseline: openpyxl loads the workbook and saves it again (no checking at all)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    n = wb[SHEET].max_row
    wb.save(path)
    return n


def validate_with_ours(path: str) -> int:
    """Ours: read, check every row, write the product's columns back into the same file."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from xl_addin.services.intake import validate_orders

    now = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    backups = Path(path).parent / "backups"
    report = validate_orders(Path(path), now, backup_dir=backups, progress=_progress)
    if not report.written:
        raise RuntimeError(f"results not written: {report.write_message}")
    return len(report.rows)


_last = [0.0]


def _progress(done: int, total: int) -> None:
    now = time.monotonic()
    if now - _last[0] >= 10 or done == total:
        _last[0] = now
        print(f"    checked {done:,} / {total:,} rows", file=sys.stderr, flush=True)


def _copy(src: Path, workdir: Path, name: str) -> str:
    dst = workdir / f"{name}.xlsx"
    shutil.copyfile(src, dst)
    return str(dst)


def run(rows: int, *, seed: int = 7, file: Path | None = None, workdir: Path,
        openpyxl: bool | None = None) -> tuple[list[Figure], dict]:
    meta: dict = {"benchmark": "validate order workbook"}
    if file is None:
        from bench.generate import generate_workbook

        file = workdir / f"orders-{rows}.xlsx"
        started = time.perf_counter()
        generate_workbook(rows, file, seed=seed)
        meta.update(generated_rows=rows, seed=seed, generate_seconds=round(time.perf_counter() - started, 1))
    meta.update(file=str(file), file_mb=round(file.stat().st_size / 2**20, 2))
    if openpyxl is None:
        openpyxl = rows <= OPENPYXL_UP_TO

    base = measure(read_with_calamine, _copy(file, workdir, "calamine"))
    ours = measure(validate_with_ours, _copy(file, workdir, "ours"))
    opx = measure(load_and_save_with_openpyxl, _copy(file, workdir, "openpyxl")) if openpyxl else None
    figures = [
        Figure("validate total vs calamine read", "s", ours.seconds, base.seconds, "python-calamine read",
               max_ratio=TIME_RATIO_FLOOR),
        Figure("validate total vs openpyxl load+save", "s", ours.seconds, opx.seconds if opx else None,
               "openpyxl load+save", max_ratio=1.0,
               note="" if opx else "openpyxl not measured at this size (--openpyxl to force)"),
        Figure("peak memory", "MB", ours.peak_rss_mb, base.peak_rss_mb, "python-calamine read",
               max_value=MEMORY_FLOOR_MB),
        Figure("rows checked", "rows", ours.result, base.result - 1 if base.result else None,
               "calamine rows under the header", equal=True),
    ]
    if opx:
        meta["openpyxl_peak_rss_mb"] = round(opx.peak_rss_mb)
    return figures, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="orders in the generated workbook (default 100000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--file", type=Path, default=None, help="measure this workbook instead of generating one")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--skip-openpyxl", action="store_true", help="do not measure the openpyxl baseline")
    group.add_argument("--openpyxl", action="store_true", help="measure openpyxl even above 200,000 rows")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    opx = False if args.skip_openpyxl else True if args.openpyxl else None
    with tempfile.TemporaryDirectory(prefix="xl-bench-intake-") as tmp:
        figures, meta = run(args.rows, seed=args.seed, file=args.file, workdir=Path(tmp), openpyxl=opx)
    if args.json:
        print(to_json(figures, **meta))
    else:
        what = meta["file"] if args.file else f"{args.rows:,} generated orders (seed {args.seed})"
        print_table(figures, title=f"Checking an order workbook: {what}, {meta['file_mb']} MB")
        if "generate_seconds" in meta:
            print(f"  (generating the workbook took {meta['generate_seconds']} s; not part of any figure)")
        if "openpyxl_peak_rss_mb" in meta:
            print(f"  (openpyxl load+save peak memory: {meta['openpyxl_peak_rss_mb']} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
