"""``xl-logistics review`` prints, byte for byte, what it printed before it became ``run(uow, request) -> Report``:
the real CLI on real desks (tests/support/report_scenarios.py), compared with tests/data/cli_outputs/review.json."""

from __future__ import annotations

import pytest

from support.report_scenarios import REVIEW, expected, play

EXPECTED = expected("review")


def test_every_recorded_situation_is_played():
    assert set(EXPECTED) == set(REVIEW)


@pytest.mark.parametrize("name", sorted(REVIEW))
def test_review_prints_what_it_printed(name, tmp_path):
    assert play("review", name, tmp_path / "desk") == EXPECTED[name]
