"""Fixtures for the feed and pair-graph actor tests: a small simulator, settings, bus recorders.

Feed tests talk to a real simulator over loopback, so they run on the real clock with short
heartbeats (a virtual clock would jump past timeouts while frames are in flight); the pair-graph
tests feed hand-made book tops to the actor on a virtual clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
import trio

from actors import Bus, LossyLatest, SupervisorSpec
from arbitrade.graph import GraphSettings, TakerFees
from arbitrade.market import MarketSettings
from arbitrade.market.wiring import market_supervisor
from arbitrade.sim import MarketSettings as SimMarketSettings
from arbitrade.sim import RunningSimulator, SimConfig, serve_simulator

SYMBOLS = ("BTC/USD", "ETH/USD", "ETH/BTC", "SOL/USD", "SOL/BTC")
"""A small universe: two triangles through BTC/USD."""

FEED_PATH = "root/market/feed.book"
TAKER_FEE = Decimal("0.0026")
FEES = TakerFees.flat(TAKER_FEE)
GRAPH = GraphSettings(home_currencies=("USD",), max_book_age=30.0)


def sim_config(**changes: Any) -> SimConfig:
    """The small universe, ticking every 20 ms, shallow books, no random mispricings."""
    market = SimMarketSettings(
        tick_seconds=0.02, mispricing_rate=0.0, levels_per_side=30, deep_levels_per_side=30
    )
    config = SimConfig(symbols=SYMBOLS, market=market, heartbeat_seconds=0.2)
    return attrs.evolve(config, **changes)


def market_settings(**changes: Any) -> MarketSettings:
    """Books of the small universe, a 0.6 s heartbeat timeout, no further channels."""
    settings = MarketSettings(symbols=SYMBOLS, heartbeat_timeout=0.6, channels=())
    return attrs.evolve(settings, **changes)


def market_tree(url: str, settings: MarketSettings | None = None) -> SupervisorSpec:
    """``root/market/{pair_graph, feed.book, ...}``, as the application nests it."""
    market = market_supervisor(url, settings or market_settings(), GRAPH, FEES)
    return SupervisorSpec("root", [market])


@pytest.fixture
async def sim(nursery: trio.Nursery) -> RunningSimulator:
    """The small simulator on a free loopback port."""
    running: RunningSimulator = await nursery.start(serve_simulator, sim_config())
    return running


class Recorder:
    """Everything published on one bus topic, in order; ``expect`` consumes up to a match.

    The subscription is lossy with a large capacity, so the recorder never slows a publisher.
    """

    def __init__(self, bus: Bus, topic: str, nursery: trio.Nursery) -> None:
        self.topic = topic
        self.history: list[Any] = []
        self._cursor = 0
        self._changed = trio.Event()
        self._subscription = bus.subscribe(topic, LossyLatest(100_000))
        nursery.start_soon(self._drain)

    async def _drain(self) -> None:
        async for item in self._subscription:
            self.history.append(item)
            self._changed.set()
            self._changed = trio.Event()

    def close(self) -> None:
        self._subscription.close()

    async def expect[T](
        self,
        kind: type[T],
        predicate: Callable[[T], bool] | None = None,
        *,
        within: float = 5.0,
    ) -> T:
        """The next ``kind`` (matching ``predicate``) after the previous match, within
        ``within`` seconds; fails listing the last few items seen instead."""
        with trio.move_on_after(within):
            while True:
                while self._cursor < len(self.history):
                    item = self.history[self._cursor]
                    self._cursor += 1
                    if isinstance(item, kind) and (predicate is None or predicate(item)):
                        return item
                await self._changed.wait()
        seen = self.history[-5:]
        raise AssertionError(
            f"{self.topic}: no {kind.__name__} matching within {within:g}s; last seen {seen!r}"
        )

    def skip(self) -> int:
        """Forget what was recorded so far for ``expect``; return the position now."""
        self._cursor = len(self.history)
        return self._cursor

    def since(self, index: int) -> list[Any]:
        """Items recorded from position ``index`` on."""
        return self.history[index:]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 5.0, interval: float = 0.05
) -> None:
    """Poll ``check`` (e.g. asking an actor for its counters) until it holds.

    Raises:
        AssertionError: it did not hold within ``within`` seconds.
    """
    with trio.move_on_after(within):
        while True:
            if await check():
                return
            await trio.sleep(interval)
    raise AssertionError(f"{getattr(check, '__name__', check)} did not hold within {within:g}s")


@pytest.fixture
def record(nursery: trio.Nursery) -> Callable[[Bus, str], Recorder]:
    """``record(bus, topic)``: a :class:`Recorder` that lives as long as the test."""
    recorders: list[Recorder] = []

    def make(bus: Bus, topic: str) -> Recorder:
        recorder = Recorder(bus, topic, nursery)
        recorders.append(recorder)
        return recorder

    return make
