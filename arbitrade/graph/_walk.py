"""The fast path of the ideal-size search: a float lockstep walk, then an exact check.

The exact lockstep walk (``_sizing.exact_first_leg_qty``) costs hundreds of ``Fraction``
operations. Here the walk runs in floats only to find *where* it stops (the level boundary of
one leg); the ideal size at that boundary is then computed exactly with integer arithmetic
(level walks over ticks and lots, one ``Fraction`` per leg), and verified exactly: the
smallest maximiser ``x*`` of the concave ``E(x) - m x`` is the point where the product of the
legs' marginal rates just before it exceeds ``m`` and just after it does not (or a leg has no
level left). If the check fails (float error on near-ties) the caller falls back to the exact
walk, so results are always those of the exact definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from arbitrade.graph._sizing_types import LegBook, Levels
from arbitrade.messages import Side

_EXHAUSTED = 1e-12
"""A level whose float remainder falls below this share of its capacity counts as emptied."""


def _lots_to_notional(levels: Levels, num: int, den: int) -> tuple[int, int, int, int] | None:
    """Take ``num/den`` lots from ``levels``: ``(notional num, den, left level, right level)``.

    Notional is in ticks x lots. ``left`` is the level holding the last unit taken, ``right``
    the level the next unit would come from (``len(levels)`` when none is left). None when the
    levels hold fewer lots.
    """
    notional = 0
    for index, (ticks, lots) in enumerate(levels):
        need = den * lots
        if num > need:
            num -= need
            notional += lots * ticks
            continue
        if num == need:
            return (notional + lots * ticks) * den, den, index, index + 1
        return notional * den + num * ticks, den, index, index
    return None


def _notional_to_lots(levels: Levels, num: int, den: int) -> tuple[int, int, int, int] | None:
    """Spend ``num/den`` of notional (ticks x lots): ``(lots num, den, left, right)``."""
    taken = 0
    for index, (ticks, lots) in enumerate(levels):
        need = den * lots * ticks
        if num > need:
            num -= need
            taken += lots
            continue
        if num == need:
            return (taken + lots) * den, den, index, index + 1
        # partial level: taken + num / (den * ticks) lots
        return taken * den * ticks + num, den * ticks, index, index
    return None


def _fee(leg: LegBook) -> tuple[int, int]:
    return leg.fee_rate.numerator, leg.fee_rate.denominator


def _forward(leg: LegBook, amount: Fraction) -> tuple[Fraction, int, int] | None:
    """Ideal output of ``leg`` for ``amount`` of input, with the left/right levels."""
    fee_num, fee_den = _fee(leg)
    scale = 10 ** (leg.price_precision + leg.qty_precision)
    if leg.side is Side.SELL:
        walked = _lots_to_notional(
            leg.levels, amount.numerator * 10**leg.qty_precision, amount.denominator
        )
        if walked is None:
            return None
        num, den, left, right = walked
        return Fraction(num * (fee_den - fee_num), den * fee_den * scale), left, right
    walked = _notional_to_lots(
        leg.levels,
        amount.numerator * scale * fee_den,
        amount.denominator * (fee_den + fee_num),
    )
    if walked is None:
        return None
    num, den, left, right = walked
    return Fraction(num, den * 10**leg.qty_precision), left, right


def _backward(leg: LegBook, wanted: Fraction) -> tuple[Fraction, int, int] | None:
    """Ideal input ``leg`` needs to give ``wanted`` of output, with the left/right levels."""
    fee_num, fee_den = _fee(leg)
    scale = 10 ** (leg.price_precision + leg.qty_precision)
    if leg.side is Side.SELL:
        if fee_num >= fee_den:
            return None
        walked = _notional_to_lots(
            leg.levels,
            wanted.numerator * scale * fee_den,
            wanted.denominator * (fee_den - fee_num),
        )
        if walked is None:
            return None
        num, den, left, right = walked
        return Fraction(num, den * 10**leg.qty_precision), left, right
    walked = _lots_to_notional(
        leg.levels, wanted.numerator * 10**leg.qty_precision, wanted.denominator
    )
    if walked is None:
        return None
    num, den, left, right = walked
    return Fraction(num * (fee_den + fee_num), den * fee_den * scale), left, right


def _boundary_input(leg: LegBook, level: int) -> Fraction:
    """Exact input that empties ``leg``'s levels up to and including ``level``."""
    fee_num, fee_den = _fee(leg)
    taken = leg.levels[: level + 1]
    if leg.side is Side.SELL:
        return Fraction(sum(lots for _, lots in taken), 10**leg.qty_precision)
    notional = sum(lots * ticks for ticks, lots in taken)
    scale = 10 ** (leg.price_precision + leg.qty_precision)
    return Fraction(notional * (fee_den + fee_num), fee_den * scale)


