"""Feed failures against the simulator: each recovers, and the restart log says what happened.

A lost connection (heartbeat or drop) crashes the book feed with ``FeedDisconnected``; its
supervisor restarts it with backoff and every book comes back from a fresh snapshot. A
checksum mismatch resyncs only that book, without a crash, while the other books keep
flowing. Garbage and truncated frames are logged and counted.
"""

from __future__ import annotations

from collections.abc import Callable

import trio
from structlog.testing import capture_logs

from actors import Bus, ChildCrashed, ChildRestarted
from actors.testing import Harness, open_harness
from arbitrade.market.feeds import FeedStatistics, GetFeedStatistics
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_FEED_STATE,
    BookHealth,
    BookStateChanged,
    BookTop,
    FeedStateChanged,
)
from arbitrade.sim import RunningSimulator
from arbitrade.strategy.triangular import GetGraphStatistics
from tests.market.conftest import FEED_PATH, SYMBOLS, Recorder, eventually, market_tree

GRAPH_PATH = "root/market/pair_graph"


async def all_live(states: Recorder, within: float = 10.0) -> None:
    """Consume book states until every symbol has gone live (again)."""
    live: set[str] = set()
    with trio.fail_after(within):
        while live != set(SYMBOLS):
            state = await states.expect(BookStateChanged, lambda s: s.health is BookHealth.LIVE)
            live.add(state.symbol)


async def feed_statistics(harness: Harness) -> FeedStatistics:
    statistics = await harness.registry.lookup(FEED_PATH).ask(GetFeedStatistics(), timeout=2.0)
    assert isinstance(statistics, FeedStatistics)
    return statistics


def feed_crashes(harness: Harness) -> list[ChildCrashed]:
    return [e for e in harness.restart_log if isinstance(e, ChildCrashed) and e.path == FEED_PATH]


