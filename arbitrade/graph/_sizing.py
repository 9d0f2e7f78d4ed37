"""Exact, depth-aware sizing of one cycle: how much to put in, and each leg's order.

Everything here is exact rational arithmetic (``Fraction`` over the books' integer ticks and
lots); it runs only for cycles that passed the detector's float screen, so its cost is paid
per candidate, not per book update.

Semantics (the oracle in ``tests/graph/oracle.py`` implements the same definition
independently):

1. **Ideal curve.** Each leg is a taker order sweeping the visible levels of one side of its
   book, best first: a sell (base -> quote) hits the bids, a buy (quote -> base) lifts the
   asks. Each level fills at its own price; the taker fee ``f`` is charged in the quote
   currency, so selling ``q`` base at ``p`` yields ``q * p * (1 - f)`` quote and buying ``q``
   base at ``p`` costs ``q * p * (1 + f)`` quote. Chaining the legs gives, for a start amount
   ``x`` in the home currency, an end amount ``E(x)``: concave and piecewise linear, defined
   while every leg's input fits within its visible levels (beyond that: not fillable).
2. **Ideal size.** ``x*`` is the smallest ``x`` maximising ``E(x) - m * x`` over the fillable
   range, with ``m = 1 + min_profit_bps / 10_000``: the cycle is taken as deep as every
   marginal unit still earns at least the minimum profit, and no deeper. ``x* = 0`` means no
   edge at the top of the books.
3. **Rounding.** Leg 1's base quantity at ``x*`` is rounded down to the pair's qty increment.
   Then, leg by leg, each leg's quantity is the largest multiple of its qty increment that
   the previous leg's proceeds can pay for (sell: at most the base received; buy: total cost
   including fee at most the quote received) and that the visible levels can fill. Leftovers
   of intermediate assets (dust) are not counted as profit. The start amount is what leg 1
   actually spends; the end amount is what the last leg actually receives after fees.
4. **Limit price.** Each leg's limit price is the worst level its rounded quantity reaches
   (highest ask for a buy, lowest bid for a sell), moved away from the book to the pair's price
   increment grid when the grid is coarser than the book's ticks (up for buys, down for sells).
   Placed as an immediate-or-cancel order at that limit on an unchanged book, the leg fills
   its whole quantity at the level prices used here.
5. **Acceptance.** Every leg must have a quantity of at least ``qty_min`` and a cost
   (quantity times limit price) of at least ``cost_min``; the profit ``end - start`` must be
   positive and at least ``min_profit_bps`` of ``start``. Otherwise the cycle is rejected with
   a :class:`SizingRejected` reason.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import attrs

from arbitrade.graph._sizing_types import LegBook as LegBook
from arbitrade.graph._sizing_types import Levels
from arbitrade.graph._walk import first_leg_qty_at, float_walk_stop, rates_exceed
from arbitrade.messages import Side

ONE = Fraction(1)


class SizingRejected(enum.StrEnum):
    """Why a cycle that passed the screen produced no opportunity."""

    NO_EDGE = "no_edge"
    """The top of the books does not beat the marginal threshold (or a side is empty)."""
    ROUNDS_TO_ZERO = "rounds_to_zero"
    """A leg's quantity rounds down to zero lots."""
    BELOW_QTY_MIN = "below_qty_min"
    BELOW_COST_MIN = "below_cost_min"
    UNPROFITABLE_AFTER_ROUNDING = "unprofitable_after_rounding"


@attrs.frozen
class SizedLeg:
    """One leg's order: ``qty_lots`` at ``limit_ticks``; ``spent`` and ``received`` exactly."""

    qty_lots: int
    limit_ticks: int
    spent: Fraction
    received: Fraction


@attrs.frozen
class SizedCycle:
    """A cycle's orders after rounding; amounts in the home currency are exact."""

    legs: tuple[SizedLeg, ...]
    start: Fraction
    end: Fraction

    @property
    def profit(self) -> Fraction:
        """``end - start`` in the home currency."""
        return self.end - self.start


