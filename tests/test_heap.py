"""The heap trimmer (ADR 17): what it counts, how often it runs, and a real glibc call."""

from __future__ import annotations

import ctypes.util
import sys

import pytest
import trio
import trio.testing

from arbitrade.heap import MMAP_THRESHOLD_BYTES, HeapTrimmer, Trim, fix_malloc, resident_bytes


class _FakeHeap:
    """``malloc_trim`` and RSS for the tests: each trim gives back ``give`` bytes."""

    def __init__(self, rss: int, give: int) -> None:
        self.rss = rss
        self.give = give
        self.pads: list[int] = []

    def trim(self, pad: int) -> int:
        self.pads.append(pad)
        self.rss -= self.give
        return 1

    def read(self) -> int:
        return self.rss


def test_trim_when_rss_falls_counts_what_was_given_back() -> None:
    """Each call trims with no padding and adds what RSS fell by."""
    heap = _FakeHeap(rss=200_000_000, give=3_000_000)
    trimmer = HeapTrimmer(trim=heap.trim, rss=heap.read)
    first = trimmer.trim()
    trimmer.trim()
    assert first == Trim(200_000_000, 197_000_000, first.seconds)
    assert heap.pads == [0, 0]
    assert (trimmer.calls, trimmer.released) == (2, 6_000_000)


def test_trim_when_rss_rose_meanwhile_counts_nothing_given_back() -> None:
    """Another thread allocating during the call is not a negative release."""
    heap = _FakeHeap(rss=100, give=-50)
    trimmer = HeapTrimmer(trim=heap.trim, rss=heap.read)
    result = trimmer.trim()
    assert result is not None
    assert result.released == 0
    assert trimmer.released == 0


@pytest.fixture
def patient_clock() -> trio.testing.MockClock:
    """Jumps idle time, but only after 0.1 s of real idleness: the trims' worker thread
    finishes first (pytest-trio runs the test on any clock fixture)."""
    return trio.testing.MockClock(autojump_threshold=0.1)


async def test_run_when_timer_fires_trims_once_per_period(
    patient_clock: trio.testing.MockClock,
) -> None:
    """Every ``every`` seconds, in a worker thread, until cancelled; never at once."""
    heap = _FakeHeap(rss=10_000, give=10)
    trimmer = HeapTrimmer(trim=heap.trim, rss=heap.read)
    with trio.move_on_after(185.0):
        await trimmer.run(every=60.0)
    assert trimmer.calls == 3


async def test_run_when_no_malloc_trim_returns_at_once() -> None:
    """Without the C function (musl, macOS) the task ends and nothing is called."""
    trimmer = HeapTrimmer(trim=None, rss=lambda: 0)
    trimmer._trim = None  # as if the C library had none
    with trio.fail_after(1):
        await trimmer.run(every=0.01)
    assert trimmer.calls == 0
    assert not trimmer.available


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="glibc's malloc_trim",
)
def test_trim_when_glibc_really_trims_and_rss_is_read() -> None:
    """The real call works here and RSS is read from /proc."""
    trimmer = HeapTrimmer()
    assert trimmer.available
    junk = [bytearray(4096) for _ in range(5_000)]  # ~20 MB of heap, then freed
    del junk
    result = trimmer.trim()
    assert result is not None
    assert result.before > 0
    assert result.after > 0
    assert resident_bytes() > 10_000_000


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="glibc's mallopt",
)
def test_fix_malloc_when_glibc_sends_big_blocks_to_their_own_pages() -> None:
    """After it, a freed block over the threshold goes back to the system at once: RSS falls
    by its size (glibc's moving threshold would have kept a second one in the heap)."""
    assert fix_malloc()
    for _ in range(2):  # the second round is what the moving threshold used to keep
        block = bytearray(32 * MMAP_THRESHOLD_BYTES)  # 4 MiB, touched
        with_block = resident_bytes()
        del block
        assert with_block - resident_bytes() > 3_000_000