class TestConnectionLoss:
    async def test_feed_when_heartbeat_lost_crashes_restarts_and_books_go_live(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Silence past the heartbeat timeout: FeedDisconnected, a restart, fresh snapshots."""
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            feed_states = record(harness.bus, TOPIC_FEED_STATE)
            await harness.start_tree(market_tree(sim.ws_public_url))
            await all_live(states)

            # Nothing flows, and the watchdog's ping is answered too late (0.6 s timeout).
            sim.simulator.set_faults(stalled_channels=["book", "heartbeat"], ack_delay_seconds=2.0)
            crashed = await harness.expect_event(
                ChildCrashed, lambda e: e.path == FEED_PATH, within=10.0
            )
            sim.simulator.set_faults(stalled_channels=[], ack_delay_seconds=0.0)

            assert crashed.error_type == "FeedDisconnected"
            assert crashed.error_message == "book feed: heartbeat lost"
            await feed_states.expect(
                FeedStateChanged,
                lambda m: (m.state, m.reason) == ("disconnected", "heartbeat lost"),
            )
            resyncing = await states.expect(BookStateChanged)
            assert (resyncing.health, resyncing.reason) == (BookHealth.RESYNCING, "feed stopped")
            await harness.expect_event(ChildRestarted, lambda e: e.path == FEED_PATH, within=10.0)
            await all_live(states)

    async def test_feed_when_connection_dropped_crashes_restarts_and_books_go_live(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """The server closes the socket: FeedDisconnected, a restart, fresh snapshots."""
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            await harness.start_tree(market_tree(sim.ws_public_url))
            await all_live(states)

            sim.simulator.drop_connections()
            crashed = await harness.expect_event(
                ChildCrashed, lambda e: e.path == FEED_PATH, within=10.0
            )
            assert crashed.error_type == "FeedDisconnected"
            assert crashed.error_message == "book feed: connection dropped"
            restarted = await harness.expect_event(
                ChildRestarted, lambda e: e.path == FEED_PATH, within=10.0
            )
            assert restarted.backoff > 0
            await all_live(states)
            assert len(feed_crashes(harness)) == 1

    async def test_feed_when_connection_drops_during_subscription_reports_the_drop(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A request cut short by a drop is not the cause: the restart log names the drop."""
        async with open_harness() as harness:
            feed_states = record(harness.bus, TOPIC_FEED_STATE)
            states = record(harness.bus, TOPIC_BOOK_STATE)
            sim.simulator.set_faults(ack_delay_seconds=0.5)  # the instrument request waits
            await harness.start_tree(market_tree(sim.ws_public_url))
            await feed_states.expect(FeedStateChanged, lambda m: m.state == "connected")

            sim.simulator.drop_connections()
            crashed = await harness.expect_event(
                ChildCrashed, lambda e: e.path == FEED_PATH, within=10.0
            )
            sim.simulator.set_faults(ack_delay_seconds=0.0)
            assert crashed.error_message == "book feed: connection dropped"
            await harness.expect_event(ChildRestarted, lambda e: e.path == FEED_PATH, within=10.0)
            await all_live(states)


class TestChecksumMismatch:
    async def test_feed_when_checksum_wrong_resyncs_that_book_without_crashing(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """The book goes RESYNCING (checksum_ok False), then LIVE on its fresh snapshot."""
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            await harness.start_tree(market_tree(sim.ws_public_url))
            await all_live(states)

            with capture_logs() as logs:
                sim.simulator.set_faults(corrupt_checksums=1)
                resyncing = await states.expect(BookStateChanged)
                assert resyncing.health is BookHealth.RESYNCING
                assert resyncing.reason == "checksum mismatch"
                assert not resyncing.checksum_ok
                live = await states.expect(BookStateChanged)
            assert (live.symbol, live.health) == (resyncing.symbol, BookHealth.LIVE)
            assert (await feed_statistics(harness)).mismatches == 1
            assert not feed_crashes(harness)
            mismatches = [e for e in logs if e["event"] == "feed.checksum_mismatch"]
            assert [e["symbol"] for e in mismatches] == [resyncing.symbol]

    async def test_other_books_when_one_resyncs_keep_flowing_to_the_graph(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """While one book resyncs, the others' tops keep reaching the pair graph."""
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(market_tree(sim.ws_public_url))
            await all_live(states)
            graph = harness.registry.lookup(GRAPH_PATH)

            # Slow acknowledgements stretch the resync (unsubscribe, subscribe) to about 1.5 s.
            sim.simulator.set_faults(corrupt_checksums=1, ack_delay_seconds=0.75)
            resyncing = await states.expect(BookStateChanged)
            assert resyncing.health is BookHealth.RESYNCING
            mark = len(tops.history)
            before = await graph.ask(GetGraphStatistics())
            await trio.sleep(0.4)
            during = await graph.ask(GetGraphStatistics())
            live = await states.expect(BookStateChanged, within=10.0)
            sim.simulator.set_faults(ack_delay_seconds=0.0)

            assert (live.symbol, live.health) == (resyncing.symbol, BookHealth.LIVE)
            between = [t for t in tops.since(mark) if t.received_at < live.at]
            symbol = resyncing.symbol
            assert {t.symbol for t in between} >= set(SYMBOLS) - {symbol}
            assert all(t.symbol != symbol for t in between)
            assert during.suspended_books == 1
            assert during.updates > before.updates
            await tops.expect(BookTop, lambda t: t.symbol == symbol and t.sequence == 0)


class TestBadFrames:
    async def test_feed_when_frames_are_garbage_or_truncated_logs_counts_and_goes_on(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Undecodable frames are logged and counted; the feed keeps publishing tops."""
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(market_tree(sim.ws_public_url))
            await all_live(states)

            with capture_logs() as logs:
                sim.simulator.set_faults(garbage_frames=3, truncated_frames=3)

                async def six_logged() -> bool:  # logged after they were counted
                    return sum(e["event"] == "feed.bad_frame" for e in logs) >= 6

                await eventually(six_logged)
            assert (await feed_statistics(harness)).decode_errors >= 6
            tops.skip()
            for symbol in ("BTC/USD", "ETH/USD"):
                await tops.expect(BookTop, lambda t, s=symbol: t.symbol == s)  # type: ignore[misc]

            bad = [e for e in logs if e["event"] == "feed.bad_frame"]
            assert {(e["log_level"], e["channel"]) for e in bad} == {("warning", "book")}
            assert not feed_crashes(harness)
