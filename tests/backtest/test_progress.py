"""Replay progress: events replayed of total, the recent rate and an ETA that counts down."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from arbitrade.backtest._progress import (
    ProgressMeter,
    ProgressSnapshot,
    format_duration,
    format_progress,
    throttle,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestMeter:
    def test_snapshot_when_two_reports_gives_rate_and_eta(self, clock: FakeClock) -> None:
        """1024 at 1 s, 2048 at 2 s of 10,000: 1024 events/s, (10000-2048)/1024 = 7.77 s left."""
        meter = ProgressMeter(10_000, clock=clock)
        for clock.now, done in ((1.0, 1024), (2.0, 2048)):
            meter.update(done, 10_000)
        snapshot = meter.snapshot()
        assert (snapshot.done, snapshot.total, snapshot.elapsed) == (2048, 10_000, 2.0)
        assert snapshot.rate == 1024.0
        assert snapshot.eta == pytest.approx(7.765625)

    def test_snapshot_when_time_passes_without_report_counts_the_eta_down(
        self, clock: FakeClock
    ) -> None:
        """A second after the last report the ETA is a second shorter; done stays reported."""
        meter = ProgressMeter(10_000, clock=clock)
        clock.now = 2.0
        meter.update(2048, 10_000)
        clock.now = 3.0
        snapshot = meter.snapshot()
        assert snapshot.done == 2048
        assert snapshot.eta == pytest.approx(7.765625 - 1.0)

    def test_snapshot_when_run_slows_measures_rate_over_the_recent_window(
        self, clock: FakeClock
    ) -> None:
        """1000/s for 2 s, then 100/s: with a 10 s window the rate is 100/s, not the
        average since the start (4000 / 22 = 182)."""
        meter = ProgressMeter(100_000, clock=clock, window=10.0)
        for clock.now, done in ((1.0, 1000), (2.0, 2000), (12.0, 3000), (22.0, 4000)):
            meter.update(done, 100_000)
        assert meter.snapshot().rate == pytest.approx(100.0)

    def test_snapshot_when_nothing_reported_has_no_rate_or_eta(self, clock: FakeClock) -> None:
        """Before the first report there is nothing to measure."""
        clock.now = 5.0
        snapshot = ProgressMeter(500, clock=clock).snapshot()
        assert (snapshot.done, snapshot.rate, snapshot.eta) == (0, None, None)

    def test_snapshot_when_done_has_zero_eta(self, clock: FakeClock) -> None:
        """Every event replayed: nothing left."""
        meter = ProgressMeter(500, clock=clock)
        clock.now = 1.0
        meter.update(500, 500)
        assert meter.snapshot().eta == 0.0
        assert meter.snapshot().fraction == 1.0


class TestFormat:
    def test_format_when_known_shows_done_of_total_rate_and_eta(self) -> None:
        """Thousands separated, percent to one place, ETA rounded up to the second."""
        snapshot = ProgressSnapshot(1024, 10_000, 0.5, 2048.0, 4.2)
        assert format_progress(snapshot) == (
            "1,024/10,000 events (10.2%), 2,048 events/s, ETA 0:00:05"
        )

    def test_format_when_unknown_shows_dashes(self) -> None:
        """No rate yet: dashes, not zeros."""
        snapshot = ProgressSnapshot(0, 10, 0.0, None, None)
        assert format_progress(snapshot) == "0/10 events (0.0%), - events/s, ETA -:--:--"

    def test_duration_when_over_an_hour_shows_hours(self) -> None:
        """3725 s is 1:02:05."""
        assert format_duration(3725.0) == "1:02:05"


def test_throttle_when_reports_come_fast_passes_one_per_interval_and_the_last(
    clock: FakeClock,
) -> None:
    """Reports every 0.1 s through a 0.25 s throttle: 0, 0.3, 0.6 pass, and the final one."""
    passed: list[int] = []
    report = throttle(lambda done, total: passed.append(done), 0.25, clock=clock)
    for step in range(8):
        clock.now = step / 10
        report(step, 7)
    assert passed == [0, 3, 6, 7]


def test_cli_progress_when_run_reports_returns_the_runs_result() -> None:
    """The command's bar forwards every report and hands back what the run returned."""
    from arbitrade.cli._backtest import _with_progress

    seen: list[tuple[int, int]] = []

    def run(inputs: object, progress: object) -> str:
        assert callable(progress)
        for done in (1024, 2048, 3000):
            progress(done, 3000)
            seen.append((done, 3000))
        return "report"

    assert _with_progress(SimpleNamespace(frames=[0] * 3000), run) == "report"
    assert seen[-1] == (3000, 3000)
