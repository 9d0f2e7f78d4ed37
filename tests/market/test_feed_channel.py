"""The channel feed against the simulator: ticker and trade data relayed to the bus."""

from __future__ import annotations

from collections.abc import Callable

import trio
from structlog.testing import capture_logs

from actors import Bus, ChildCrashed, ChildRestarted, ChildSpec, SupervisorSpec
from actors.testing import open_harness
from arbitrade.kraken import TickerMessage, TradeMessage
from arbitrade.market.feeds import (
    TOPIC_MARKET_CHANNEL,
    ChannelFeed,
    FeedStatistics,
    GetFeedStatistics,
)
from arbitrade.market.wiring import FEED_BACKOFF
from arbitrade.sim import RunningSimulator
from tests.market.conftest import SYMBOLS, Recorder, eventually, market_settings

TICKER_PATH = "root/market/feed.ticker"
TRADE_PATH = "root/market/feed.trade"


def channel_tree(url: str, *channels: str) -> SupervisorSpec:
    """``root/market/feed.<channel>`` for each channel, and no book feed (one connection each)."""
    settings = market_settings(channels=channels)
    feeds = [
        ChildSpec(
            f"feed.{channel}",
            factory=ChannelFeed,
            args=(url, settings, channel),
            backoff=FEED_BACKOFF,
        )
        for channel in channels
    ]
    return SupervisorSpec("root", [SupervisorSpec("market", feeds)])


class TestChannelFeed:
    async def test_feed_when_subscribed_relays_ticker_and_trade_messages(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Ticker snapshots and trades of the configured symbols reach the channel topic."""
        async with open_harness() as harness:
            relayed = record(harness.bus, TOPIC_MARKET_CHANNEL)
            await harness.start_tree(channel_tree(sim.ws_public_url, "ticker", "trade"))

            tickers: set[str] = set()
            with trio.fail_after(10):
                while tickers != set(SYMBOLS):
                    message = await relayed.expect(TickerMessage, lambda m: m.type == "snapshot")
                    tickers.update(t.symbol for t in message.tickers)
            trades = await relayed.expect(TradeMessage, lambda m: m.type == "update")
            assert {t.symbol for t in trades.trades} <= set(SYMBOLS)
            statistics = await harness.registry.lookup(TRADE_PATH).ask(GetFeedStatistics())
            assert isinstance(statistics, FeedStatistics)
            assert statistics.frames > 0

    async def test_feed_when_channel_quiet_relays_no_heartbeats(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Only channel data goes on the topic: heartbeats and status stay in the feed."""
        async with open_harness() as harness:
            relayed = record(harness.bus, TOPIC_MARKET_CHANNEL)
            await harness.start_tree(channel_tree(sim.ws_public_url, "ticker", "trade"))
            await relayed.expect(TradeMessage)
            sim.simulator.set_faults(stalled_channels=["ticker", "trade"])
            await trio.sleep(0.5)  # heartbeats every 0.2 s while nothing else flows
            assert {type(m) for m in relayed.history} <= {TickerMessage, TradeMessage}

    async def test_feed_when_connection_dropped_restarts_and_relays_again(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A channel feed recovers from a drop like the book feed: crash, restart, resubscribe."""
        async with open_harness() as harness:
            relayed = record(harness.bus, TOPIC_MARKET_CHANNEL)
            await harness.start_tree(channel_tree(sim.ws_public_url, "ticker"))
            await relayed.expect(TickerMessage)
            sim.simulator.drop_connections()
            crashed = await harness.expect_event(
                ChildCrashed, lambda e: e.path == TICKER_PATH, within=10.0
            )
            assert crashed.error_message == "ticker feed: connection dropped"
            await harness.expect_event(ChildRestarted, lambda e: e.path == TICKER_PATH, within=10.0)
            relayed.skip()
            await relayed.expect(TickerMessage, lambda m: m.type == "snapshot")

    async def test_feed_when_frames_are_garbage_logs_and_counts_them(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A garbage frame on a channel feed is logged and counted, not relayed or fatal."""
        async with open_harness() as harness:
            relayed = record(harness.bus, TOPIC_MARKET_CHANNEL)
            await harness.start_tree(channel_tree(sim.ws_public_url, "trade"))
            await relayed.expect(TradeMessage)
            with capture_logs() as logs:
                sim.simulator.set_faults(garbage_frames=2)

                async def two_logged() -> bool:  # logged after they were counted
                    return sum(e["event"] == "feed.bad_frame" for e in logs) >= 2

                await eventually(two_logged)
            statistics = await harness.registry.lookup(TRADE_PATH).ask(GetFeedStatistics())
            assert isinstance(statistics, FeedStatistics)
            assert statistics.decode_errors == 2
            assert statistics.relayed >= 1
            bad = [e for e in logs if e["event"] == "feed.bad_frame"]
            assert [e["channel"] for e in bad] == ["trade", "trade"]
            relayed.skip()
            await relayed.expect(TradeMessage)
