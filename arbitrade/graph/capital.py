"""Fitting an opportunity to the trade capital: re-size it with the first leg's depth capped.

The graph sizes each cycle as deep as the books allow; a backtest trades at most its capital
per cycle. :func:`resize_to_capital` keeps the opportunity's legs and books, caps the first
leg's visible levels at the capital (in the home currency, fee included for a buy) and runs
the graph's own exact :func:`~arbitrade.graph.size_cycle` again, so the smaller cycle is sized
and rounded by the same rules as any other. (A ``max_start`` argument on the graph's sizing
would make this unnecessary; until then it lives here, for the pair-graph actor and the
backtest.)
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from fractions import Fraction

import attrs

from arbitrade.graph import LegBook, PairGraph, SizingRejected, size_cycle
from arbitrade.graph._sizing import basis_points, exact_decimal
from arbitrade.messages import BookTop, Leg, Opportunity, Side

_EXACT = decimal.Context(prec=80)


def _decimal(value: Fraction) -> decimal.Decimal:
    """Exact for the 2**a * 5**b denominators sizing produces (80 digits otherwise).

    The exact case takes the integer route (``exact_decimal``): the same value and exponent
    as the 80-digit division (no trailing zeros, exponent at most 0), at a fraction of its cost.
    """
    try:
        return exact_decimal(value, _EXACT)
    except ValueError:
        return _EXACT.divide(decimal.Decimal(value.numerator), decimal.Decimal(value.denominator))


def _cap(leg: LegBook, capital: Fraction) -> LegBook:
    """``leg`` with its levels cut where their cost (fee included for a buy) reaches
    ``capital``: whole levels while they fit, then the lots the rest pays for, rounded down.

    Integer arithmetic: the capital is scaled once to the leg's notional units (ticks x lots
    times the fee factor's denominator, or lots for a sell), as ``_sizing`` does.
    """
    levels: list[tuple[int, int]] = []
    qty_scale = 10**leg.qty_precision
    if leg.side is Side.BUY:
        fee_num, fee_den = leg.fee_rate.numerator, leg.fee_rate.denominator
        # a level costs lots * ticks * (den + num) / (den * 10**(pp + qp)) home units
        unit = capital.denominator * (fee_den + fee_num)
        left = capital.numerator * fee_den * 10**leg.price_precision * qty_scale
        for ticks, lots in leg.levels:
            need = lots * ticks * unit
            if need <= left:
                levels.append((ticks, lots))
                left -= need
                continue
            partial = left // (ticks * unit)
            if partial > 0:
                levels.append((ticks, partial))
            break
    else:
        # a level costs lots / 10**qp units of the home asset
        left = capital.numerator * qty_scale
        for ticks, lots in leg.levels:
            need = lots * capital.denominator
            if need <= left:
                levels.append((ticks, lots))
                left -= need
                continue
            partial = left // capital.denominator
            if partial > 0:
                levels.append((ticks, partial))
            break
    return attrs.evolve(leg, levels=tuple(levels))


def resize_to_capital(
    opportunity: Opportunity,
    capital: decimal.Decimal,
    graph: PairGraph,
    tops: Mapping[str, BookTop],
    *,
    max_levels: int,
    min_profit_bps: decimal.Decimal,
    leg_books: Sequence[LegBook] | None = None,
) -> Opportunity | SizingRejected:
    """``opportunity`` itself when it starts within ``capital``, else re-sized within it.

    ``leg_books`` are the books its legs were sized on, when the caller has them
    (:meth:`~arbitrade.graph.CycleDetector.leg_books`); otherwise they are built from ``tops``
    with ``max_levels``. Returns the reason when the capped cycle yields nothing (too small
    for a minimum, no longer profitable after rounding).
    """
    if opportunity.start_amount <= capital:
        return opportunity
    books: list[LegBook]
    if leg_books is not None:
        books = list(leg_books)
    else:
        books = []
        for leg in opportunity.legs:
            pair = graph.pair(leg.symbol)
            books.append(pair.leg_book(leg.side, tops[leg.symbol], max_levels))
    books[0] = _cap(books[0], Fraction(capital))
    sized = size_cycle(books, Fraction(min_profit_bps))
    if isinstance(sized, SizingRejected):
        return sized
    legs = tuple(
        Leg(
            symbol=leg.symbol,
            side=leg.side,
            price=decimal.Decimal(order.limit_ticks).scaleb(-book.price_precision),
            qty=decimal.Decimal(order.qty_lots).scaleb(-book.qty_precision),
            from_asset=leg.from_asset,
            to_asset=leg.to_asset,
        )
        for leg, order, book in zip(opportunity.legs, sized.legs, books, strict=True)
    )
    return attrs.evolve(
        opportunity,
        legs=legs,
        start_amount=_decimal(sized.start),
        end_amount=_decimal(sized.end),
        profit=_decimal(sized.profit),
        profit_bps=basis_points(sized.profit, sized.start),
    )
