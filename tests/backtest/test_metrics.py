"""Report metrics against values worked out by hand on small series."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from arbitrade.backtest.metrics import (
    calmar,
    daily_closes,
    daily_returns,
    expectancy,
    max_drawdown,
    profit_factor,
    sharpe,
    sortino,
)

DAY = 86_400.0


def test_daily_closes_take_the_last_point_of_each_utc_day() -> None:
    """Opening equity, then the last equity of each day."""
    curve = [(0.0, 100.0), (3600.0, 101.0), (DAY + 10, 99.0), (DAY + 20, 102.0), (2 * DAY, 104.0)]
    assert daily_closes(curve) == [100.0, 101.0, 102.0, 104.0]


def test_sharpe_matches_hand_computation() -> None:
    """Returns 1%, -1%, 2%: mean 0.6667%, sample sd 1.5275%, x sqrt(365)."""
    returns = [0.01, -0.01, 0.02]
    # mean = 0.02/3 = 0.0066667; deviations 0.0033333, -0.0166667, 0.0133333
    # squares sum = 0.0000111 + 0.0002778 + 0.0001778 = 0.0004667; /2 = 0.00023333; sd = 0.0152753
    expected = (0.02 / 3) / 0.015275252316519466 * math.sqrt(365)
    assert sharpe(returns) == pytest.approx(expected, rel=1e-12)
    assert sharpe(returns) == pytest.approx(8.3378, rel=1e-4)


def test_sortino_uses_downside_rms_over_all_days() -> None:
    """Downside deviation sqrt((0 + 0.0001 + 0) / 3) = 0.0057735."""
    returns = [0.01, -0.01, 0.02]
    expected = (0.02 / 3) / math.sqrt(0.0001 / 3) * math.sqrt(365)
    assert sortino(returns) == pytest.approx(expected, rel=1e-12)


def test_undefined_ratios_are_none() -> None:
    """One return, no spread or no losing day: the ratio is undefined, not zero."""
    assert sharpe([0.01]) is None
    assert sharpe([0.01, 0.01]) is None
    assert sortino([0.01, 0.02]) is None


def test_max_drawdown_finds_the_deepest_fall_from_a_running_peak() -> None:
    """100 -> 120 -> 90 -> 130 -> 117: the worst fall is 30 from 120 (25%)."""
    drawdown = max_drawdown([100.0, 120.0, 90.0, 130.0, 117.0])
    assert drawdown.absolute == 30.0
    assert drawdown.fraction == 0.25


def test_calmar_is_annual_growth_over_drawdown() -> None:
    """Over 365 days 100 -> 110 with a 10% fall from 110 to 99 midway... then 110."""
    curve = [(0.0, 100.0), (100 * DAY, 110.0), (200 * DAY, 99.0), (365 * DAY, 110.0)]
    assert calmar(curve) == pytest.approx(0.10 / 0.10)


def test_calmar_when_73_days_annualises_by_the_fifth_power() -> None:
    """73 days is a fifth of a year: growth 1.1**5 - 1 = 0.61051; the fall 110 -> 99 is
    10%; Calmar = 0.61051 / 0.10 = 6.1051."""
    curve = [(0.0, 100.0), (20 * DAY, 110.0), (40 * DAY, 99.0), (73 * DAY, 110.0)]
    assert calmar(curve) == pytest.approx(6.1051, rel=1e-12)


def test_calmar_when_less_than_a_day_of_data_is_none() -> None:
    """12 hours, 100 -> 101 with a 1% dip: annualised that would be 1.01**730 - 1 (about
    1432, i.e. +143,200%); below one day Calmar is undefined, not a huge number."""
    curve = [(0.0, 100.0), (3 * 3600.0, 101.0), (6 * 3600.0, 99.99), (12 * 3600.0, 101.0)]
    assert calmar(curve) is None


def test_calmar_when_exactly_one_day_is_defined() -> None:
    """One day, 100 -> 80 -> 100: no growth over a 20% drawdown is a Calmar of 0."""
    curve = [(0.0, 100.0), (DAY / 2, 80.0), (DAY, 100.0)]
    assert calmar(curve) == 0.0


def test_report_note_when_read_says_calmar_needs_a_day() -> None:
    """The report's note (table caption, dashboard) says when Calmar is left empty."""
    from arbitrade.backtest._report import ANNUALISATION_NOTE

    assert "Calmar" in ANNUALISATION_NOTE
    assert "one day" in ANNUALISATION_NOTE


def test_profit_factor_and_expectancy_are_exact() -> None:
    """Wins 3 + 1.5, losses 1.5: factor 3; mean of (3, -1.5, 1.5) = 1."""
    pnls = [Decimal("3"), Decimal("-1.5"), Decimal("1.5")]
    assert profit_factor(pnls) == Decimal(3)
    assert expectancy(pnls) == Decimal(1)
    assert profit_factor([Decimal(1)]) is None
    assert expectancy([]) is None


def test_daily_returns_from_a_curve() -> None:
    """Open 100, closes 100, 110, 99: the first day is flat, then +10% and -10%."""
    curve = [(0.0, 100.0), (DAY, 110.0), (2 * DAY, 99.0)]
    assert daily_returns(curve) == pytest.approx([0.0, 0.10, -0.10])
