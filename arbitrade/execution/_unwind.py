"""Planning the unwind of a broken cycle: which IOC order takes a leftover back to home.

A broken cycle leaves each non-home asset above or below where it started. A surplus is
sold for home, a deficit bought back with home, through the direct pair ``ASSET/HOME``.
The order's limit price is the worst price that keeps the loss, against the reference price
(what the cycle traded the asset at) and after the taker fee, within the bound; the IOC then
fills what the book offers at that price or better. When the book's best price is already
beyond the limit (the bound would be broken), when there is no such pair or no book, the
leftover is held and the executor raises an alert instead. Leftovers below the pair's
minimum are dust: left alone.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from arbitrade.execution._venue import split_symbol
from arbitrade.messages import BookTop, Fill, Instrument, Side

_ONE = Decimal(1)
_BPS = Decimal(10_000)


class HoldReason(enum.StrEnum):
    """Why a leftover is not unwound."""

    DUST = "dust"
    NO_PAIR = "no_unwind_pair"
    NO_BOOK = "no_book"
    LOSS_BOUND = "loss_bound"
    ATTEMPTS = "attempts_exhausted"
    HALTED = "kill_switch"


@attrs.frozen
class UnwindPlan:
    """The decision for one leftover asset: an order to send, or why it is held."""

    asset: str
    amount: Decimal
    """Signed leftover: positive is surplus (to sell), negative deficit (to buy back)."""
    symbol: str
    side: Side | None
    qty: Decimal
    limit_price: Decimal
    reference_price: Decimal
    best_price: Decimal
    max_loss: Decimal
    hold: HoldReason | None

    @property
    def alert(self) -> bool:
        """True when holding this leftover needs an operator's attention (not dust)."""
        return self.hold is not None and self.hold is not HoldReason.DUST


def fill_flows(fills: Iterable[Fill]) -> dict[str, Decimal]:
    """Net movement of each asset from ``fills`` (buys add base, spend quote; fees leave)."""
    flows: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        base, quote = split_symbol(fill.symbol)
        notional = fill.qty * fill.price
        if fill.side is Side.BUY:
            flows[base] += fill.qty
            flows[quote] -= notional
        else:
            flows[base] -= fill.qty
            flows[quote] += notional
        flows[fill.fee_asset] -= fill.fee
    return dict(flows)


def _round(value: Decimal, increment: Decimal, rounding: str) -> Decimal:
    return (value / increment).to_integral_value(rounding=rounding) * increment


def plan_unwind(
    asset: str,
    amount: Decimal,
    home: str,
    *,
    instrument: Instrument | None,
    book: BookTop | None,
    reference_price: Decimal | None,
    fee_rate: Decimal,
    max_loss_bps: Decimal,
    max_loss_abs: Decimal,
) -> UnwindPlan:
    """Decide how to take ``amount`` of ``asset`` back to ``home`` within the loss bound."""
    symbol = f"{asset}/{home}"
    side = Side.SELL if amount > 0 else Side.BUY
    zero = Decimal(0)

    def held(reason: HoldReason, **known: Decimal) -> UnwindPlan:
        values = {
            "qty": abs(amount),
            "limit_price": zero,
            "reference_price": reference_price or zero,
            "best_price": zero,
            "max_loss": zero,
        }
        values.update(known)
        return UnwindPlan(asset, amount, symbol, side, hold=reason, **values)

    if instrument is None or instrument.base != asset or instrument.quote != home:
        return held(HoldReason.NO_PAIR)
    rounding = ROUND_FLOOR if side is Side.SELL else ROUND_CEILING
    qty = _round(abs(amount), instrument.qty_increment, rounding)
    levels = book.bid_levels() if book is not None and side is Side.SELL else None
    if book is not None and side is Side.BUY:
        levels = book.ask_levels()
    if not levels:
        return held(HoldReason.NO_BOOK, qty=qty)
    best = levels[0].price
    reference = reference_price if reference_price is not None else best
    if qty <= 0 or qty < instrument.qty_min or qty * best < instrument.cost_min:
        return held(HoldReason.DUST, qty=qty, best_price=best, reference_price=reference)
    value = qty * reference
    bound = min(max_loss_abs, value * max_loss_bps / _BPS)
    if side is Side.SELL:
        worst = (value - bound) / (qty * (_ONE - fee_rate))
        limit = _round(worst, instrument.price_increment, ROUND_CEILING)
        breaks = best < limit
    else:
        worst = (value + bound) / (qty * (_ONE + fee_rate))
        limit = _round(worst, instrument.price_increment, ROUND_FLOOR)
        breaks = best > limit or limit <= 0
    known = {"qty": qty, "best_price": best, "reference_price": reference, "max_loss": bound}
    if breaks:
        return held(HoldReason.LOSS_BOUND, limit_price=limit, **known)
    return UnwindPlan(asset, amount, symbol, side, limit_price=limit, hold=None, **known)
