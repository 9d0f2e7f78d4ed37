"""The book feed on recorded-style frames (ReplayTransport, virtual clock): deterministic
checks of what the simulator tests show over a real socket, and of instrument updates."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import trio

from actors import Bus, ChildSpec, Lossless, SupervisorSpec
from actors.testing import open_harness
from arbitrade.kraken import ReplayTransport
from arbitrade.market.feeds import (
    BookFeed,
    FeedStatistics,
    GetFeedStatistics,
    GetMarketState,
    MarketState,
)
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_INSTRUMENTS,
    BookHealth,
    BookStateChanged,
    BookTop,
    InstrumentsLoaded,
)
from tests.market.conftest import (
    BookFrames,
    Recorder,
    eventually,
    instrument_frame,
    market_settings,
    pair_entry,
)

PAIRS = [pair_entry("BTC/USD", 1, 8), pair_entry("ETH/USD", 2, 8), pair_entry("ETH/BTC", 5, 8)]
SETTINGS = market_settings(symbols=("BTC/USD", "ETH/USD", "ETH/BTC"), heartbeat_timeout=10.0)


def feed_tree(transport: ReplayTransport) -> SupervisorSpec:
    feed = ChildSpec(
        "feed.book",
        factory=BookFeed,
        args=("wss://replay", SETTINGS),
        kwargs={"transport": transport},
    )
    return SupervisorSpec("root", [SupervisorSpec("market", [feed])])


def requests(transport: ReplayTransport) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, channel, symbols) of every subscribe/unsubscribe the feed sent."""
    out = []
    for frame in transport.sent:
        request = orjson.loads(frame)
        params = request.get("params") or {}
        if request["method"] in ("subscribe", "unsubscribe"):
            out.append((request["method"], params["channel"], tuple(params.get("symbol", ()))))
    return out


