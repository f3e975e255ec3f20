"""``xl-logistics close`` prints, byte for byte, what it printed before it became ``run(uow, request) -> Report``:
the real CLI on real desks (tests/support/report_scenarios.py), compared with tests/data/cli_outputs/close.json."""

from __future__ import annotations

import pytest

from support.report_scenarios import CLOSE, expected, play

EXPECTED = expected("close")


def test_every_recorded_situation_is_played():
    assert set(EXPECTED) == set(CLOSE)


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_close_prints_what_it_printed(name, tmp_path):
    assert play("close", name, tmp_path / "desk") == EXPECTED[name]
