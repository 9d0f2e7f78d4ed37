"""Progress of a replay as a person reads it: events replayed of total, rate and ETA.

A run reports progress as ``(done, total)`` calls at moments of its own choosing (every
block of frames). :class:`ProgressMeter` turns those calls into figures valid at any
moment, so a display refreshed on a timer (the CLI's bar, four times a second) shows an
ETA that counts down between reports and a rate over the recent past rather than since
the start (a replay slows where the market was busy).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import attrs

RATE_WINDOW_SECONDS = 10.0
"""The rate is measured over reports of about this long ago to now."""


@attrs.frozen
class ProgressSnapshot:
    """Progress at one moment."""

    done: int
    """Events replayed (as last reported: never extrapolated)."""
    total: int
    """Events in the run."""
    elapsed: float
    """Seconds since the meter was made."""
    rate: float | None
    """Events per second over the recent window; None before two reports apart in time."""
    eta: float | None
    """Seconds left at ``rate``, counted down since the last report; 0 when done, None
    without a rate."""

    @property
    def fraction(self) -> float:
        """done / total (1.0 for an empty run)."""
        return self.done / self.total if self.total else 1.0


class ProgressMeter:
    """Collects ``(done, total)`` reports; :meth:`snapshot` reads them at the present time.

    Args:
        total: events in the run (a report may correct it).
        clock: seconds, monotonic (``time.monotonic``; tests pass their own).
        window: seconds of reports the rate is measured over.

    Safe to report from one thread and read from another (the CLI's refresh thread): each
    report replaces the state in one step.
    """

    def __init__(
        self,
        total: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: float = RATE_WINDOW_SECONDS,
    ) -> None:
        self._clock = clock
        self._window = window
        self._started = clock()
        self._total = total
        self._reports: collections.deque[tuple[float, int]] = collections.deque(
            [(self._started, 0)]
        )

    def update(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` events are replayed (the run's callback)."""
        now = self._clock()
        self._total = total
        self._reports.append((now, done))
        # keep one report at or before the window's start, so the rate spans the window
        while len(self._reports) > 2 and self._reports[1][0] <= now - self._window:
            self._reports.popleft()

    def snapshot(self) -> ProgressSnapshot:
        """Done, total, rate and ETA now."""
        now = self._clock()
        first_at, first_done = self._reports[0]
        last_at, done = self._reports[-1]
        rate = (done - first_done) / (last_at - first_at) if last_at > first_at else None
        eta: float | None = None
        if done >= self._total:
            eta = 0.0
        elif rate:
            eta = max(0.0, (self._total - done) / rate - (now - last_at))
        return ProgressSnapshot(done, self._total, now - self._started, rate, eta)


def throttle(
    report: Callable[[int, int], None],
    interval: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[int, int], None]:
    """``report`` called at most once per ``interval`` seconds, and always for the last event.

    For runs that report every frame and consumers that pay per call (a pipe to a worker's
    parent, a server-sent event): the first report passes, later ones pass when ``interval``
    has gone by since the last that passed, and ``done == total`` always passes.
    """
    last: float | None = None

    def throttled(done: int, total: int) -> None:
        nonlocal last
        now = clock()
        if done >= total or last is None or now - last >= interval:
            last = now
            report(done, total)

    return throttled


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (``-`` when unknown), rounded up to the second."""
    if seconds is None:
        return "-:--:--"
    whole = int(-(-seconds // 1))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def format_progress(snapshot: ProgressSnapshot) -> str:
    """``1,024/10,000 events (10.2%), 2,048 events/s, ETA 0:00:05``."""
    rate = f"{snapshot.rate:,.0f}" if snapshot.rate is not None else "-"
    return (
        f"{snapshot.done:,}/{snapshot.total:,} events ({snapshot.fraction:.1%}), "
        f"{rate} events/s, ETA {format_duration(snapshot.eta)}"
    )
