"""Every case of the generated hostile corpus through ``validate`` and ``import``, in-process.

For each run: no traceback (the CLI's "出错了" path is an unexpected error), exit 2 only with a
message naming the file, exit 0/1 leaves every staff cell (value, number format, formula) as it
was and every data row in place, and nothing from the file becomes a formula. The figures are
printed as one table (docs/reliability.md records them). Memory: what the corpus adds to the
process's RSS (its high-water mark is reset when the corpus starts, so memory earlier tests in the same
pytest process allocated does not count) stays under a ceiling far below what the unbounded readers took (2–512 GB).
"""

from __future__ import annotations

import resource
import signal
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from tests.robustness.corpus import corpus
from tests.robustness.helpers import NOW, ORDER_BOOK, make_desk, record
from xl_addin.entrypoints.cli import main

PEAK_GROWTH_MB = 1200  # what the corpus itself adds to the process (alone: about 1,000 MB)
CASE_GUARD_SECONDS = 120  # a hung case fails instead of hanging CI (not a speed assertion)


def _staff_cells(path: Path):
    try:
        wb = openpyxl.load_workbook(path)
    except Exception:
        return None
    out = {}
    for ws in wb.worksheets:
        # the cells really present (iter_rows would walk the whole used range: a far cell at
        # XFD1048576 makes that 17 billion cells)
        for c in ws._cells.values():
            if c.value is not None:
                out[(ws.title, c.row, c.column)] = (c.value, c.number_format)
    return out


def _formula_count(path: Path) -> int:
    n = 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                data = zf.read(name)
                n += data.count(b"<f>") + data.count(b"<f ")
    return n


class _Guard:
    def __enter__(self):
        def boom(*_):
            raise TimeoutError("case took longer than the guard")
        self.old = signal.signal(signal.SIGALRM, boom)
        signal.alarm(CASE_GUARD_SECONDS)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)


def _run(args, capsys):
    with _Guard():
        try:
            code = main(args)
        except SystemExit as exc:  # click's own usage errors
            code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _rss_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> float:
    """The RSS the corpus starts from. On Linux "5" in clear_refs resets the VmHWM high-water mark to it, so
    what earlier tests in this pytest process allocated (and the allocator kept) is not counted again."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _rss_mb("VmRSS") or 0.0
    except OSError:
        return 0.0


def _peak_rss_mb() -> float:
    peak = _rss_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_hostile_corpus_through_validate_and_import(tmp_path, capsys):
    start_mb = _reset_peak_rss()
    cases = corpus()
    assert len(cases) >= 400
    desk = make_desk(tmp_path / "台账")
    files = tmp_path / "in"
    files.mkdir()
    from xl_addin.adapters.workbook.books import ORDERS_SHEET

    owned = {c.label for c in ORDERS_SHEET.columns if c.owner == "product"}
    header = openpyxl.load_workbook(desk / ORDER_BOOK)["订单确认单"][1]
    product_cols = {c.column for c in header if c.value in owned}
    tally: Counter = Counter()
    problems: list[str] = []
    for i, (name, kind, data) in enumerate(cases):
        src = files / f"{i:03d}-{name}.{kind}"
        src.write_bytes(data)
        commands = []
        if kind == "xlsx":
            commands.append(("validate", ["validate", str(src), "--desk", str(desk), "--now", NOW, "--json"]))
        commands.append(("import", ["import", str(src), "--source", f"来源{i % 5}", "--accept-mapping",
                                    "--desk", str(desk), "--now", NOW, "--json"]))
        for cmd, args in commands:
            tally["tried"] += 1
            before = _staff_cells(src) if cmd == "validate" else None
            formulas = _formula_count(src) if before is not None else 0
            book_before = _staff_cells(desk / ORDER_BOOK) if cmd == "import" else None
            code, out, err = _run(args, capsys)
            bad = []
            if "出错了" in err or "Traceback" in err or code not in (0, 1, 2):
                tally["tracebacks"] += 1
                bad.append(f"unexpected error (exit {code}): {err[-300:]}")
            elif code == 2 and str(src) not in err and src.name not in err:
                bad.append(f"exit 2 without the file's name: {err[-200:]}")
            if cmd == "validate" and before is not None and code in (0, 1):
                after = _staff_cells(src)
                if after is None:
                    tally["corrupted"] += 1
                    bad.append("the workbook no longer opens")
                else:
                    changed = [k for k, v in before.items() if after.get(k) != v]
                    if changed:
                        tally["lost"] += 1
                        bad.append(f"staff cells changed: {changed[:3]}")
                    if _formula_count(src) != formulas:
                        bad.append("formula count changed")
            if cmd == "import":
                after = _staff_cells(desk / ORDER_BOOK)
                if after is None:
                    tally["corrupted"] += 1
                    bad.append("the Order Confirmation no longer opens")
                elif book_before is not None:
                    # the product's own columns (问题说明 carries SOURCE_MISMATCH flags) may change
                    gone = [k for k, v in book_before.items() if after.get(k) != v and k[2] not in product_cols]
                    if gone:
                        tally["lost"] += 1
                        bad.append(f"Order Confirmation cells changed: {gone[:3]}")
            if bad:
                problems.append(f"{cmd} {src.name}: " + "; ".join(bad))
            else:
                tally["survived"] += 1
    assert _formula_count(desk / ORDER_BOOK) == 0  # nothing imported became a formula
    peak_mb = _peak_rss_mb()
    grew_mb = peak_mb - start_mb
    with capsys.disabled():
        print(f"\nhostile corpus: {len(cases)} files, tried {tally['tried']} / survived {tally['survived']} / "
              f"lost {tally['lost']} / corrupted {tally['corrupted']} / tracebacks {tally['tracebacks']}; "
              f"peak RSS {peak_mb:.0f} MB (from {start_mb:.0f} MB at the start: +{grew_mb:.0f} MB)")
    record(f"hostile corpus, validate + import ({len(cases)} files)", tally["tried"], tally["survived"],
           tally["lost"], tally["corrupted"], tally["tracebacks"])
    assert not problems, "\n".join(problems[:40])
    assert grew_mb < PEAK_GROWTH_MB