class TestReplayedFrames:
    async def test_instrument_update_when_one_pair_changes_publishes_the_whole_universe(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """An update names only the changed pairs; the graph must still get every pair."""
        halted = pair_entry("ETH/BTC", 5, 8, status="maintenance")
        transport = ReplayTransport(
            [instrument_frame(PAIRS), instrument_frame([halted], kind="update")]
        )
        async with open_harness() as harness:
            loaded = record(harness.bus, TOPIC_INSTRUMENTS)
            await harness.start_tree(feed_tree(transport))
            first = await loaded.expect(InstrumentsLoaded)
            second = await loaded.expect(InstrumentsLoaded)
        assert [i.symbol for i in first.instruments] == ["BTC/USD", "ETH/USD", "ETH/BTC"]
        statuses = {i.symbol: i.status for i in second.instruments}
        assert statuses == {"BTC/USD": "online", "ETH/USD": "online", "ETH/BTC": "maintenance"}

    async def test_checksum_mismatch_when_replayed_resubscribes_that_book_and_drops_its_updates(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """RESYNCING, an unsubscribe and subscribe of that symbol, updates dropped until the
        fresh snapshot, then LIVE again; the other books are untouched."""
        eth = BookFrames("ETH/USD", 2, 8)
        btc = BookFrames("BTC/USD", 1, 8)
        frames = [
            instrument_frame(PAIRS),
            eth.frame([("3000.00", "1")], [("3001.00", "1")], snapshot=True),
            btc.frame([("50000.0", "1")], [("50001.0", "1")], snapshot=True),
            eth.frame([("3000.50", "2")], [], checksum=12345),  # corrupt
            eth.frame([("3000.60", "2")], []),  # on an untrusted book: dropped
            btc.frame([("50000.5", "2")], []),
        ]
        transport = ReplayTransport(frames)
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            await harness.start_tree(feed_tree(transport))
            for health in (BookHealth.LIVE, BookHealth.RESYNCING):
                state = await states.expect(BookStateChanged, lambda s: s.symbol == "ETH/USD")
                assert state.health is health

            async def resubscribed() -> bool:
                return ("subscribe", "book", ("ETH/USD",)) in requests(transport)

            await eventually(resubscribed)
            # the fresh snapshot answers the resubscription
            transport.extend([eth.frame([("2999.00", "1")], [("3002.00", "1")], snapshot=True)])
            state = await states.expect(BookStateChanged, lambda s: s.symbol == "ETH/USD")
            assert state.health is BookHealth.LIVE
            await trio.sleep(1.0)
            statistics = await harness.registry.lookup("root/market/feed.book").ask(
                GetFeedStatistics()
            )
        assert isinstance(statistics, FeedStatistics)
        assert statistics.mismatches == 1
        # The first frames are ready at once, so they are one batch: the tops that go out are
        # each book's last good one; the updates on the untrusted ETH/USD book never do.
        eth_tops = [t for t in tops.history if isinstance(t, BookTop) and t.symbol == "ETH/USD"]
        assert [(t.bids[0][0], t.sequence) for t in eth_tops][-1] == (299900, 0)
        assert all(t.bids[0][0] not in (300050, 300060) for t in eth_tops)
        btc_tops = [t for t in tops.history if t.symbol == "BTC/USD"]
        assert btc_tops[-1].sequence == 1
        assert requests(transport)[-2:] == [
            ("unsubscribe", "book", ("ETH/USD",)),
            ("subscribe", "book", ("ETH/USD",)),
        ]

    async def test_stop_when_a_book_state_subscriber_is_full_still_announces_every_book(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A stopping feed waits (briefly) for room: a full lossless subscriber must not
        keep the graph from hearing that the books are no longer current."""
        books = [BookFrames(p["symbol"], p["price_precision"], 8) for p in PAIRS]
        frames = [instrument_frame(PAIRS)]
        frames += [b.frame([("1.00", "1")], [("2.00", "1")], snapshot=True) for b in books]
        async with open_harness() as harness, trio.open_nursery() as nursery:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            await harness.start_tree(feed_tree(ReplayTransport(frames)))
            for _ in PAIRS:
                await states.expect(BookStateChanged, lambda s: s.health is BookHealth.LIVE)
            slow = harness.bus.subscribe(TOPIC_BOOK_STATE, Lossless(1))
            await harness.bus.publish(TOPIC_BOOK_STATE, "fills the slow subscriber")

            async def drain_later() -> None:
                await trio.sleep(0.1)
                async for _ in slow:
                    pass

            nursery.start_soon(drain_later)
            await harness.crash("root/market/feed.book")
            stopped = set()
            for _ in PAIRS:
                state = await states.expect(BookStateChanged, lambda s: s.reason == "feed stopped")
                stopped.add(state.symbol)
            assert stopped == {p["symbol"] for p in PAIRS}
            slow.close()

    async def test_market_state_when_asked_holds_universe_and_only_live_books(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """What a restarted graph catches up from: the universe and the live books' tops."""
        eth = BookFrames("ETH/USD", 2, 8)
        btc = BookFrames("BTC/USD", 1, 8)
        frames = [
            instrument_frame(PAIRS),
            eth.frame([("3000.00", "1")], [("3001.00", "1")], snapshot=True),
            btc.frame([("50000.0", "1")], [("50001.0", "1")], snapshot=True),
            btc.frame([("50000.5", "2")], []),
            eth.frame([("3000.50", "2")], [], checksum=12345),  # corrupt: ETH/USD resyncs
        ]
        async with open_harness() as harness:
            await harness.start_tree(feed_tree(ReplayTransport(frames)))
            feed = harness.registry.lookup("root/market/feed.book")
            await trio.sleep(1.0)
            state = await feed.ask(GetMarketState())
        assert isinstance(state, MarketState)
        assert state.instruments is not None
        assert {i.symbol for i in state.instruments.instruments} == {p["symbol"] for p in PAIRS}
        assert [(t.symbol, t.sequence, t.bids[0]) for t in state.tops] == [
            ("BTC/USD", 1, (500005, 200000000))
        ]
