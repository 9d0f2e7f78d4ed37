"""The shipped stat-arb defaults pay their fees on the simulator's default pair.

Uses :mod:`tests.strategy.stat_arb_economics` (the pair model on the market model's books,
taker fills at the touch): deterministic for a seed, and fast enough for the suite.
"""

from __future__ import annotations

from decimal import Decimal

from arbitrade.sim import MeanRevertingPair
from tests.strategy.stat_arb_economics import simulate

SECONDS = 900.0


class TestDefaultsOnTheSimulator:
    def test_defaults_when_run_fifteen_minutes_trade_within_five_and_net_a_profit(self) -> None:
        """config/stat_arb.toml on the default simulator enters within five minutes and its
        round trips make more than their four taker fees."""
        result = simulate(SECONDS, seed=7)
        assert result.first_entry_seconds is not None
        assert result.first_entry_seconds <= 300
        assert result.round_trips >= 3
        assert result.fees > 0
        assert result.net > 0

    def test_narrow_slow_spread_when_traded_loses_to_fees(self) -> None:
        """The former default link (0.4 % swings, 30 s half-life) cannot pay four taker fees."""
        narrow = MeanRevertingPair("ETH/USD", "BTC/USD", beta=1.2, half_life_ticks=300, sigma=0.004)
        result = simulate(SECONDS, seed=7, link=narrow)
        assert result.round_trips >= 1
        assert result.net < Decimal(0)
