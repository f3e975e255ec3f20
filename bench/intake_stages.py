"""CPU time of each stage of the per-row intake work, ours beside another checkout's, each in a fresh process.

``python bench/intake_stages.py FILE.xlsx [--code DIR] [--rounds 2]``

The sheet's records are read once (not timed); then address parsing, the phone check, ``check_order``,
the fingerprint, the whole per-row check (``_check_chunk``: checks, fingerprint, decision, row report)
and a worker's whole part (also the product cells) are timed with ``time.process_time``, caches cold,
and a whole ``validate_orders`` on a copy of the file. With ``--code`` the same steps run on that
checkout's ``xl_addin`` (e.g. the code before a change), alternating with ours. It also prints how many
distinct values each field has (real exports repeat values; caches help only where they repeat).
Figures are printed, never asserted (docs/performance.md, "Intake speed, round 4").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _stages(code: str, path: str) -> dict:
    sys.path.insert(0, code)
    import gc
    import shutil
    import tempfile
    import time
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.reader import iter_sheet
    from xl_addin.domain.intake import DuplicateTracker, IntakeRules, check_order
    from xl_addin.domain.intake.address import parse_address
    from xl_addin.domain.intake.phone import read_phone
    from xl_addin.domain.intake.text import cell_text
    from xl_addin.services.intake import validation as v

    schema = ORDERS.sheets[0]
    stream = iter_sheet(Path(path), schema, chunk=20000)
    recs = [r for part in stream.chunks() for r in part]
    columns, _ = v._product_columns(stream, schema)
    stream.close()
    rules = IntakeRules.default()
    now, tz, hour = datetime.fromisoformat("2026-11-27T10:00+08:00"), ZoneInfo("Asia/Shanghai"), timedelta(hours=1)
    vals = [r.values for r in recs]
    check_order(vals[0], rules)  # data and automatons loaded outside the figures

    def clear() -> None:
        from xl_addin.domain.intake import address, goods, phone, quantities, requirements, tags, text
        for module in (address, goods, phone, quantities, requirements, tags, text):
            for obj in vars(module).values():
                if hasattr(obj, "cache_clear"):
                    obj.cache_clear()
        for name in ("_HEADS", "_HEAD_LENGTHS"):  # the division cache, where there is one
            getattr(address, name, {}).clear()

    out: dict = {"rows": len(recs)}

    def cpu(label, fn):
        clear()
        gc.collect()
        started = time.process_time()
        result = fn()
        out[label] = round(time.process_time() - started, 3)
        return result

    cpu("address parsing", lambda: [parse_address(cell_text(x["address"])) for x in vals if x.get("address") is not None])
    cpu("phone check", lambda: [read_phone(x.get("receiver_phone")) for x in vals])
    cpu("check_order", lambda: [check_order(x, rules) for x in vals])
    cpu("fingerprint", lambda: [v.fingerprint(x) for x in vals])
    numbers = [v._text(x.get("order_no")) for x in vals]
    dups = DuplicateTracker()
    found = [dups.check(t) if t else None for t in numbers]
    cpu("_check_chunk", lambda: v._check_chunk(recs, numbers, found, rules, {}, {}, False, path, now, tz, hour))
    shared = v._Shared(rules, now, tz, hour, columns, False, path, None)
    cpu("_check_part", lambda: [v._check_part((recs[i:i + 2000], numbers[i:i + 2000], found[i:i + 2000], {}, {}, {}, {}),
                                              shared) for i in range(0, len(recs), 2000)])
    work = Path(tempfile.mkdtemp(prefix="xl-stages-"))
    copy = work / "orders.xlsx"
    shutil.copyfile(path, copy)
    cpu("validate_orders", lambda: v.validate_orders(copy, now, backup_dir=work / "backups"))
    shutil.rmtree(work, ignore_errors=True)
    out["distinct"] = {k: len({str(x.get(k)) for x in vals}) for k in
                       ("address", "receiver_phone", "receiver", "goods_name", "spec", "special_requirements",
                        "customer", "quantity")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--code", type=Path, default=None, help="the other checkout (its directory holding xl_addin)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--_step", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._step:
        print(json.dumps(_stages(args._step[0], args._step[1])))
        return 0
    sides = [("ours", str(ROOT))] + ([("other", str(args.code.resolve()))] if args.code else [])
    runs: dict[str, list[dict]] = {name: [] for name, _ in sides}
    for _ in range(args.rounds):
        for name, code in sides:  # alternating, each in a fresh interpreter
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            proc = subprocess.run([sys.executable, __file__, str(args.file), "--_step", code, str(args.file.resolve())],
                                  capture_output=True, text=True, check=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["load"] = load
            runs[name].append(result)
    labels = [k for k in runs["ours"][0] if k not in ("rows", "distinct", "load")]
    print(f"CPU seconds per stage, {runs['ours'][0]['rows']:,} rows of {args.file.name}")
    header = ["stage"] + [f"{name} {i + 1}" for i in range(args.rounds) for name, _ in sides]
    print(" | ".join(header))
    for label in labels + ["load"]:
        print(" | ".join([label] + [str(runs[name][i][label]) for i in range(args.rounds) for name, _ in sides]))
    print("distinct values:", ", ".join(f"{k} {n:,}" for k, n in runs["ours"][0]["distinct"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
