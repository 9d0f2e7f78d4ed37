"""Matching one IOC limit order against a book top, as Kraken's engine would for a taker.

Shared by the paper venue and the scripted venue's book-matching handler. The order takes
levels at their own prices (price improvement included) while they are at or better than its
limit, up to its size, never taking what earlier orders already took from the same book
(``taken``); the rest is cancelled (IOC). Fees are the taker rate on each trade's cost, in
the quote asset.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import attrs

from arbitrade.execution._venue import (
    IOC_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    split_symbol,
)
from arbitrade.messages import BookTop, OrderState, Side

_ZERO = Decimal(0)

type Taken = dict[tuple[Side, Decimal], Decimal]
"""Quantity already taken per (side of our order, level price) from the current book."""


FEE_QUANTUM = Decimal("1e-8")
"""Fees are charged in whole units of 1e-8 of the fee asset, rounded up, as an exchange does
(Kraken reports fees to at most 8 decimals): a simulated fill never understates its fee, and
every amount derived from fills stays within the storage precision (DECIMAL(38,18))."""


def charged_fee(cost: Decimal, rate: Decimal) -> Decimal:
    """The fee on a trade of ``cost`` at ``rate``, rounded up to :data:`FEE_QUANTUM`."""
    return (cost * rate).quantize(FEE_QUANTUM, rounding=ROUND_CEILING)


@attrs.define
class OrderTotals:
    """Running totals of one order at a venue."""

    cum_qty: Decimal = _ZERO
    cum_cost: Decimal = _ZERO
    cum_fee: Decimal = _ZERO
    trades: int = 0


def match_ioc(
    order: OrderRequest,
    book: BookTop,
    *,
    taken: Taken,
    fee_rate: Decimal,
    venue_order_id: str,
    at: float,
    totals: OrderTotals | None = None,
) -> list[ExecutionReport]:
    """Reports for ``order`` meeting ``book`` now: NEW, one TRADE per level, then the end.

    ``taken`` is updated with what this order took.
    """
    totals = totals if totals is not None else OrderTotals()
    quote = split_symbol(order.symbol)[1]

    def report(exec_type: ExecType, status: OrderState, **extra: object) -> ExecutionReport:
        return ExecutionReport(
            cl_ord_id=order.cl_ord_id,
            exec_type=exec_type,
            order_status=status,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=totals.cum_qty,
            at=at,
            venue_order_id=venue_order_id,
            cum_cost=totals.cum_cost,
            cum_fee=totals.cum_fee,
            **extra,  # type: ignore[arg-type]
        )

    reports = [report(ExecType.NEW, OrderState.OPEN)]
    levels = book.ask_levels() if order.side is Side.BUY else book.bid_levels()
    for level in levels:
        remaining = order.qty - totals.cum_qty
        if remaining <= 0:
            break
        crosses = (
            level.price <= order.limit_price
            if order.side is Side.BUY
            else level.price >= order.limit_price
        )
        if not crosses:
            break
        key = (order.side, level.price)
        available = level.qty - taken.get(key, _ZERO)
        qty = min(remaining, available)
        if qty <= 0:
            continue
        taken[key] = taken.get(key, _ZERO) + qty
        fee = charged_fee(qty * level.price, fee_rate)
        totals.cum_qty += qty
        totals.cum_cost += qty * level.price
        totals.cum_fee += fee
        totals.trades += 1
        status = OrderState.FILLED if totals.cum_qty >= order.qty else OrderState.PARTIALLY_FILLED
        reports.append(
            report(
                ExecType.TRADE,
                status,
                exec_id=f"{venue_order_id}-T{totals.trades}",
                last_qty=qty,
                last_price=level.price,
                fee=fee,
                fee_asset=quote,
                liquidity="t",
            )
        )
    if totals.cum_qty >= order.qty:
        reports.append(report(ExecType.FILLED, OrderState.FILLED))
    else:
        reports.append(report(ExecType.CANCELED, OrderState.CANCELLED, reason=IOC_REASON))
    return reports
