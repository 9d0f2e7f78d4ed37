"""The book feed against the simulator: instruments, then books; tops stamped; books live."""

from __future__ import annotations

from collections.abc import Callable

import trio

from actors import Bus
from actors.testing import open_harness
from arbitrade.market.feeds import FeedStatistics, GetFeedStatistics
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_FEED_STATE,
    TOPIC_INSTRUMENTS,
    BookHealth,
    BookStateChanged,
    BookTop,
    FeedStateChanged,
    InstrumentsLoaded,
)
from arbitrade.sim import RunningSimulator
from tests.market.conftest import FEED_PATH, SYMBOLS, Recorder, market_tree


class TestBookFeed:
    async def test_start_when_simulator_serves_loads_instruments_then_books(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Instruments come first, then every configured book is subscribed and goes live."""
        async with open_harness() as harness:
            feed_states = record(harness.bus, TOPIC_FEED_STATE)
            instruments = record(harness.bus, TOPIC_INSTRUMENTS)
            states = record(harness.bus, TOPIC_BOOK_STATE)
            await harness.start_tree(market_tree(sim.ws_public_url))

            loaded = await instruments.expect(InstrumentsLoaded)
            assert set(SYMBOLS) <= {i.symbol for i in loaded.instruments}
            await feed_states.expect(FeedStateChanged, lambda m: m.state == "connected")
            subscribed = await feed_states.expect(
                FeedStateChanged, lambda m: m.state == "subscribed"
            )
            assert subscribed.reason == f"{len(SYMBOLS)} books"
            live = set()
            with trio.fail_after(10):
                while live != set(SYMBOLS):
                    state = await states.expect(BookStateChanged)
                    assert state.health is BookHealth.LIVE
                    live.add(state.symbol)

    async def test_book_change_when_frame_arrives_publishes_top_with_receive_time(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Each top carries its frame's receive time and a sequence from the last snapshot."""
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            started = trio.current_time()
            await harness.start_tree(market_tree(sim.ws_public_url))
            first = await tops.expect(BookTop, lambda t: t.symbol == "BTC/USD")
            later = await tops.expect(BookTop, lambda t: t.symbol == "BTC/USD")
            assert first.sequence == 0
            assert later.sequence >= 1
            assert started < first.received_at <= later.received_at <= trio.current_time()
            assert first.bids
            assert first.asks
            assert first.bids[0][0] < first.asks[0][0]
            statistics = await harness.registry.lookup(FEED_PATH).ask(GetFeedStatistics())
            assert isinstance(statistics, FeedStatistics)
            assert statistics.tops_published >= 2
            assert statistics.mismatches == statistics.decode_errors == 0
