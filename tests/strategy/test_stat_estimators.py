"""Hedge ratio, spread, z-score and Kalman filter against arithmetic done in the tests."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrade.strategy.stat_arb import KalmanHedge, RollingOls, RollingZScore

ETH = [2000.0, 2010.0, 1995.0, 2030.0, 2025.0, 2050.0]
BTC = [30000.0, 30100.0, 29950.0, 30300.0, 30200.0, 30450.0]


def ols_by_hand(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(ratio, intercept) from the textbook formulas: cov(x, y) / var(x), ȳ - ratio x̄."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var = sum((x - mean_x) ** 2 for x in xs)
    ratio = cov / var
    return ratio, mean_y - ratio * mean_x


class TestRollingOls:
    def test_estimate_when_window_full_matches_hand_computed_fit(self) -> None:
        """The ratio and intercept on log prices equal cov/var over the last window."""
        ols = RollingOls(window=4)
        log_x, log_y = [math.log(p) for p in BTC], [math.log(p) for p in ETH]
        for x, y in zip(log_x, log_y, strict=True):
            estimate = ols.update(x, y)
        ratio, intercept = ols_by_hand(log_x[-4:], log_y[-4:])
        assert estimate is not None
        assert estimate.ratio == pytest.approx(ratio, rel=1e-9)
        assert estimate.intercept == pytest.approx(intercept, rel=1e-9, abs=1e-9)

    def test_spread_when_estimated_is_log_y_minus_fitted_value(self) -> None:
        """The spread is log y - intercept - ratio * log x, computed by hand."""
        ols = RollingOls(window=6)
        log_x, log_y = [math.log(p) for p in BTC], [math.log(p) for p in ETH]
        for x, y in zip(log_x, log_y, strict=True):
            estimate = ols.update(x, y)
        ratio, intercept = ols_by_hand(log_x, log_y)
        assert estimate is not None
        expected = log_y[-1] - intercept - ratio * log_x[-1]
        assert estimate.spread(log_x[-1], log_y[-1]) == pytest.approx(expected, abs=1e-12)

    def test_update_when_one_observation_gives_no_estimate(self) -> None:
        """A single point has no slope."""
        assert RollingOls(window=3).update(1.0, 2.0) is None

    def test_update_when_x_constant_gives_no_estimate(self) -> None:
        """A flat hedge leg has no ratio (the variance of x is zero)."""
        ols = RollingOls(window=3)
        for y in (1.0, 2.0, 3.0):
            estimate = ols.update(5.0, y)
        assert estimate is None

    @settings(max_examples=60, deadline=None)
    @given(
        st.integers(min_value=2, max_value=12),
        st.lists(
            st.tuples(
                st.floats(min_value=-0.05, max_value=0.05),
                st.floats(min_value=-0.05, max_value=0.05),
            ),
            min_size=3,
            max_size=80,
        ),
    )
    def test_update_when_random_walks_matches_batch_lstsq(
        self, window: int, steps: list[tuple[float, float]]
    ) -> None:
        """Incremental sums give the same fit as numpy lstsq on the window, at every step."""
        ols = RollingOls(window)
        log_x = 10.0 + np.cumsum([dx for dx, _ in steps])
        log_y = 8.0 + np.cumsum([dy for _, dy in steps])
        for t in range(len(steps)):
            estimate = ols.update(float(log_x[t]), float(log_y[t]))
            xs, ys = log_x[max(0, t + 1 - window) : t + 1], log_y[max(0, t + 1 - window) : t + 1]
            spread_x = float(np.ptp(xs)) if xs.size else 0.0
            if xs.size < 2 or spread_x < 1e-4:
                continue  # near-degenerate windows are allowed to report no ratio
            design = np.column_stack([xs, np.ones_like(xs)])
            (ratio, intercept), *_ = np.linalg.lstsq(design, ys, rcond=None)
            assert estimate is not None
            assert estimate.ratio == pytest.approx(ratio, rel=1e-6, abs=1e-6)
            assert estimate.spread(xs[-1], ys[-1]) == pytest.approx(
                ys[-1] - intercept - ratio * xs[-1], abs=1e-8
            )


class TestRollingZScore:
    def test_update_when_window_full_matches_mean_and_sample_deviation(self) -> None:
        """z = (s - mean) / sample standard deviation of the last window, newest included."""
        spreads = [0.01, -0.02, 0.015, 0.0, 0.03, -0.01]
        zscore = RollingZScore(window=4)
        for value in spreads:
            z = zscore.update(value)
        window = spreads[-4:]
        expected = (spreads[-1] - statistics.mean(window)) / statistics.stdev(window)
        assert z == pytest.approx(expected, rel=1e-9)

    def test_update_when_window_not_full_gives_none(self) -> None:
        """No z-score before the window is full."""
        zscore = RollingZScore(window=3)
        assert zscore.update(1.0) is None
        assert zscore.update(2.0) is None
        assert zscore.update(4.0) is not None

    def test_update_when_constant_gives_none(self) -> None:
        """A spread with no variation has no z-score."""
        zscore = RollingZScore(window=3)
        for _ in range(5):
            z = zscore.update(0.25)
        assert z is None

    @settings(max_examples=60, deadline=None)
    @given(
        st.integers(min_value=2, max_value=10),
        st.lists(st.floats(min_value=-1, max_value=1), min_size=2, max_size=60),
    )
    def test_update_when_random_series_matches_statistics_module(
        self, window: int, values: list[float]
    ) -> None:
        """Running sums give the stdlib's mean and stdev over every full window."""
        zscore = RollingZScore(window)
        for t, value in enumerate(values):
            z = zscore.update(value)
            chunk = values[max(0, t + 1 - window) : t + 1]
            if len(chunk) < window or statistics.stdev(chunk) < 1e-3:
                continue
            expected = (value - statistics.mean(chunk)) / statistics.stdev(chunk)
            assert z == pytest.approx(expected, rel=1e-6, abs=1e-6)


