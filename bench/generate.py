"""Write a benchmark order workbook: ``python bench/generate.py N OUT.xlsx [--seed S]``.

The rows are the demo's realistic sample orders (about 5 % deliberately bad),
so a benchmark reads and checks what a real desk would have.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xl_addin.demo.sample_orders import generate_orders, write_orders_xlsx  # noqa: E402


def generate_workbook(rows: int, out: str | Path, *, seed: int = 7, bad_rows: bool = True,
                      title: str | None = None) -> Path:
    """Generate ``rows`` orders and write them to ``out``; returns the path."""
    return write_orders_xlsx(generate_orders(rows, seed, bad_rows=bad_rows), out, title=title)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write N sample orders to an .xlsx order workbook (sheet 订单确认单).")
    ap.add_argument("rows", type=int, help="number of orders")
    ap.add_argument("out", type=Path, help="the .xlsx file to write")
    ap.add_argument("--seed", type=int, default=7, help="random seed (same seed, same file content)")
    ap.add_argument("--no-bad-rows", action="store_true", help="only good rows")
    ap.add_argument("--title", default=None, help="a title row above the header")
    args = ap.parse_args(argv)
    if args.rows < 0:
        ap.error("rows must be >= 0")
    started = time.perf_counter()
    path = generate_workbook(args.rows, args.out, seed=args.seed, bad_rows=not args.no_bad_rows, title=args.title)
    print(f"wrote {args.rows:,} orders to {path} in {time.perf_counter() - started:.1f} s "
          f"({path.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
