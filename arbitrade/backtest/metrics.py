"""Performance figures of a backtest from its equity curve and its cycles' PnL.

Conventions, stated once: daily returns are taken from the last equity of each UTC day
(the first point is the opening equity); Sharpe and Sortino are annualised over 365 days
(crypto trades every day) with a zero risk-free rate; Sortino's downside deviation is the root
mean square of the negative daily returns over all days (target 0); Calmar is the annualised
return over the maximum drawdown fraction, and only from one day of equity data on: a
recording of minutes compounded over a year gives growth of thousands of percent, a number
that says nothing. Figures that are undefined (less than a day of data, no losses, no
drawdown) are ``None``, never a made-up number.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

import attrs

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365
CALMAR_MIN_DAYS = 1.0
"""Calmar needs at least this many days between the first and last equity points."""


@attrs.frozen
class Drawdown:
    """The largest fall from a running peak of equity."""

    absolute: float
    fraction: float
    """absolute / the peak it fell from (0.1 is a 10% drawdown)."""


def daily_closes(curve: Sequence[tuple[float, float]]) -> list[float]:
    """Equity at the close of each UTC day, preceded by the opening equity.

    Args:
        curve: (unix seconds, equity) points in time order.
    """
    if not curve:
        return []
    closes: list[float] = [curve[0][1]]
    current_day = math.floor(curve[0][0] / SECONDS_PER_DAY)
    last = curve[0][1]
    for at, equity in curve[1:]:
        day = math.floor(at / SECONDS_PER_DAY)
        if day != current_day:
            closes.append(last)
            current_day = day
        last = equity
    closes.append(last)
    return closes


def daily_returns(curve: Sequence[tuple[float, float]]) -> list[float]:
    """Simple returns between consecutive daily closes (see :func:`daily_closes`)."""
    closes = daily_closes(curve)
    return [after / before - 1.0 for before, after in itertools.pairwise(closes) if before != 0]


def sharpe(returns: Sequence[float]) -> float | None:
    """Annualised Sharpe ratio (365 days, zero risk-free rate); None if < 2 returns or no spread."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance == 0:
        return None
    return mean / math.sqrt(variance) * math.sqrt(DAYS_PER_YEAR)


def sortino(returns: Sequence[float]) -> float | None:
    """Annualised Sortino ratio (target 0); None without returns or without a losing day."""
    if not returns:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return None
    return (sum(returns) / len(returns)) / downside * math.sqrt(DAYS_PER_YEAR)


def max_drawdown(equity: Sequence[float]) -> Drawdown:
    """The largest peak-to-trough fall of an equity series (0, 0 when it never falls)."""
    peak = -math.inf
    worst = Drawdown(0.0, 0.0)
    for value in equity:
        peak = max(peak, value)
        fall = peak - value
        if fall > worst.absolute:
            worst = Drawdown(fall, fall / peak if peak > 0 else 0.0)
    return worst


def annualised_return(start: float, end: float, days: float) -> float | None:
    """Compound annual growth over ``days``; None when undefined or beyond a float."""
    if start <= 0 or days <= 0 or end <= 0:
        return None
    try:
        growth: float = (end / start) ** (DAYS_PER_YEAR / days) - 1.0
    except OverflowError:  # minutes of data compounded over a year: not a number to report
        return None
    return growth


def calmar(curve: Sequence[tuple[float, float]]) -> float | None:
    """Annualised return over the maximum drawdown fraction.

    None when it would be noise, not a number: less than :data:`CALMAR_MIN_DAYS` of data
    (annualising minutes), no drawdown, or growth a float cannot hold.
    """
    if len(curve) < 2:
        return None
    days = (curve[-1][0] - curve[0][0]) / SECONDS_PER_DAY
    if days < CALMAR_MIN_DAYS:
        return None
    growth = annualised_return(curve[0][1], curve[-1][1], days)
    drawdown = max_drawdown([equity for _, equity in curve])
    if growth is None or drawdown.fraction == 0:
        return None
    return growth / drawdown.fraction


def profit_factor(pnls: Sequence[Decimal]) -> Decimal | None:
    """Gross profit over gross loss of closed cycles; None when nothing was lost."""
    gains = sum((p for p in pnls if p > 0), Decimal(0))
    losses = -sum((p for p in pnls if p < 0), Decimal(0))
    if losses == 0:
        return None
    return gains / losses


def expectancy(pnls: Sequence[Decimal]) -> Decimal | None:
    """Mean PnL per closed cycle; None with no cycles."""
    if not pnls:
        return None
    return sum(pnls, Decimal(0)) / len(pnls)