def _ideal_segments(leg: LegBook) -> list[tuple[Fraction, Fraction]]:
    """Per level: (capacity in the leg's input asset, output per unit of input)."""
    price_scale = 10**leg.price_precision
    qty_scale = 10**leg.qty_precision
    segments = []
    if leg.side is Side.SELL:
        keep = ONE - leg.fee_rate
        for ticks, lots in leg.levels:
            segments.append((Fraction(lots, qty_scale), Fraction(ticks, price_scale) * keep))
    else:
        pay = ONE + leg.fee_rate
        for ticks, lots in leg.levels:
            unit_cost = Fraction(ticks, price_scale) * pay
            segments.append((Fraction(lots, qty_scale) * unit_cost, 1 / unit_cost))
    return segments


def ideal_first_leg_qty(
    legs: Sequence[LegBook], threshold: Fraction, approximate: float | None = None
) -> Fraction:
    """Leg 1's base quantity at the ideal size ``x*`` (definition 2).

    Fast path: a float walk finds the stopping boundary, which is then computed and verified
    exactly (``_walk``); on a failed check (float error near a tie) the exact walk decides.
    ``approximate`` is ``float(threshold)`` when the caller has it (it only steers the float
    walk: the result is exact either way).
    """
    if any(not leg.levels for leg in legs):
        return Fraction(0)
    stop = float_walk_stop(legs, float(threshold) if approximate is None else approximate)
    if stop is None:
        if not rates_exceed(legs, [0] * len(legs), threshold):
            return Fraction(0)
    else:
        found = first_leg_qty_at(legs, stop, threshold)
        if found is not None:
            return found
    return exact_first_leg_qty(legs, threshold)


def exact_first_leg_qty(legs: Sequence[LegBook], threshold: Fraction) -> Fraction:
    """Leg 1's base quantity at ``x*``, walking all legs in lockstep in exact fractions.

    At each step every leg sits on one level, so the marginal end amount per start unit is the
    product of those levels' rates. While it exceeds ``threshold``, the flow advances until the
    first level empties (capacities converted to start units through the rates of earlier
    legs), then that leg moves to its next level. Stops when the product drops to the
    threshold (ties stop: the smallest maximiser) or a leg runs out of levels.
    """
    segments = [_ideal_segments(leg) for leg in legs]
    if any(not levels for levels in segments):
        return Fraction(0)
    count = len(legs)
    position = [0] * count
    remaining = [levels[0][0] for levels in segments]
    rates = [levels[0][1] for levels in segments]
    first_sells = legs[0].side is Side.SELL
    first_qty = Fraction(0)
    while True:
        product = ONE
        for rate in rates:
            product *= rate
        if product <= threshold:
            return first_qty
        # the flow (in start units) that empties the first level
        conversion = ONE
        step: Fraction | None = None
        for index in range(count):
            fits = remaining[index] / conversion
            if step is None or fits < step:
                step = fits
            conversion *= rates[index]
        assert step is not None
        first_qty += step if first_sells else step * rates[0]
        conversion = ONE
        for index in range(count):
            remaining[index] -= step * conversion
            conversion *= rates[index]
            if remaining[index] == 0:
                position[index] += 1
                if position[index] == len(segments[index]):
                    return first_qty
                remaining[index], rates[index] = segments[index][position[index]]


def _sweep(levels: Levels, qty_lots: int) -> tuple[int, int]:
    """``(sum of lots * ticks, worst ticks reached)`` for taking ``qty_lots`` from ``levels``."""
    notional = 0
    worst = 0
    left = qty_lots
    for ticks, lots in levels:
        if left <= 0:
            break
        take = lots if lots < left else left
        notional += take * ticks
        worst = ticks
        left -= take
    return notional, worst


def _affordable_lots(leg: LegBook, budget: Fraction) -> int:
    """Most lots (before the qty step) the budget can take from the levels of ``leg``.

    Integer arithmetic over ticks and lots: the budget is scaled once to the leg's notional
    units (ticks x lots, fee taken out for a buy) and compared level by level.
    """
    if leg.side is Side.SELL:
        depth = sum(lots for _, lots in leg.levels)
        whole: int = budget.numerator * 10**leg.qty_precision // budget.denominator
        return min(whole, depth)
    fee_num, fee_den = leg.fee_rate.numerator, leg.fee_rate.denominator
    num = budget.numerator * 10 ** (leg.price_precision + leg.qty_precision) * fee_den
    den = budget.denominator * (fee_den + fee_num)
    total = 0
    for ticks, lots in leg.levels:
        need = den * lots * ticks
        if num >= need:
            num -= need
            total += lots
            continue
        total += num // (den * ticks)
        break
    return total


