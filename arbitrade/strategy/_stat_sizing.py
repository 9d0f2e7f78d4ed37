"""Exact order legs of a stat-arb position: split the capital by the hedge ratio, round to lots.

The gross capital ``C`` (home asset) is split so the legs' home values follow the log-price
hedge: ``C / (1 + |ratio|)`` on y and ``C * |ratio| / (1 + |ratio|)`` on x. Each quantity is
the home value divided by the leg's mid in the home asset, rounded *down* to the pair's qty
increment. Limit prices sit ``slippage_bps`` beyond the touch (buys above the ask, rounded up
to the price increment; sells below the bid, rounded down). A leg below the pair's
``qty_min``, or whose cost (quantity times limit price, in the pair's quote) is below
``cost_min``, refuses the whole position: a half-hedged pair trade is not a pair trade.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from arbitrade.messages import Instrument, Leg, Side
from arbitrade.strategy._stat_signals import Direction

_BPS = Decimal(10_000)
_ONE = Decimal(1)


class SizingRefused(enum.StrEnum):
    """Why no legs could be sized."""

    NO_PRICE = "no_price"
    """A leg's book has no bid or no ask."""
    BELOW_QTY_MIN = "below_qty_min"
    BELOW_COST_MIN = "below_cost_min"


@attrs.frozen
class LegQuote:
    """One leg's pair rules and touch, and the price of its quote currency in the home asset."""

    instrument: Instrument
    bid: Decimal
    ask: Decimal
    fx: Decimal = _ONE
    """Home asset per unit of the leg's quote (1 when the leg is quoted in the home asset)."""

    @property
    def mid_home(self) -> Decimal:
        """The mid price in the home asset."""
        return (self.bid + self.ask) / 2 * self.fx


def _round_to(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding=rounding) * step


def limit_price(quote: LegQuote, side: Side, slippage_bps: Decimal) -> Decimal:
    """The limit price for ``side``, on the pair's price grid, beyond the touch."""
    increment = quote.instrument.price_increment
    if side is Side.BUY:
        return _round_to(quote.ask * (_ONE + slippage_bps / _BPS), increment, ROUND_CEILING)
    price = _round_to(quote.bid * (_ONE - slippage_bps / _BPS), increment, ROUND_FLOOR)
    return max(price, increment)


def order_leg(
    quote: LegQuote, side: Side, home_value: Decimal, slippage_bps: Decimal
) -> Leg | SizingRefused:
    """A leg worth about ``home_value`` at the mid, or why it cannot be placed."""
    if quote.bid <= 0 or quote.ask <= 0:
        return SizingRefused.NO_PRICE
    instrument = quote.instrument
    raw = home_value / quote.mid_home
    qty = _round_to(raw, instrument.qty_increment, ROUND_FLOOR)
    return _checked_leg(quote, side, qty, slippage_bps)


def _checked_leg(
    quote: LegQuote, side: Side, qty: Decimal, slippage_bps: Decimal
) -> Leg | SizingRefused:
    instrument = quote.instrument
    if qty <= 0 or qty < instrument.qty_min:
        return SizingRefused.BELOW_QTY_MIN
    price = limit_price(quote, side, slippage_bps)
    if qty * price < instrument.cost_min:
        return SizingRefused.BELOW_COST_MIN
    if side is Side.BUY:
        return Leg(instrument.symbol, side, price, qty, instrument.quote, instrument.base)
    return Leg(instrument.symbol, side, price, qty, instrument.base, instrument.quote)


def entry_legs(
    direction: Direction,
    ratio: float,
    capital: Decimal,
    y: LegQuote,
    x: LegQuote,
    slippage_bps: Decimal,
) -> tuple[Leg, Leg] | SizingRefused:
    """The y and x legs of a new position, or why it cannot be sized.

    Long the spread buys y; short sells it. The x leg takes the other side when the ratio
    is positive and the same side when it is negative.
    """
    weight_x = Decimal(repr(abs(ratio))) / (_ONE + Decimal(repr(abs(ratio))))
    y_side = Side.BUY if direction is Direction.LONG else Side.SELL
    opposite = Side.SELL if y_side is Side.BUY else Side.BUY
    x_side = opposite if ratio >= 0 else y_side
    y_leg = order_leg(y, y_side, capital * (_ONE - weight_x), slippage_bps)
    if isinstance(y_leg, SizingRefused):
        return y_leg
    x_leg = order_leg(x, x_side, capital * weight_x, slippage_bps)
    if isinstance(x_leg, SizingRefused):
        return x_leg
    return y_leg, x_leg


def closing_legs(
    holdings: Mapping[str, Decimal], quotes: Mapping[str, LegQuote], slippage_bps: Decimal
) -> tuple[Leg, ...]:
    """Legs that bring each held quantity back to zero; dust the venue would refuse is left.

    A holding is what fills added up to (positive: bought). Its size is rounded down to the
    lot grid; a leg below the pair's minimums, or without a price, is left out.
    """
    legs: list[Leg] = []
    for symbol, held in holdings.items():
        quote = quotes.get(symbol)
        if held == 0 or quote is None or quote.bid <= 0 or quote.ask <= 0:
            continue
        side = Side.SELL if held > 0 else Side.BUY
        qty = _round_to(abs(held), quote.instrument.qty_increment, ROUND_FLOOR)
        leg = _checked_leg(quote, side, qty, slippage_bps)
        if isinstance(leg, Leg):
            legs.append(leg)
    return tuple(legs)


def is_dust(held: Decimal, instrument: Instrument) -> bool:
    """True when ``held`` is too small to be ordered back (below the pair's minimum qty)."""
    return abs(held) < max(instrument.qty_min, instrument.qty_increment)
