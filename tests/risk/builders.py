"""Builders of opportunities for risk and execution tests: a USD-BTC-ETH triangle by default."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from arbitrade.messages import CycleFinished, Leg, Opportunity, PortfolioSnapshot, Side
from arbitrade.risk import RiskGateCore, RiskSettings

D = Decimal


def triangle_legs(
    *,
    btc_usd: str = "50000",
    eth_btc: str = "0.05",
    eth_usd: str = "2600",
    btc_qty: str = "0.01",
    eth_qty: str = "0.2",
) -> tuple[Leg, ...]:
    """USD -> BTC -> ETH -> USD: buy BTC/USD, buy ETH/BTC, sell ETH/USD."""
    return (
        Leg("BTC/USD", Side.BUY, D(btc_usd), D(btc_qty), "USD", "BTC"),
        Leg("ETH/BTC", Side.BUY, D(eth_btc), D(eth_qty), "BTC", "ETH"),
        Leg("ETH/USD", Side.SELL, D(eth_usd), D(eth_qty), "ETH", "USD"),
    )


def make_opportunity(**overrides: Any) -> Opportunity:
    """A profitable triangle detected at t=100 on fresh books; override any field."""
    legs = overrides.pop("legs") if "legs" in overrides else triangle_legs()
    start = legs[0].qty * legs[0].price if legs else Decimal(0)
    defaults: dict[str, Any] = {
        "id": "opp-1",
        "strategy": "triangular",
        "home": "USD",
        "legs": legs,
        "start_amount": start,
        "end_amount": legs[-1].qty * legs[-1].price if legs else Decimal(0),
        "profit": (legs[-1].qty * legs[-1].price if legs else Decimal(0)) - start,
        "profit_bps": D(300),
        "book_ages": (0.1, 0.1, 0.1),
        "received_at": 99.999,
        "detected_at": 100.0,
    }
    defaults.update(overrides)
    return Opportunity(**defaults)


def with_changes(opportunity: Opportunity, **changes: Any) -> Opportunity:
    """A copy of ``opportunity`` with fields replaced."""
    return attrs.evolve(opportunity, **changes)


RICH_BALANCES = (("USD", D(100_000)), ("BTC", D(10)), ("ETH", D(100)))


def funded_gate(**settings: object) -> RiskGateCore:
    """A gate that has seen a rich portfolio."""
    gate = RiskGateCore(RiskSettings(**settings))  # type: ignore[arg-type]
    gate.on_portfolio(
        PortfolioSnapshot(RICH_BALANCES, Decimal(0), Decimal(0), "USD", 0.0, 1_790_000_000.0)
    )
    return gate


def finished(cycle_id: str, pnl: str = "0", outcome: str = "completed") -> CycleFinished:
    """The executor's report that ``cycle_id`` ended with ``pnl`` USD."""
    return CycleFinished(cycle_id, outcome, "USD", Decimal(pnl), Decimal(0), at=0.0)
