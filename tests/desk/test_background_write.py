"""The deflate thread's writer: every byte in order, and a failing write surfaces in the writing thread."""

from __future__ import annotations

import io
import random

import pytest

from xl_addin.adapters.workbook.background_write import BackgroundWriter


def test_bytes_arrive_whole_and_in_order():
    rng = random.Random(5)
    parts = [bytes([rng.randrange(256)]) * rng.randint(0, 5000) for _ in range(2000)]
    out = io.BytesIO()
    with BackgroundWriter(out, piece=64 * 1024, depth=2) as w:
        for p in parts:
            w.write(p)
    assert out.getvalue() == b"".join(parts)


class _Full:
    def __init__(self):
        self.n = 0

    def write(self, data):
        self.n += 1
        if self.n == 3:
            raise OSError(28, "No space left on device")
        return len(data)


def test_a_failed_write_is_raised_to_the_writer():
    w = BackgroundWriter(_Full(), piece=10, depth=1)
    with pytest.raises(OSError, match="No space"):
        for _ in range(1000):
            w.write(b"x" * 20)
        w.close()
    w.abort()  # the thread is gone either way


def test_an_error_in_the_writing_thread_stops_the_worker():
    out = io.BytesIO()
    with pytest.raises(ValueError):
        with BackgroundWriter(out, piece=10) as w:
            w.write(b"a" * 20)
            raise ValueError("patching failed")
    assert not w._thread.is_alive()
