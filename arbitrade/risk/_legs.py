"""Exact arithmetic on an opportunity's legs: what each leg spends and receives, in which asset.

The gate recomputes a cycle from its legs instead of trusting the strategy's own figures, so a
sizing or fee bug upstream cannot carry a loss through. Fees are charged in the quote asset
(Kraken's default): a buy spends ``qty * price * (1 + fee)`` quote and receives ``qty`` base;
a sell spends ``qty`` base and receives ``qty * price * (1 - fee)`` quote.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import attrs

from arbitrade.messages import Leg, Opportunity, Side

_ONE = Decimal(1)
_BPS = Decimal(10_000)


@attrs.frozen
class LegFlow:
    """One leg's planned movement: ``spend`` of ``from_asset`` for ``receive`` of ``to_asset``."""

    from_asset: str
    spend: Decimal
    to_asset: str
    receive: Decimal


class _Memo:
    """Figures of the last opportunity asked about: every check of one decision reads the
    same ones, so each is computed once per decision. Keyed by identity (the memo holds a
    reference, so the identity cannot be reused while remembered) and fee rate."""

    __slots__ = ("fee_rate", "figures", "opportunity")

    def __init__(self) -> None:
        self.opportunity: Opportunity | None = None
        self.fee_rate = Decimal(-1)
        self.figures: dict[str, object] = {}

    def get(self, opportunity: Opportunity, fee_rate: Decimal) -> dict[str, object]:
        if self.opportunity is not opportunity or self.fee_rate != fee_rate:
            self.opportunity, self.fee_rate, self.figures = opportunity, fee_rate, {}
        return self.figures


_MEMO = _Memo()


def leg_flows(opportunity: Opportunity, fee_rate: Decimal) -> tuple[LegFlow, ...]:
    """:func:`leg_flow` of every leg (remembered for the last opportunity asked about)."""
    figures = _MEMO.get(opportunity, fee_rate)
    flows = figures.get("flows")
    if flows is None:
        flows = figures["flows"] = tuple(leg_flow(leg, fee_rate) for leg in opportunity.legs)
    return flows  # type: ignore[return-value]


def leg_flow(leg: Leg, fee_rate: Decimal) -> LegFlow:
    """What ``leg`` spends and receives if it fills completely at its limit price as a taker."""
    cost = leg.qty * leg.price
    if leg.side is Side.BUY:
        return LegFlow(leg.from_asset, cost * (_ONE + fee_rate), leg.to_asset, leg.qty)
    return LegFlow(leg.from_asset, leg.qty, leg.to_asset, cost * (_ONE - fee_rate))


def spend_by_asset(opportunity: Opportunity, fee_rate: Decimal) -> dict[str, Decimal]:
    """Total each asset the legs spend, for balance checks when the legs go out at once."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for flow in leg_flows(opportunity, fee_rate):
        spend[flow.from_asset] += flow.spend
    return dict(spend)


def net_home_profit(opportunity: Opportunity, fee_rate: Decimal) -> tuple[Decimal, Decimal]:
    """See :func:`_net_home_profit` (remembered for the last opportunity asked about)."""
    figures = _MEMO.get(opportunity, fee_rate)
    result = figures.get("profit")
    if result is None:
        result = figures["profit"] = _net_home_profit(opportunity, fee_rate)
    return result  # type: ignore[return-value]


def _net_home_profit(opportunity: Opportunity, fee_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(profit, profit in bps of the home amount spent) if every leg fills at its price.

    Every asset's net flow counts, valued in home at the cycle's own prices (see
    :func:`implied_home_values`): a fee charged in an intermediate asset (the BTC fee of an
    ETH/BTC leg) is a cost like any other. An asset the walk cannot value counts as nothing
    when received and makes the profit -infinity when spent. A cycle that spends no home
    asset has 0 bps.
    """
    values = _implied_values(opportunity, fee_rate)
    flows: dict[str, Decimal] = defaultdict(Decimal)
    spent = Decimal(0)
    for flow in leg_flows(opportunity, fee_rate):
        flows[flow.from_asset] -= flow.spend
        flows[flow.to_asset] += flow.receive
        if flow.from_asset == opportunity.home:
            spent += flow.spend
    profit = Decimal(0)
    for asset, amount in flows.items():
        value = values.get(asset)
        if value is None:
            if amount < 0:
                return Decimal("-Infinity"), Decimal("-Infinity")
            continue
        profit += amount * value
    bps = profit / spent * _BPS if spent > 0 else Decimal(0)
    return profit, bps


def implied_home_values(opportunity: Opportunity) -> dict[str, Decimal]:
    """Value of one unit of each asset of the cycle in home currency, at the legs' own prices.

    Walks the legs from the home asset: a buy makes one base worth ``price`` quote, a sell one
    quote worth ``1 / price`` base. Fees are left out (these are reference prices, not
    proceeds). Assets the walk cannot reach from home are absent.
    """
    values: dict[str, Decimal] = {opportunity.home: _ONE}
    for _ in range(len(opportunity.legs)):  # legs may be listed out of cycle order
        for leg in opportunity.legs:
            if leg.price <= 0:
                continue
            base, quote = (
                (leg.to_asset, leg.from_asset)
                if leg.side is Side.BUY
                else (leg.from_asset, leg.to_asset)
            )
            if quote in values and base not in values:
                values[base] = values[quote] * leg.price
            elif base in values and quote not in values:
                values[quote] = values[base] / leg.price
    return values


def _implied_values(opportunity: Opportunity, fee_rate: Decimal) -> dict[str, Decimal]:
    figures = _MEMO.get(opportunity, fee_rate)
    values = figures.get("values")
    if values is None:
        values = figures["values"] = implied_home_values(opportunity)
    return values  # type: ignore[return-value]


def leg_home_notionals(opportunity: Opportunity, fee_rate: Decimal) -> tuple[Decimal, ...]:
    """Each leg's spend valued in home currency at the cycle's own prices.

    A leg whose spent asset cannot be valued counts as infinitely large, so a malformed cycle
    fails the per-leg limit rather than slipping past it.
    """
    values = _implied_values(opportunity, fee_rate)
    notionals = []
    for flow in leg_flows(opportunity, fee_rate):
        value = values.get(flow.from_asset)
        notionals.append(flow.spend * value if value is not None else Decimal("Infinity"))
    return tuple(notionals)
