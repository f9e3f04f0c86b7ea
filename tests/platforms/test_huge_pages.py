"""Weights collapsed onto 2 MiB pages: the contents stay, the kernel reports the huge pages,
and arrays too small to hold one aligned huge page are left alone."""

from __future__ import annotations

import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from platforms.huge_pages import HUGE_PAGE, _ranges, back_with_huge_pages, collapse

pytestmark = [
    pytest.mark.cpu,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux madvise only"),
]


def _huge_kib_at(address: int) -> int:
    """AnonHugePages (KiB) of the mapping holding `address`, from /proc/self/smaps."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "AnonHugePages:":
            return int(line.split()[1])
    return 0


def test_collapses_in_place_and_keeps_the_contents():
    values = np.arange(6 * HUGE_PAGE // 4, dtype=np.float32)  # 12 MiB: several huge pages
    array = jnp.asarray(values) + 0  # a buffer XLA allocated and filled
    ranges = _ranges([array])
    assert len(ranges) == 1 and ranges[0][1] >= 4 * HUGE_PAGE
    start, length = ranges[0]
    assert start % HUGE_PAGE == 0 and length % HUGE_PAGE == 0
    try:
        done = collapse(ranges)
    except OSError as e:  # an older kernel, huge pages disabled, or this range refused
        np.testing.assert_array_equal(np.asarray(array), values)
        pytest.skip(f"the kernel collapsed none of this range: {e.strerror}")
    np.testing.assert_array_equal(np.asarray(array), values)
    if done == 0:  # every chunk ENOMEM/EAGAIN: no 2 MiB page free, even after compaction
        pytest.skip("the kernel had no free huge page to give this process right now")
    assert done <= length
    assert _huge_kib_at(start) >= done // 1024


def test_small_arrays_have_nothing_to_collapse():
    assert _ranges([jnp.ones((1000,))]) == []
    assert back_with_huge_pages([jnp.ones((1000,))]) is None


def test_the_background_job_finishes_and_reports():
    array = jnp.ones((4 * HUGE_PAGE // 4,), jnp.float32) * 2
    job = back_with_huge_pages([array])
    assert job is not None and job.wait(timeout=60)
    # All of it, or less where the kernel had no free huge page for a chunk (ENOMEM/EAGAIN
    # are skipped, not errors), or an error saying the kernel cannot collapse at all.
    assert job.total >= HUGE_PAGE and 0 <= job.done <= job.total
    assert job.error is None or job.done == 0
    assert float(array.sum()) == 2 * array.size
