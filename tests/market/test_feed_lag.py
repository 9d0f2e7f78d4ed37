"""A feed that reads behind the exchange knows it and says so; a backlog is taken in batches.

The book feed on ``ReplayTransport`` frames, on a virtual clock: a frame stamped further behind
than the freshest so far by more than ``max_lag`` makes every book ``STALE`` and audits
``feed.lagging``; fresh ones audit ``feed.caught_up`` and make the books ``LIVE`` with their
tops. The wall clock's own offset (a machine a year off, a replay of old frames) is not lag.
Frames ready together are one batch: each is applied and checksum-verified, and each book's
last top goes out once. The lag reading and its settings are also tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import orjson
import pytest
import trio

from actors import Bus, ChildSpec, SupervisorSpec
from actors.testing import Harness, open_harness
from arbitrade.kraken import ReplayTransport
from arbitrade.market import MarketSettings
from arbitrade.market._lag import REBASE_AFTER, LagChange, LagMonitor, exchange_time
from arbitrade.market.feeds import (
    BookFeed,
    FeedLag,
    FeedStatistics,
    GetFeedLag,
    GetFeedStatistics,
    GetMarketState,
)
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    AuditEvent,
    BookHealth,
    BookStateChanged,
    BookTop,
)
from tests.market.conftest import (
    BookFrames,
    Recorder,
    instrument_frame,
    market_settings,
    pair_entry,
)

PAIRS = [pair_entry("BTC/USD", 1, 8), pair_entry("ETH/USD", 2, 8)]
SETTINGS = market_settings(symbols=("BTC/USD", "ETH/USD"), heartbeat_timeout=10.0)
FEED = "root/market/feed.book"
STAMP0 = "2024-05-01T10:00:00.000000Z"
WALL0 = 1_714_557_600.0
"""Unix time of ``STAMP0``."""


def stamp(seconds: float) -> str:
    """The exchange stamp ``seconds`` after ``STAMP0`` (microseconds, as Kraken writes)."""
    whole, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    minutes, secs = divmod(whole, 60)
    return f"2024-05-01T10:{minutes:02d}:{secs:02d}.{micros:06d}Z"


class WallClock:
    """A wall clock the test sets (Unix seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed_tree(
    transport: ReplayTransport,
    wall: Callable[[], float] | None,
    settings: MarketSettings = SETTINGS,
) -> SupervisorSpec:
    feed = ChildSpec(
        "feed.book",
        factory=BookFeed,
        args=("wss://replay", settings),
        kwargs={"transport": transport, "wall_clock": wall},
    )
    return SupervisorSpec("root", [SupervisorSpec("market", [feed])])


def snapshots(at: float) -> tuple[BookFrames, BookFrames, list[str]]:
    btc = BookFrames("BTC/USD", 1, 8)
    eth = BookFrames("ETH/USD", 2, 8)
    frames = [
        instrument_frame(PAIRS),
        btc.frame([("50000.0", "1")], [("50001.0", "1")], snapshot=True, timestamp=stamp(at)),
        eth.frame([("3000.00", "1")], [("3001.00", "1")], snapshot=True, timestamp=stamp(at)),
    ]
    return btc, eth, frames


async def statistics(harness: Harness) -> FeedLag:
    """The feed's lag and batches."""
    answer = await harness.registry.lookup(FEED).ask(GetFeedLag())
    assert isinstance(answer, FeedLag)
    return answer


async def counters(harness: Harness) -> FeedStatistics:
    """The feed's counters (frames applied, mismatches, tops published)."""
    answer = await harness.registry.lookup(FEED).ask(GetFeedStatistics())
    assert isinstance(answer, FeedStatistics)
    return answer


async def fall_behind(
    tops: Recorder, transport: ReplayTransport, btc: BookFrames, audits: Recorder
) -> AuditEvent:
    """Once the snapshots' tops are out, replay a frame stamped as old as they are, 5 s
    later on the virtual clock: it is read 5 s behind."""
    await tops.expect(BookTop)
    await tops.expect(BookTop)
    await trio.sleep(5.0)
    transport.extend([btc.frame([("50000.4", "1")], [], timestamp=stamp(0.0))])
    return await audits.expect(AuditEvent, lambda e: e.kind == "feed.lagging")


def detail(event: AuditEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(event.detail)
    return parsed


class TestLagDetection:
    async def test_lag_when_stamps_fall_behind_max_lag_marks_books_stale_and_audits_lagging(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A frame read seconds after frames stamped as late as it (max 2 s): every book
        STALE, one ``feed.lagging`` with the lag, and the statistics say so."""
        btc, _, frames = snapshots(0.0)
        transport = ReplayTransport(frames)
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            audits = record(harness.bus, TOPIC_AUDIT)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(transport, WallClock(WALL0)))
            lagging = await fall_behind(tops, transport, btc, audits)
            stale = set()
            for _ in PAIRS:
                state = await states.expect(
                    BookStateChanged, lambda s: s.health is BookHealth.STALE
                )
                stale.add(state.symbol)
            stats = await statistics(harness)
        assert stale == {"BTC/USD", "ETH/USD"}
        assert lagging.subject == "book"
        assert detail(lagging)["lag_seconds"] == pytest.approx(5.0, abs=0.1)
        assert stats.lagging
        assert stats.lag_episodes == 1
        assert stats.lag == pytest.approx(detail(lagging)["lag_seconds"], abs=0.001)
        assert stats.clock_offset == pytest.approx(0.0, abs=0.01)

    async def test_lag_when_frames_are_fresh_stays_quiet(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Stamps as fresh as the first, on a wall clock a year off: books go live, no lag
        audit, not lagging; the offset is reported, not taken for lag."""
        btc, _, frames = snapshots(0.0)
        frames.append(btc.frame([("50000.5", "2")], [], timestamp=stamp(0.3)))
        year = 365 * 86400.0
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            audits = record(harness.bus, TOPIC_AUDIT)
            await harness.start_tree(feed_tree(ReplayTransport(frames), WallClock(WALL0 + year)))
            await tops.expect(BookTop)
            await trio.sleep(1.0)
            stats = await statistics(harness)
        assert not [e for e in audits.history if e.kind.startswith("feed.lag")]
        assert not stats.lagging
        assert stats.lag == pytest.approx(0.0, abs=0.01)
        assert stats.clock_offset == pytest.approx(year - 0.3, abs=0.01)

    async def test_lag_when_stamps_catch_up_audits_caught_up_and_republishes_live_tops(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Behind, then a fresh frame: ``feed.caught_up`` with how long it lagged, every book
        LIVE again with its current top (the frames read while lagging applied)."""
        btc, _, frames = snapshots(0.0)
        transport = ReplayTransport(frames)
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            audits = record(harness.bus, TOPIC_AUDIT)
            await harness.start_tree(feed_tree(transport, WallClock(WALL0)))
            lagging = await fall_behind(tops, transport, btc, audits)
            held = tops.skip()
            await trio.sleep(1.0)
            # stamped well after the virtual clock moved on: fresh
            transport.extend([btc.frame([("50000.5", "2")], [], timestamp=stamp(900.0))])
            caught_up = await audits.expect(AuditEvent, lambda e: e.kind == "feed.caught_up")
            live = set()
            for _ in PAIRS:
                state = await states.expect(
                    BookStateChanged,
                    lambda s: s.health is BookHealth.LIVE and s.reason == "caught up",
                )
                live.add(state.symbol)
            for _ in PAIRS:
                await tops.expect(BookTop)
            stats = await statistics(harness)
        assert live == {"BTC/USD", "ETH/USD"}
        assert detail(caught_up)["lag_seconds"] == pytest.approx(0.0, abs=0.01)
        assert detail(caught_up)["worst_lag_seconds"] >= detail(lagging)["lag_seconds"]
        assert detail(caught_up)["lagged_seconds"] > 0
        after = {t.symbol: t for t in tops.since(held)}
        assert after["BTC/USD"].bids[0] == (500005, 200000000)
        assert not stats.lagging
        assert stats.lag_episodes == 1

    async def test_tops_when_lagging_are_held_while_every_frame_is_still_verified(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A lagging feed publishes no top and answers no stale top to a catching-up
        consumer, yet a corrupt frame is still caught (RESYNCING, counted)."""
        btc, eth, frames = snapshots(0.0)
        transport = ReplayTransport(frames)
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            audits = record(harness.bus, TOPIC_AUDIT)
            await harness.start_tree(feed_tree(transport, WallClock(WALL0)))
            await fall_behind(tops, transport, btc, audits)
            held = tops.skip()
            transport.extend(
                [
                    btc.frame([("50000.5", "2")], [], timestamp=stamp(0.5)),
                    eth.frame([("3000.50", "2")], [], checksum=12345, timestamp=stamp(0.6)),
                ]
            )
            resyncing = await states.expect(
                BookStateChanged, lambda s: s.health is BookHealth.RESYNCING
            )
            state = await harness.registry.lookup(FEED).ask(GetMarketState())
            stats = await statistics(harness)
            counted = await counters(harness)
        assert resyncing.symbol == "ETH/USD"
        assert tops.since(held) == []
        assert state.tops == ()  # type: ignore[attr-defined]
        assert counted.mismatches == 1
        assert counted.book_messages == 5
        assert stats.lagging

    async def test_lag_when_feed_has_no_wall_clock_is_not_measured(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Without a wall clock (a replay on a clock of its own) old stamps are not lag."""
        _, _, frames = snapshots(0.0)
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(ReplayTransport(frames), None))
            await tops.expect(BookTop)
            stats = await statistics(harness)
        assert not stats.lagging
        assert stats.lag == 0.0
        assert stats.lag_episodes == 0


class TestBatches:
    async def test_batch_when_frames_are_ready_together_publishes_each_books_last_top_once(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Six frames ready at once: every one applied, one top per book, the latest."""
        btc, eth, frames = snapshots(0.0)
        frames += [
            btc.frame([(f"50000.{i}", "2")], [], timestamp=stamp(0.1 * i)) for i in range(1, 4)
        ]
        frames += [eth.frame([("3000.50", "3")], [], timestamp=stamp(0.5))]
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(ReplayTransport(frames), WallClock(WALL0 + 0.5)))
            await tops.expect(BookTop)
            await trio.sleep(1.0)
            stats = await statistics(harness)
            counted = await counters(harness)
        by_symbol = {t.symbol: t for t in tops.history}
        assert len(tops.history) == 2
        assert by_symbol["BTC/USD"].bids[0] == (500003, 200000000)
        assert by_symbol["BTC/USD"].sequence == 3
        assert by_symbol["ETH/USD"].bids[0] == (300050, 300000000)
        assert counted.book_messages == 6
        assert counted.tops_published == 2
        assert stats.conflated == 4
        assert stats.largest_batch >= 6

    async def test_batch_when_one_frame_fails_its_checksum_catches_it_and_drops_that_top(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A corrupt frame in the middle of a batch is caught though a good frame follows it;
        the other book's top still goes out."""
        btc, eth, frames = snapshots(0.0)
        frames += [
            eth.frame([("3000.50", "2")], [], checksum=12345),
            btc.frame([("50000.5", "2")], []),
        ]
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(ReplayTransport(frames), WallClock(WALL0)))
            resyncing = await states.expect(
                BookStateChanged, lambda s: s.health is BookHealth.RESYNCING
            )
            await trio.sleep(1.0)
            counted = await counters(harness)
        assert resyncing.symbol == "ETH/USD"
        assert [t.symbol for t in tops.history] == ["BTC/USD"]
        assert counted.mismatches == 1

    async def test_batch_when_conflation_is_off_publishes_one_top_per_frame(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """``conflate=False``: every applied frame's top goes out, in order."""
        btc, _, frames = snapshots(0.0)
        frames += [btc.frame([(f"50000.{i}", "2")], []) for i in range(1, 4)]
        settings = attrs.evolve(SETTINGS, conflate=False)
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(ReplayTransport(frames), None, settings))
            await tops.expect(BookTop)
            await trio.sleep(1.0)
            stats = await statistics(harness)
        btc_tops = [t.sequence for t in tops.history if t.symbol == "BTC/USD"]
        assert btc_tops == [0, 1, 2, 3]
        assert stats.conflated == 0
        assert stats.largest_batch == 1


class TestLagMonitor:
    def monitor(self, wall: WallClock, mono: WallClock | None = None) -> LagMonitor:
        clock = mono or WallClock(0.0)
        return LagMonitor(wall, max_lag=2.0, caught_up_lag=0.5, now=clock)

    def test_observe_when_lag_crosses_thresholds_starts_and_ends_once_each(self) -> None:
        """Started past max_lag, nothing while between the thresholds, ended at or below
        caught_up_lag (no flapping around max_lag)."""
        monitor = self.monitor(WallClock(WALL0 + 60.0))
        assert monitor.observe(stamp(60.0)) is LagChange.NONE
        changes = [
            monitor.observe(stamp(60.0 - behind)) for behind in (2.5, 1.9, 2.1, 0.6, 0.5, 2.1)
        ]
        assert changes == [
            LagChange.STARTED,
            LagChange.NONE,
            LagChange.NONE,
            LagChange.NONE,
            LagChange.ENDED,
            LagChange.STARTED,
        ]
        assert monitor.episodes == 2
        assert monitor.worst == pytest.approx(2.1)

    def test_observe_when_wall_clock_steps_after_the_first_frame_reads_trio_time(self) -> None:
        """The wall clock is read once; after that Trio's clock advances it (an NTP step or
        a virtual clock's run does not read as lag)."""
        wall, mono = WallClock(WALL0), WallClock(0.0)
        monitor = self.monitor(wall, mono)
        monitor.observe(stamp(0.0))
        wall.now += 3600.0
        mono.now = 3.0
        assert monitor.observe(stamp(0.0)) is LagChange.STARTED
        assert monitor.lag == pytest.approx(3.0)

    def test_observe_when_lag_has_no_backlog_for_a_while_takes_it_for_the_exchange_clock(
        self,
    ) -> None:
        """Stamps behind while every read finds nothing more waiting: after REBASE_AFTER
        seconds the floor moves up and the episode ends (the exchange's clock is behind)."""
        mono = WallClock(0.0)
        monitor = self.monitor(WallClock(WALL0), mono)
        monitor.observe(stamp(0.0))
        mono.now = 3.0
        assert monitor.observe(stamp(0.0), backlog=False) is LagChange.STARTED
        changes = []
        for second in range(4, 4 + int(REBASE_AFTER) + 1):
            mono.now = float(second)
            changes.append(monitor.observe(stamp(second - 3.0), backlog=False))
        assert changes[-1] is LagChange.ENDED
        assert set(changes[:-1]) == {LagChange.NONE}
        assert monitor.rebased == 1
        mono.now += 1.0
        assert monitor.observe(stamp(mono.now - 3.0)) is LagChange.NONE

    def test_observe_when_lag_has_a_backlog_keeps_lagging(self) -> None:
        """Reading behind, the feed finds frames waiting: the lag is ours, however long."""
        mono = WallClock(0.0)
        monitor = self.monitor(WallClock(WALL0), mono)
        monitor.observe(stamp(0.0))
        for second in range(3, 30):
            mono.now = float(second)
            monitor.observe(stamp(0.0), backlog=True)
        assert monitor.lagging
        assert monitor.rebased == 0

    def test_observe_when_a_ping_waits_past_max_lag_lags_without_any_stamp(self) -> None:
        """A pong queues behind the backlog wherever it is: an unanswered ping older than
        max_lag is lag on our clock alone; its answer ends the episode."""
        mono = WallClock(0.0)
        monitor = self.monitor(WallClock(WALL0), mono)
        token = monitor.ping_sent()
        mono.now = 1.0
        assert monitor.observe(None) is LagChange.NONE
        mono.now = 2.5
        assert monitor.observe(None) is LagChange.STARTED
        assert monitor.pipe_lag == pytest.approx(2.5)
        monitor.ping_answered(token)
        assert monitor.observe(None) is LagChange.ENDED

    def test_observe_when_pings_are_slow_never_blames_the_exchange_clock(self) -> None:
        """Stamps behind, nothing ready to read, but a ping waiting: the backlog is on the
        exchange's side, so the floor stays where it is."""
        mono = WallClock(0.0)
        monitor = self.monitor(WallClock(WALL0), mono)
        monitor.observe(stamp(0.0))
        monitor.ping_sent()
        for second in range(3, 20):
            mono.now = float(second)
            monitor.observe(stamp(0.0), backlog=False)
        assert monitor.lagging
        assert monitor.rebased == 0

    def test_observe_when_stamp_does_not_parse_changes_nothing(self) -> None:
        """A bad stamp is informational: no change, no error, lag kept."""
        monitor = self.monitor(WallClock(WALL0 + 9.0))
        monitor.observe(STAMP0)
        assert monitor.observe("yesterday") is LagChange.NONE
        assert monitor.lag == 0.0
        assert not monitor.lagging

    def test_exchange_time_when_stamp_has_nine_digits_reads_it(self) -> None:
        """Kraken writes some stamps with nanoseconds; they read to the microsecond."""
        assert exchange_time("2024-05-01T10:00:01.250000999Z") == pytest.approx(WALL0 + 1.25)

    def test_settings_when_caught_up_lag_is_not_below_max_lag_names_the_field(self) -> None:
        """A caught-up threshold at or above the lagging one could never end an episode."""
        with pytest.raises(ValueError, match="caught_up_lag"):
            MarketSettings(max_lag=1.0, caught_up_lag=1.0)
