"""Objectives: which figure of a backtest report ranks a sweep's points, and in which direction.

Every objective is a headline figure of the report (``BacktestReport.figures``). Money figures
are exact text in the report; here they become floats, because ranking is statistics. A figure
the report leaves undefined (Sharpe of a flat equity curve, profit factor without a loss) gives
no value: such a point ranks after every point with a value, and the TPE search is told it
failed (Optuna then leaves it out of its model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from arbitrade.config import ConfigError


@attrs.frozen
class Objective:
    """A figure of the report, and whether more of it is better."""

    name: str
    figure: str
    maximise: bool
    description: str

    def value(self, figures: Mapping[str, Any]) -> float | None:
        """The figure as a float, or None when the report leaves it undefined."""
        raw = figures.get(self.figure)
        if raw is None or isinstance(raw, bool):
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def rank_key(self, value: float | None, point_id: str) -> tuple[int, float, str]:
        """Sort key: best first, points without a value last, ties by point id."""
        if value is None:
            return (1, 0.0, point_id)
        return (0, -value if self.maximise else value, point_id)


def _objectives(*items: Objective) -> dict[str, Objective]:
    return {item.name: item for item in items}


OBJECTIVES: Final[Mapping[str, Objective]] = _objectives(
    Objective("net_pnl", "net_pnl", True, "net PnL in the home currency (fees included)"),
    Objective("gross_pnl", "gross_pnl", True, "PnL before fees"),
    Objective("equity_change", "equity_change", True, "end equity minus start equity"),
    Objective("sharpe", "sharpe", True, "Sharpe ratio of daily returns, annualised (365 days)"),
    Objective("sortino", "sortino", True, "Sortino ratio of daily returns, annualised"),
    Objective("calmar", "calmar", True, "annualised return over maximum drawdown"),
    Objective("profit_factor", "profit_factor", True, "gross profit over gross loss"),
    Objective("expectancy", "expectancy", True, "mean PnL per finished cycle"),
    Objective("cycles_completed", "cycles_completed", True, "cycles with every leg filled"),
    Objective("fill_ratio", "fill_ratio", True, "quantity filled over quantity ordered"),
    Objective("max_drawdown", "max_drawdown", False, "largest fall of equity (less is better)"),
    Objective("max_drawdown_pct", "max_drawdown_pct", False, "largest fall of equity in %"),
)
"""Every objective a sweep can rank by, by name."""


def objective_named(name: str) -> Objective:
    """The objective called ``name``.

    Raises:
        ConfigError: an unknown name (naming ``sweep.objective`` and the choices).
    """
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ConfigError(
            "sweep.objective", f"expected one of {', '.join(OBJECTIVES)}, got {name!r}"
        ) from None
