"""The backtest report: figures computed from what the collector saw, as canonical JSON.

Money figures are exact Decimals (written as text); ratios are floats. The same inputs give
the same report byte for byte: nothing in it depends on wall time or on the machine (the
moment a report was stored is kept beside it, in the database row, not in it).

Definitions, stated once: *gross PnL* is net PnL plus fees; *net PnL* is the sum of finished
cycles' realised PnL (fees and unwinds included) in the home currency; *fees* are every
fill's fee valued in home at the mid price when it filled; a cycle is *attempted* when the
risk gate accepted it, *completed* when every leg filled, *broken* when it ended unwound or
held; *fill ratio* is quantity filled over quantity ordered, over every order; *slippage* is
each fill's price against its leg's expected (limit) price, in basis points, positive when
worse, weighted by the fill's value; Sharpe and Sortino come from daily returns of the equity
curve, annualised over 365 days with a zero risk-free rate; *Calmar* is the annualised return
over the maximum drawdown and is empty (null) for less than one day of equity data, where
annualising minutes would give a meaningless number (see ``metrics``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import orjson

from arbitrade.backtest import metrics
from arbitrade.backtest._collect import Collector, EquityPoint
from arbitrade.messages import (
    CycleFinished,
    Fill,
    Opportunity,
    OrderUpdate,
    RiskAccepted,
    RiskRejected,
    Side,
)

REPORT_VERSION: Final = 1
_ZERO = Decimal(0)
_BPS = Decimal(10_000)
ANNUALISATION_NOTE: Final = (
    "Sharpe and Sortino from daily returns of the equity curve, annualised over 365 days, "
    "zero risk-free rate; Calmar (annualised return over maximum drawdown) only from one day "
    "of equity data on, empty below"
)


@attrs.frozen
class BacktestReport:
    """One backtest's outcome. ``as_json()`` is its canonical form."""

    report_id: str
    """``bt-`` and 16 hex digits of the hash of the canonical report (same inputs, same id)."""
    body: dict[str, Any]
    """Everything else, JSON-ready: settings, code version, inputs, figures, series."""

    @property
    def figures(self) -> dict[str, Any]:
        """The headline numbers."""
        figures: dict[str, Any] = self.body["figures"]
        return figures

    def as_json(self) -> bytes:
        """Canonical JSON (sorted keys, two-space indent): byte-identical for the same inputs."""
        return _dumps({"report_id": self.report_id, **self.body})


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


_PLACES = Decimal("1E-8")


