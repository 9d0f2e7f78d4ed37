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
import orjson
import pytest
import trio

from actors import Bus, LossyLatest, SupervisorSpec
from arbitrade.graph import GraphSettings, TakerFees
from arbitrade.market import MarketSettings, OrderBook
from arbitrade.market.wiring import market_supervisor
from arbitrade.sim import MarketSettings as SimMarketSettings
from arbitrade.sim import RunningSimulator, SimConfig, serve_simulator

SYMBOLS = ("BTC/USD", "ETH/USD", "ETH/BTC", "SOL/USD", "SOL/BTC")
"""A small universe: two triangles through BTC/USD."""

FEED_PATH = "root/market/feed.book"
GRAPH_PATH = "root/market/pair_graph"
TAKER_FEE = Decimal("0.0026")
FEES = TakerFees.flat(TAKER_FEE)
GRAPH = GraphSettings(home_currencies=("USD",), max_book_age=30.0)


def sim_config(**changes: Any) -> SimConfig:
    """The small universe, ticking every 50 ms, shallow books, no random mispricings.

    A gentle pace: on a loaded machine a faster market outruns the feed (in debug mode), and
    then fresh snapshots queue behind a backlog of updates.
    """
    market = SimMarketSettings(
        tick_seconds=0.05, mispricing_rate=0.0, levels_per_side=30, deep_levels_per_side=30
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
        within: float = 10.0,
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
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, interval: float = 0.05
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


# -- recorded-style frames for ReplayTransport tests (Kraken's v2 shapes) ----------------------


def pair_entry(
    symbol: str, price_precision: int, qty_precision: int, status: str = "online"
) -> dict[str, Any]:
    """One ``instrument`` channel pair."""
    base, quote = symbol.split("/")
    return {
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "status": status,
        "price_precision": price_precision,
        "qty_precision": qty_precision,
        "price_increment": float(f"1e-{price_precision}"),
        "qty_increment": float(f"1e-{qty_precision}"),
        "qty_min": 0.0001,
        "cost_min": 0.00002,
        "marginable": False,
    }


def instrument_frame(pairs: list[dict[str, Any]], kind: str = "snapshot") -> str:
    """An ``instrument`` snapshot or update holding ``pairs`` (and their assets)."""
    assets = sorted({p["base"] for p in pairs} | {p["quote"] for p in pairs})
    data = {
        "assets": [
            {"id": a, "status": "enabled", "precision": 8, "precision_display": 5} for a in assets
        ],
        "pairs": pairs,
    }
    return orjson.dumps({"channel": "instrument", "type": kind, "data": data}).decode()


class BookFrames:
    """``book`` frames of one symbol carrying Kraken's checksum of the book they describe."""

    def __init__(self, symbol: str, price_precision: int, qty_precision: int) -> None:
        self.symbol = symbol
        self.scales = (10**price_precision, 10**qty_precision)
        self.book = OrderBook(
            symbol, price_precision=price_precision, qty_precision=qty_precision, depth=10
        )

    def frame(
        self,
        bids: list[tuple[str, str]],
        asks: list[tuple[str, str]],
        *,
        snapshot: bool = False,
        checksum: int | None = None,
        timestamp: str = "2024-05-01T10:00:00.000000Z",
    ) -> str:
        """A snapshot or update (levels as decimal text); ``checksum`` overrides the true one;
        ``timestamp`` is the exchange's stamp."""
        price_scale, qty_scale = self.scales

        def units(levels: list[tuple[str, str]]) -> list[tuple[int, int]]:
            return [(int(Decimal(p) * price_scale), int(Decimal(q) * qty_scale)) for p, q in levels]

        if snapshot:
            self.book.apply_snapshot(units(bids), units(asks))
        else:
            self.book.apply_update(units(bids), units(asks))
        item = {
            "symbol": self.symbol,
            "bids": [{"price": float(p), "qty": float(q)} for p, q in bids],
            "asks": [{"price": float(p), "qty": float(q)} for p, q in asks],
            "checksum": self.book.checksum() if checksum is None else checksum,
            "timestamp": timestamp,
        }
        kind = "snapshot" if snapshot else "update"
        return orjson.dumps({"channel": "book", "type": kind, "data": [item]}).decode()
