"""Mean-reverting pairs: the simulated spread has the configured half-life and is cointegrated.

One market run is shared by the module's tests (a few thousand ticks of a four-pair market with
thin books), so the statistics are computed once and the tests stay fast.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from statsmodels.tsa.stattools import coint

from arbitrade.sim import MarketModel, MarketSettings, MeanRevertingPair, build_universe
from arbitrade.strategy.stat_arb import RollingOls, RollingZScore, load_stat_arb_settings

ROOT = Path(__file__).parents[2]

SYMBOLS = ("BTC/USD", "ETH/USD", "SOL/USD", "DOGE/USD")
LINK = MeanRevertingPair("ETH/USD", "BTC/USD", beta=1.2, half_life_ticks=20.0, sigma=0.004)
TICKS = 6000
MAX_LAG = 4
"""ADF lags the AIC chooses among: statsmodels' default (~33 at 6000 points) takes seconds."""


def thin_market(links: tuple[MeanRevertingPair, ...] = (LINK,), seed: int = 11) -> MarketModel:
    """A four-pair market with ten levels a side and no random mispricings."""
    settings = MarketSettings(
        mispricing_rate=0.0, levels_per_side=10, deep_levels_per_side=10, mean_reverting=links
    )
    return MarketModel(build_universe(only=SYMBOLS), seed=seed, settings=settings)


def log_prices(model: MarketModel, ticks: int) -> NDArray[np.float64]:
    """Log fair prices of :data:`SYMBOLS`, one row per tick."""
    rows = []
    for _ in range(ticks):
        model.step()
        rows.append([math.log(model.fair_price(symbol)) for symbol in SYMBOLS])
    return np.array(rows)


def column(prices: NDArray[np.float64], symbol: str) -> NDArray[np.float64]:
    return prices[:, SYMBOLS.index(symbol)]


def estimated_half_life(spread: NDArray[np.float64]) -> float:
    """Regress the spread's change on its previous level (with an intercept): -ln 2 / ln(1 + b)."""
    lagged, change = spread[:-1], np.diff(spread)
    design = np.column_stack([np.ones_like(lagged), lagged])
    slope = float(np.linalg.lstsq(design, change, rcond=None)[0][1])
    return -math.log(2) / math.log1p(slope)


@pytest.fixture(scope="module")
def prices() -> NDArray[np.float64]:
    return log_prices(thin_market(), TICKS)


class TestSpread:
    def test_half_life_when_estimated_over_many_ticks_is_the_configured_one(
        self, prices: NDArray[np.float64]
    ) -> None:
        """Regressing the spread's change on its level gives the half-life within 20 %."""
        spread = column(prices, "ETH/USD") - LINK.beta * column(prices, "BTC/USD")
        assert estimated_half_life(spread) == pytest.approx(LINK.half_life_ticks, rel=0.2)

    def test_spread_when_steady_swings_about_sigma(self, prices: NDArray[np.float64]) -> None:
        """The spread's standard deviation is the configured sigma, within 20 %."""
        spread = column(prices, "ETH/USD") - LINK.beta * column(prices, "BTC/USD")
        assert float(spread.std()) == pytest.approx(LINK.sigma, rel=0.2)

    def test_spread_when_read_from_the_model_matches_the_log_prices(self) -> None:
        """``MarketModel.spread`` is log ETH/USD - beta log BTC/USD, less its value at tick 0."""
        model = thin_market()
        start = math.log(model.fair_price("ETH/USD")) - 1.2 * math.log(model.fair_price("BTC/USD"))
        model.run(50)
        now = math.log(model.fair_price("ETH/USD")) - 1.2 * math.log(model.fair_price("BTC/USD"))
        assert model.spread("ETH/USD", "BTC/USD") == pytest.approx(now - start, abs=1e-12)


class TestCointegration:
    def test_engle_granger_when_pair_is_linked_rejects_no_cointegration(
        self, prices: NDArray[np.float64]
    ) -> None:
        """statsmodels' coint gives the linked pair a p-value far under 1 %."""
        _, p_value, _ = coint(column(prices, "ETH/USD"), column(prices, "BTC/USD"), maxlag=MAX_LAG)
        assert p_value < 0.01

    def test_engle_granger_when_pair_is_two_random_walks_does_not_reject(
        self, prices: NDArray[np.float64]
    ) -> None:
        """Two unlinked coins (correlated through the market, not cointegrated) keep p > 5 %."""
        _, p_value, _ = coint(column(prices, "SOL/USD"), column(prices, "DOGE/USD"), maxlag=MAX_LAG)
        assert p_value > 0.05


class TestDeterminism:
    def test_linked_market_when_run_twice_with_same_seed_gives_same_prices(self) -> None:
        """Same seed: the same spreads and prices, tick after tick."""
        first = log_prices(thin_market(), 200)
        second = log_prices(thin_market(), 200)
        assert np.array_equal(first, second)


class TestStatArbDefaults:
    def test_default_pair_when_watched_with_default_settings_signals_entries_within_minutes(
        self,
    ) -> None:
        """config/stat_arb.toml's statistics on the default market reach entry_z several times
        in ten simulated minutes (so ``arbitrade run`` with stat-arb on trades within minutes)."""
        settings = load_stat_arb_settings(config_dir=ROOT / "config", environ={})
        spec = settings.pairs[0]
        market = MarketSettings(mispricing_rate=0.0, levels_per_side=10, deep_levels_per_side=10)
        model = MarketModel(build_universe(only=(spec.x, spec.y)), seed=7, settings=market)
        every = round(settings.sample_interval_seconds / market.tick_seconds)
        hedge, zscore = RollingOls(settings.window), RollingZScore(settings.zscore_window)
        entries, flat = 0, True
        for observation in range(1, round(600 / settings.sample_interval_seconds) + 1):
            model.run(every)
            log_x = math.log(model.fair_price(spec.x))
            log_y = math.log(model.fair_price(spec.y))
            estimate = hedge.update(log_x, log_y)
            z = None if estimate is None else zscore.update(estimate.spread(log_x, log_y))
            if z is None or observation < settings.window:
                continue
            if flat and settings.entry_z <= abs(z) < settings.stop_z:
                entries, flat = entries + 1, False
            elif not flat and abs(z) <= settings.exit_z:
                flat = True
        assert entries >= 3
