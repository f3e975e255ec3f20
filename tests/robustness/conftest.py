"""The robustness suite's figures, printed as one table at the end of the run (recorded in docs/reliability.md)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    from tests.robustness.helpers import FIGURES

    if not FIGURES:
        return
    terminalreporter.section("robustness figures")
    terminalreporter.write_line(f"{'suite':<50} {'tried':>6} {'survived':>8} {'lost':>5} {'corrupted':>9} {'tracebacks':>10}")
    for suite, tried, survived, lost, corrupted, tracebacks in FIGURES:
        terminalreporter.write_line(f"{suite:<50} {tried:>6} {survived:>8} {lost:>5} {corrupted:>9} {tracebacks:>10}")
