"""The cointegration screen: Engle-Granger p-value and half-life on known series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arbitrade.strategy.stat_arb import ScreenRequest, half_life, screen_pair

from .stat_builders import cointegrated_prices


def test_half_life_when_ar1_with_known_coefficient_matches_log2_over_slope() -> None:
    """An AR(1) spread with phi has Δs ≈ (phi - 1) s, so half-life ≈ -ln 2 / (phi - 1)."""
    rng = np.random.default_rng(3)
    phi, spread = 0.9, np.zeros(20_000)
    for t in range(1, spread.size):
        spread[t] = phi * spread[t - 1] + rng.normal()
    assert half_life(spread) == pytest.approx(-math.log(2) / (phi - 1), rel=0.05)


def test_half_life_when_spread_diverges_is_infinite() -> None:
    """A spread whose change grows with its level (slope > 0) never halves."""
    assert half_life(1.05 ** np.arange(50, dtype=np.float64)) == math.inf


def test_screen_pair_when_cointegrated_passes_and_random_walks_fail() -> None:
    """A mean-reverting pair passes (small p, half-life in range); independent walks do not."""
    eth, btc = cointegrated_prices(400, half_life=8.0)
    times = tuple(float(t) for t in range(400))
    good = ScreenRequest(
        "A~B", tuple(math.log(p) for p in eth), tuple(math.log(p) for p in btc), times
    )
    rng = np.random.default_rng(11)
    walk_y = tuple(float(v) for v in 8 + np.cumsum(rng.normal(0, 0.01, 400)))
    walk_x = tuple(float(v) for v in 10 + np.cumsum(rng.normal(0, 0.01, 400)))
    bad = ScreenRequest("C~D", walk_y, walk_x, times)
    bounds = {"max_p_value": 0.05, "min_half_life_seconds": 2.0, "max_half_life_seconds": 60.0}
    passed = screen_pair(good, at=1.0, **bounds)
    failed = screen_pair(bad, at=1.0, **bounds)
    assert passed.passed
    assert 2.0 <= passed.half_life_seconds <= 20.0
    assert not failed.passed
    assert failed.p_value > 0.05
