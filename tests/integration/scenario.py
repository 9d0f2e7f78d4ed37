"""The scenario both end-to-end tests trade: a six-pair universe and a seeded simulator.

Two triangles through USD (BTC/USD, ETH/USD, ETH/BTC; and the same through USDT), so the
graph also finds cycles the gate must refuse (USDT and BTC homes, USDT the paper venue does
not hold). Mispricings open often (one every second or so across the universe) so cycles are
traded within seconds rather than minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import attrs

from arbitrade.components import Components, load_components
from arbitrade.config import Mode, Settings
from arbitrade.sim import MarketSettings, SimConfig

SEED: Final = 20_240_607
SYMBOLS: Final = ("BTC/USD", "ETH/USD", "ETH/BTC", "USDT/USD", "BTC/USDT", "ETH/USDT")


def sim_config(*, port: int = 0, start_time: float | None = None) -> SimConfig:
    """The seeded simulator: the small universe, frequent mispricings, no stat-arb drift."""
    market = MarketSettings(
        mispricing_rate=0.08,
        mispricing_min_ticks=10,
        mispricing_max_ticks=30,
        mean_reverting=(),
    )
    if start_time is not None:
        market = attrs.evolve(market, start_time=start_time)
    return SimConfig(seed=SEED, port=port, symbols=SYMBOLS, market=market)


def components() -> Components:
    """The repository's component settings; the feeds held to the scenario's pairs, a short
    cool-down."""
    loaded = load_components()
    market = attrs.evolve(loaded.market, symbols=SYMBOLS)
    # a broken cycle cools its pairs down; 30 s would stall a six-pair test for its whole run
    risk = attrs.evolve(loaded.risk, cooldown_seconds=1.0)
    return attrs.evolve(loaded, market=market, risk=risk)


def settings(database: Path) -> Settings:
    """Sim mode, a temporary database, the dashboard on a free port."""
    return Settings(mode=Mode.SIM, duckdb_path=database, app_port=0, sim_seed=SEED)