def rates_exceed(legs: Sequence[LegBook], levels: Sequence[int], threshold: Fraction) -> bool:
    """Exactly: does the product of the legs' rates at ``levels`` exceed ``threshold``?"""
    num = threshold.denominator
    den = threshold.numerator
    for leg, level in zip(legs, levels, strict=True):
        ticks = leg.levels[level][0]
        fee_num, fee_den = _fee(leg)
        if leg.side is Side.SELL:
            num *= ticks * (fee_den - fee_num)
            den *= 10**leg.price_precision * fee_den
        else:
            num *= 10**leg.price_precision * fee_den
            den *= ticks * (fee_den + fee_num)
    return num > den


def _float_segments(leg: LegBook) -> list[tuple[float, float]]:
    fee = float(leg.fee_rate)
    price_scale = 10.0**leg.price_precision
    qty_scale = 10.0**leg.qty_precision
    if leg.side is Side.SELL:
        keep = 1.0 - fee
        return [(lots / qty_scale, ticks / price_scale * keep) for ticks, lots in leg.levels]
    pay = 1.0 + fee
    return [
        (lots / qty_scale * ticks / price_scale * pay, price_scale / (ticks * pay))
        for ticks, lots in leg.levels
    ]


def float_walk_stop(legs: Sequence[LegBook], threshold: float) -> tuple[int, int] | None:
    """The level boundary ``(leg, level)`` where the float lockstep walk stops.

    None when the top of the books already fails the threshold in floats.
    """
    segments = [_float_segments(leg) for leg in legs]
    count = len(legs)
    position = [0] * count
    remaining = [levels[0][0] for levels in segments]
    rates = [levels[0][1] for levels in segments]
    product = 1.0
    for rate in rates:
        product *= rate
    if product <= threshold:
        return None
    while True:
        conversion = 1.0
        step = float("inf")
        binding = 0
        for index in range(count):
            fits = remaining[index] / conversion
            if fits < step:
                step, binding = fits, index
            conversion *= rates[index]
        conversion = 1.0
        stop: tuple[int, int] | None = None
        for index in range(count):
            remaining[index] -= step * conversion
            conversion *= rates[index]
            capacity = segments[index][position[index]][0]
            if index == binding or remaining[index] <= capacity * _EXHAUSTED:
                if index == binding or stop is None:
                    stop = (index, position[index])
                position[index] += 1
                if position[index] == len(segments[index]):
                    return stop
                remaining[index], rates[index] = segments[index][position[index]]
        product = 1.0
        for rate in rates:
            product *= rate
        if product <= threshold:
            return stop


def first_leg_qty_at(
    legs: Sequence[LegBook], stop: tuple[int, int], threshold: Fraction
) -> Fraction | None:
    """Leg 1's exact base quantity at the boundary ``stop``, if that boundary is ``x*``.

    None when the exact check says the boundary is not the smallest maximiser (the caller
    then runs the exact walk).
    """
    count = len(legs)
    at, level = stop
    inputs: list[Fraction | None] = [None] * count
    lefts = [0] * count
    rights = [0] * count
    inputs[at] = _boundary_input(legs[at], level)
    lefts[at], rights[at] = level, level + 1
    for index in range(at - 1, -1, -1):
        wanted = inputs[index + 1]
        assert wanted is not None
        back = _backward(legs[index], wanted)
        if back is None:
            return None
        inputs[index], lefts[index], rights[index] = back
    amount = inputs[at]
    assert amount is not None
    for index in range(at, count):
        ahead = _forward(legs[index], amount)
        if ahead is None:
            return None
        amount, left, right = ahead
        if index != at:
            lefts[index], rights[index] = left, right
        if index + 1 < count:
            inputs[index + 1] = amount
    if not rates_exceed(legs, lefts, threshold):
        return None
    can_go_on = all(right < len(leg.levels) for leg, right in zip(legs, rights, strict=True))
    if can_go_on and rates_exceed(legs, rights, threshold):
        return None
    first = inputs[0] if legs[0].side is Side.SELL else inputs[1]
    assert first is not None
    return first