class TestKalmanHedge:
    def test_update_when_two_observations_matches_hand_stepped_filter(self) -> None:
        """delta = 1/2 (state noise 1), R = 1, from zero state and covariance, two steps.

        Step 1, x=1, y=2: P⁻ = I; e = 2; PFᵀ = (1, 1); Q = 3; K = (1/3, 1/3);
        state = (2/3, 2/3); P = I - K F P⁻ = [[2/3, -1/3], [-1/3, 2/3]].
        Step 2, x=2, y=3: P⁻ = [[5/3, -1/3], [-1/3, 5/3]]; prediction 2/3*2 + 2/3 = 2; e = 1;
        PFᵀ = (3, 1); Q = 2*3 + 1 + 1 = 8; K = (3/8, 1/8); state = (25/24, 19/24);
        P = [[5/3 - 9/8, -1/3 - 3/8], [., 5/3 - 1/8]] = [[13/24, -17/24], [., 37/24]].
        """
        kalman = KalmanHedge(delta=0.5, observation_noise=1.0)
        first = kalman.update(1.0, 2.0)
        assert first.ratio == pytest.approx(float(Fraction(2, 3)))
        assert first.intercept == pytest.approx(float(Fraction(2, 3)))
        assert (kalman.p00, kalman.p01, kalman.p11) == pytest.approx((2 / 3, -1 / 3, 2 / 3))
        second = kalman.update(2.0, 3.0)
        assert kalman.innovation == pytest.approx(1.0)
        assert kalman.innovation_variance == pytest.approx(8.0)
        assert second.ratio == pytest.approx(25 / 24)
        assert second.intercept == pytest.approx(19 / 24)
        assert (kalman.p00, kalman.p01, kalman.p11) == pytest.approx((13 / 24, -17 / 24, 37 / 24))

    def test_update_when_relation_is_exact_converges_to_it(self) -> None:
        """With y = 0.5 x + 1 exactly and a slow random walk, the state approaches (0.5, 1)."""
        kalman = KalmanHedge(delta=1e-8, observation_noise=1e-4, covariance=(1.0, 0.0, 1.0))
        for step in range(400):
            x = 10.0 + math.sin(step / 5.0)
            estimate = kalman.update(x, 0.5 * x + 1.0)
        assert estimate.ratio == pytest.approx(0.5, abs=1e-3)
        assert estimate.intercept == pytest.approx(1.0, abs=1e-2)

    def test_init_when_delta_outside_open_interval_raises(self) -> None:
        """delta must lie strictly between 0 and 1."""
        with pytest.raises(ValueError, match="delta"):
            KalmanHedge(delta=1.0, observation_noise=1.0)
