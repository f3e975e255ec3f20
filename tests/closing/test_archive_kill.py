"""The archive killed (SIGKILL) at several points: no row is ever lost, and after the next run every
row is in exactly one place (the live workbooks or the month's archive)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from support.archive_month import NOV, archived_keys, build_month, live_keys

POINTS = ["after_file:订单确认单", "before_manifest", "after_manifest", "after_verify",
          "during_remove:orders",     # the removal pass is half-way through the order book's sheets
          "before_replace:orders",    # the new order book is complete, not yet in place
          "after_remove:orders", "before_replace:bindings", "after_remove:bindings"]
RUN = ("import sys; from xl_addin.entrypoints import closing_commands; "
       "from xl_addin.entrypoints.cli import main; sys.exit(main(sys.argv[1:]))")
ALL = {"orders": ["A0", "A1", "A2", "B1", "C1"], "followups": ["A0", "A1", "A2", "B1"],
       "bindings": ["A0", "A1", "A2", "B1", "C1"]}


def run_archive(root, kill_at=None):
    env = dict(os.environ)
    env.pop("XL_LOGISTICS_KILL_AT", None)
    if kill_at:
        env["XL_LOGISTICS_KILL_AT"] = f"archive:{kill_at}"  # the archive's points in xl_addin/checkpoints
    return subprocess.run([sys.executable, "-c", RUN, "archive", "--month", "2026-10", "--desk", str(root),
                           "--now", NOV.isoformat()], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_killed_archive_loses_nothing_and_recovers(tmp_path_factory, point):
    base = tmp_path_factory.getbasetemp() / "kill-base"
    if not base.exists():
        build_month(base)
    root = tmp_path_factory.mktemp("kill") / "desk"
    shutil.copytree(base, root)
    from xl_addin.bootstrap import load_desk
    desk = load_desk(root)
    killed = run_archive(root, point)
    assert killed.returncode == -9, killed.stderr
    live, arch = live_keys(desk), archived_keys(desk)
    for kind, expected in ALL.items():      # nothing lost, nothing doubled inside one place
        assert set(live[kind]) | set(arch[kind]) == set(expected), (point, kind)
        assert max(Counter(live[kind]).values(), default=1) == 1 and max(Counter(arch[kind]).values(), default=1) == 1
    done = run_archive(root)
    assert done.returncode == 0, done.stderr
    live, arch = live_keys(desk), archived_keys(desk)
    for kind, expected in ALL.items():      # every row in exactly one place
        assert Counter(live[kind] + arch[kind]) == Counter(expected), (point, kind)
    assert sorted(arch["orders"]) == ["A0", "A1", "A2"]
    assert run_archive(root).returncode == 0 and "已归档过" in run_archive(root).stdout
