"""Give the C heap's free pages back to the operating system now and then (glibc only).

Why (issue 13, ADR 17): over the 30-minute fault soak the bot's RSS crept up by about
20 MB an hour while the memory in use did not. Sampled every 20 s, glibc's heap held a flat
31 MB in use while its free space grew from 3 MB to 10 MB in five minutes; Python's own
object arenas stayed flat. Blocks Python hands to ``malloc`` (anything over 512 bytes:
frames, decoded snapshots, log lines, rendered pages) come and go in every size, and glibc
gives memory back only from the top of a heap, so freed holes in the middle stay resident.
``malloc_trim(0)`` also releases every whole free page inside the heaps (``MADV_DONTNEED``),
which is what RSS counts; nothing in use moves.

:class:`HeapTrimmer` calls it every :data:`TRIM_EVERY_SECONDS` in a worker thread (ctypes
releases the GIL for the call, so the Trio loop keeps running; allocations in other threads
may wait on an arena lock for the call's few milliseconds). Where the C library has no
``malloc_trim`` (musl, macOS) it does nothing and says so once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections.abc import Callable
from typing import Any, Final

import attrs
import structlog
import trio

TRIM_EVERY_SECONDS: Final = 60.0
"""How often the running bot trims its heap."""

log = structlog.get_logger(__name__)


def _libc(function: str, *argtypes: type[ctypes._SimpleCData[Any]]) -> Any | None:
    """``function`` of the C library with its argument types set (returning int), or None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        found = getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None
    found.argtypes = list(argtypes)
    found.restype = ctypes.c_int
    return found


def _find_malloc_trim() -> Callable[[int], int] | None:
    trim: Callable[[int], int] | None = _libc("malloc_trim", ctypes.c_size_t)
    return trim


M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
M_ARENA_MAX: Final = -8
MMAP_THRESHOLD_BYTES: Final = 128 * 1024
"""Blocks this large or larger get pages of their own, given back when freed. glibc's default
starts here but moves up to 32 MB each time such a block is freed, after which big transient
buffers (a reconnect's snapshot frames) land inside the heap and leave holes there."""
ARENAS: Final = 2
"""glibc arenas at most (default: 8 per core): the bot's threads are few (the DuckDB writer,
``to_thread`` workers); more arenas only hold more free space."""


def fix_malloc() -> bool:
    """Pin glibc's mmap threshold (which also stops its trim threshold moving) and cap its
    arenas (see ADR 17); call before threads start. False where there is no ``mallopt``."""
    mallopt = _libc("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            (M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_BYTES),
            (M_ARENA_MAX, ARENAS),
        )
    )


def resident_bytes() -> int:
    """This process's resident set size (Linux ``/proc/self/statm``; 0 where absent)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@attrs.frozen
class Trim:
    """One call: RSS before and after, and how long it took."""

    before: int
    after: int
    seconds: float

    @property
    def released(self) -> int:
        """Bytes RSS fell by (0 if it rose meanwhile)."""
        return max(0, self.before - self.after)


class HeapTrimmer:
    """Trims the C heap on a timer (see the module docstring); counts what it gave back.

    Args:
        trim: the C function (glibc's ``malloc_trim`` when None; found at construction).
        rss: reads the process's RSS in bytes.
    """

    def __init__(
        self,
        trim: Callable[[int], int] | None = None,
        rss: Callable[[], int] = resident_bytes,
    ) -> None:
        self._trim = trim if trim is not None else _find_malloc_trim()
        self._rss = rss
        self.calls = 0
        self.released = 0
        """Bytes of RSS given back over all calls."""
        self.slowest = 0.0

    @property
    def available(self) -> bool:
        """True when the C library has ``malloc_trim``."""
        return self._trim is not None

    def trim(self) -> Trim | None:
        """Trim once, now (blocking); None when unavailable."""
        if self._trim is None:
            return None
        before = self._rss()
        start = time.perf_counter()
        self._trim(0)
        result = Trim(before, self._rss(), time.perf_counter() - start)
        self.calls += 1
        self.released += result.released
        self.slowest = max(self.slowest, result.seconds)
        return result

    async def run(self, every: float = TRIM_EVERY_SECONDS) -> None:
        """Trim every ``every`` seconds in a worker thread until cancelled."""
        if self._trim is None:
            log.info("heap.trim_unavailable", reason="the C library has no malloc_trim")
            return
        while True:
            await trio.sleep(every)
            result = await trio.to_thread.run_sync(self.trim)
            if result is not None:
                log.debug(
                    "heap.trimmed",
                    released_mb=round(result.released / 1e6, 1),
                    rss_mb=round(result.after / 1e6, 1),
                    ms=round(result.seconds * 1000, 2),
                )