def _fill(leg: LegBook, qty_lots: int) -> SizedLeg:
    notional, worst = _sweep(leg.levels, qty_lots)
    fee_num, fee_den = leg.fee_rate.numerator, leg.fee_rate.denominator
    scale = fee_den * 10 ** (leg.price_precision + leg.qty_precision)
    qty = Fraction(qty_lots, 10**leg.qty_precision)
    step = leg.price_step
    if leg.side is Side.BUY:
        limit = -(-worst // step) * step
        return SizedLeg(qty_lots, limit, Fraction(notional * (fee_den + fee_num), scale), qty)
    limit = worst // step * step
    return SizedLeg(qty_lots, limit, qty, Fraction(notional * (fee_den - fee_num), scale))


@lru_cache(maxsize=64)
def _threshold(min_profit_bps: Fraction) -> tuple[Fraction, float]:
    """The marginal threshold ``m`` (definition 2), exactly and as a float."""
    threshold = ONE + min_profit_bps / 10_000
    return threshold, float(threshold)


def size_cycle(
    legs: Sequence[LegBook], min_profit_bps: Fraction = Fraction(0)
) -> SizedCycle | SizingRejected:
    """Size a cycle on the given books (see the module docstring for the exact definition).

    Returns the rounded orders, or the reason the cycle yields no opportunity. Never raises on
    thin, empty or crossed books: they simply give no edge.
    """
    threshold, approximate = _threshold(min_profit_bps)
    first_qty = ideal_first_leg_qty(legs, threshold, approximate)
    if first_qty <= 0:
        return SizingRejected.NO_EDGE
    first = legs[0]
    lots = first_qty.numerator * 10**first.qty_precision // first_qty.denominator
    lots -= lots % first.qty_step
    sized: list[SizedLeg] = []
    budget = Fraction(0)
    for index, leg in enumerate(legs):
        if index:
            lots = _affordable_lots(leg, budget)
            lots -= lots % leg.qty_step
        if lots <= 0:
            return SizingRejected.ROUNDS_TO_ZERO
        order = _fill(leg, lots)
        qty_min, cost_min = leg.qty_min, leg.cost_min
        if lots * qty_min.denominator < qty_min.numerator * 10**leg.qty_precision:
            return SizingRejected.BELOW_QTY_MIN
        cost_scale = 10 ** (leg.price_precision + leg.qty_precision)
        if lots * order.limit_ticks * cost_min.denominator < cost_min.numerator * cost_scale:
            return SizingRejected.BELOW_COST_MIN
        sized.append(order)
        budget = order.received
    start, end = sized[0].spent, sized[-1].received
    # end <= start, or (end - start) * 10_000 < min_profit_bps * start, cross-multiplied
    # over the (positive) denominators: exact, without building Fractions
    start_num, start_den = start.numerator, start.denominator
    end_num, end_den = end.numerator, end.denominator
    gain = end_num * start_den - start_num * end_den
    if gain <= 0 or gain * 10_000 * min_profit_bps.denominator < (
        min_profit_bps.numerator * start_num * end_den
    ):
        return SizingRejected.UNPROFITABLE_AFTER_ROUNDING
    return SizedCycle(tuple(sized), start, end)


def exact_decimal(value: Fraction, context: decimal.Context | None = None) -> Decimal:
    """``value`` as an exact Decimal, within ``context``'s precision.

    The last step rounds to the precision of ``context`` (None: the current context, 28
    digits by default), so a value with more significant digits than that is rounded.

    Raises:
        ValueError: the denominator has a prime factor other than 2 and 5 (no finite decimal).
    """
    denominator = value.denominator
    twos = (denominator & -denominator).bit_length() - 1  # trailing zero bits
    denominator >>= twos
    fives = 0
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        raise ValueError(f"{value} has no finite decimal expansion")
    digits = max(twos, fives)
    return Decimal(value.numerator * 10**digits // value.denominator).scaleb(-digits, context)


def basis_points(profit: Fraction, start: Fraction) -> Decimal:
    """``profit / start`` in basis points, rounded down to 0.01 bp.

    Raises:
        ZeroDivisionError: ``start`` is zero.
    """
    # floor(profit * 1_000_000 / start) in integers (denominators are positive)
    numerator = profit.numerator * start.denominator * 1_000_000
    denominator = profit.denominator * start.numerator
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    return Decimal(numerator // denominator).scaleb(-2)