def _money(value: Decimal | None) -> str | None:
    """Money as text, to 8 decimal places (half even), trailing zeros dropped."""
    if value is None:
        return None
    text = format(value.quantize(_PLACES).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _ratio(value: float | Decimal | None, places: int = 6) -> float | None:
    return None if value is None else round(float(value), places)


def _slippage_bps(opportunities: dict[str, Opportunity], fills: Sequence[Fill]) -> float | None:
    weighted, weight = _ZERO, _ZERO
    for fill in fills:
        opportunity = opportunities.get(fill.cycle_id)
        if opportunity is None:
            continue
        leg = next(
            (
                leg
                for leg in opportunity.legs
                if leg.symbol == fill.symbol and leg.side is fill.side
            ),
            None,
        )
        if leg is None or leg.price <= 0:
            continue  # an unwind order: no expected price
        sign = 1 if fill.side is Side.BUY else -1
        bps = sign * (fill.price - leg.price) / leg.price * _BPS
        value = fill.price * fill.qty
        weighted += bps * value
        weight += value
    return float(weighted / weight) if weight else None


def _curve(points: Sequence[EquityPoint]) -> list[tuple[float, float]]:
    return [(point.at_wall, float(point.equity)) for point in points]


def decisions_digest(collector: Collector) -> str:
    """SHA-256 over every decision in order per kind: equal for runs that decided alike."""
    digest = hashlib.sha256()
    for kind in (Opportunity, RiskAccepted, RiskRejected, OrderUpdate, Fill, CycleFinished):
        for message in collector.of_type(kind):
            digest.update(repr(message).encode())
    return digest.hexdigest()


def build_report(
    collector: Collector,
    *,
    settings: dict[str, Any],
    code_version: str,
    inputs: Sequence[tuple[str, str]],
    replay: dict[str, Any],
) -> BacktestReport:
    """Compute every figure from ``collector`` and seal the report with its id."""
    opportunities = collector.of_type(Opportunity)
    accepted = collector.of_type(RiskAccepted)
    rejected = collector.of_type(RiskRejected)
    orders = collector.of_type(OrderUpdate)
    fills = collector.of_type(Fill)
    cycles = collector.of_type(CycleFinished)
    by_id = {opportunity.id: opportunity for opportunity in opportunities}
    net = sum((cycle.pnl for cycle in cycles), _ZERO)
    fees = sum(collector.fill_values, _ZERO)
    outcomes: dict[str, int] = {}
    for cycle in cycles:
        outcomes[cycle.outcome] = outcomes.get(cycle.outcome, 0) + 1
    reasons: dict[str, int] = {}
    for rejection in rejected:
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
    final: dict[str, OrderUpdate] = {}
    for update in orders:
        final[update.cl_ord_id] = update
    ordered = sum((update.qty for update in final.values()), _ZERO)
    filled = sum((update.filled_qty for update in final.values()), _ZERO)
    closed = [cycle.pnl for cycle in cycles if cycle.outcome != "rejected"]
    curve = _curve(collector.equity)
    equities = [equity for _, equity in curve]
    drawdown = metrics.max_drawdown(equities)
    returns = metrics.daily_returns(curve)
    start_equity = collector.equity[0].equity if collector.equity else _ZERO
    end_equity = collector.equity[-1].equity if collector.equity else _ZERO
    figures: dict[str, Any] = {
        "home": collector.home,
        "gross_pnl": _money(net + fees),
        "fees": _money(fees),
        "net_pnl": _money(net),
        "start_equity": _money(start_equity),
        "end_equity": _money(end_equity),
        "equity_change": _money(end_equity - start_equity),
        "opportunities": len(opportunities),
        "risk_accepted": len(accepted),
        "risk_rejected": len(rejected),
        "rejections_by_reason": dict(sorted(reasons.items())),
        "cycles_attempted": len(accepted),
        "cycles_completed": outcomes.get("completed", 0),
        "cycles_broken": outcomes.get("broken_unwound", 0) + outcomes.get("broken_held", 0),
        "cycles_by_outcome": dict(sorted(outcomes.items())),
        "unwind_cost": _money(sum((cycle.unwind_cost for cycle in cycles), _ZERO)),
        "orders": len(final),
        "fills": len(fills),
        "fill_ratio": _ratio(filled / ordered) if ordered else None,
        "slippage_bps": _ratio(_slippage_bps(by_id, fills), 4),
        "max_drawdown": _money(Decimal(repr(drawdown.absolute))),
        "max_drawdown_pct": _ratio(drawdown.fraction * 100, 6),
        "sharpe": _ratio(metrics.sharpe(returns)),
        "sortino": _ratio(metrics.sortino(returns)),
        "calmar": _ratio(metrics.calmar(curve)),
        "profit_factor": _ratio(metrics.profit_factor(closed)),
        "expectancy": _money(metrics.expectancy(closed)),
        "annualisation": ANNUALISATION_NOTE,
    }
    body: dict[str, Any] = {
        "version": REPORT_VERSION,
        "code_version": code_version,
        "settings": settings,
        "inputs": [{"file": name, "sha256": digest} for name, digest in inputs],
        "replay": replay,
        "figures": figures,
        "decisions_sha256": decisions_digest(collector),
        "equity_curve": [
            [at, _money(point.equity)]
            for (at, _), point in zip(curve, collector.equity, strict=True)
        ],
        "exposure": [[point.at_wall, _money(point.exposure)] for point in collector.equity],
    }
    report_id = "bt-" + hashlib.sha256(_dumps(body)).hexdigest()[:16]
    return BacktestReport(report_id, body)


def report_from_json(data: bytes | str) -> BacktestReport:
    """A report read back from :meth:`BacktestReport.as_json`.

    Raises:
        ValueError: the text is not a report.
    """
    try:
        obj = orjson.loads(data)
        report_id = obj.pop("report_id")
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        raise ValueError("not a backtest report") from None
    return BacktestReport(str(report_id), obj)
