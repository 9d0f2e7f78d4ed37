"""Fixtures for the simulator's tests: small markets, a running server, signed REST calls."""

from __future__ import annotations

import attrs
import pytest
import trio

from arbitrade.sim import MarketSettings, RunningSimulator, SimConfig, Simulator, serve_simulator

SMALL_SYMBOLS = (
    "BTC/USD", "ETH/USD", "ETH/BTC", "SOL/USD", "SOL/BTC", "SOL/ETH", "DOGE/USD",
    "USDT/USD", "KSM/EUR", "KSM/USD", "EUR/USD", "QTUM/EUR",
)  # fmt: skip


def small_config(**changes: object) -> SimConfig:
    """A small, fast market: a dozen pairs, 20 ms ticks, no random mispricings, deep books."""
    # 200 kept levels: the depth-100 stream test subscribes ordinary pairs (DOGE/USD, SOL/ETH).
    market = MarketSettings(
        tick_seconds=0.02, mispricing_rate=0.0, deep_levels_per_side=300, kept_levels_per_side=200
    )
    config = SimConfig(symbols=SMALL_SYMBOLS, market=market)
    return attrs.evolve(config, **changes)  # type: ignore[arg-type]


@pytest.fixture
def simulator() -> Simulator:
    """A small simulator without a network, on a frozen clock, that only moves when stepped."""
    return Simulator(small_config(ticking=False), clock=lambda: 1_700_000_000.0)


@pytest.fixture
async def running(nursery: trio.Nursery) -> RunningSimulator:
    """A small simulator served on a free loopback port, ticking every 20 ms."""
    result: RunningSimulator = await nursery.start(serve_simulator, small_config())
    return result
