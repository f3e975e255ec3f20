"""The check's garbage-collector tuning is undone when the outermost check ends, also after an error."""

from __future__ import annotations

import gc

import pytest

from xl_addin.services.intake.gc_pause import GEN0_THRESHOLD, fewer_collections


def test_thresholds_and_freeze_are_restored_after_nested_calls_and_errors():
    before = gc.get_threshold()
    seen = []

    @fewer_collections
    def inner():
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        raise ValueError("boom")

    @fewer_collections
    def outer():
        with pytest.raises(ValueError):
            inner()
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))  # still tuned: the outer call runs
        return "done"

    assert outer() == "done"
    assert seen == [(max(before[0], GEN0_THRESHOLD), True)] * 2
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
