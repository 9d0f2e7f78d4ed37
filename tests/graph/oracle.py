"""A brute-force reference for cycle detection, used only by tests.

Written from the definition in ``arbitrade/graph/_sizing.py``'s docstring without sharing any
of the detector's code: cycles are enumerated from scratch by depth-first search from each
home currency; the ideal size is found by evaluating ``E(x) - m x`` at every breakpoint of the
piecewise-linear end-amount curve (each leg's level boundaries mapped back to the start asset
through exact inverses), instead of the detector's lockstep walk; rounding is re-derived.
Slow and obviously correct is the point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from arbitrade.messages import BookTop, Instrument


@dataclass(frozen=True)
class OracleLeg:
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    from_asset: str
    to_asset: str


@dataclass(frozen=True)
class OracleOpportunity:
    home: str
    legs: tuple[OracleLeg, ...]
    start_amount: Decimal
    end_amount: Decimal
    profit: Decimal
    profit_bps: Decimal


@dataclass(frozen=True)
class _Step:
    instrument: Instrument
    side: str  # "buy" or "sell"
    prices: tuple[Fraction, ...]  # level prices, best first
    sizes: tuple[Fraction, ...]  # level quantities in base
    fee: Fraction

    @property
    def source(self) -> str:
        return self.instrument.quote if self.side == "buy" else self.instrument.base

    @property
    def target(self) -> str:
        return self.instrument.base if self.side == "buy" else self.instrument.quote


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = 200
        return Decimal(value.numerator) / Decimal(value.denominator)


def _on_grid(increment: Decimal, precision: int) -> bool:
    units = increment * (Decimal(10) ** precision)
    return units > 0 and units == int(units)


def tradable(instrument: Instrument) -> bool:
    return (
        instrument.status == "online"
        and instrument.base != instrument.quote
        and _on_grid(instrument.qty_increment, instrument.qty_precision)
        and _on_grid(instrument.price_increment, instrument.price_precision)
    )


# -- the ideal piecewise-linear legs --------------------------------------------------------


def _input_per_level(step: _Step) -> list[Fraction]:
    """How much of the source asset each level absorbs."""
    if step.side == "sell":
        return list(step.sizes)
    return [
        size * price * (1 + step.fee) for price, size in zip(step.prices, step.sizes, strict=True)
    ]


def _output_per_level(step: _Step) -> list[Fraction]:
    if step.side == "sell":
        return [
            size * price * (1 - step.fee)
            for price, size in zip(step.prices, step.sizes, strict=True)
        ]
    return list(step.sizes)


def _forward(step: _Step, amount: Fraction) -> Fraction | None:
    """Output for ``amount`` of input; None when the levels cannot absorb it."""
    result = Fraction(0)
    left = amount
    for absorbs, gives in zip(_input_per_level(step), _output_per_level(step), strict=True):
        if left <= 0:
            break
        used = min(left, absorbs)
        result += gives * used / absorbs
        left -= used
    return result if left <= 0 else None


def _backward(step: _Step, wanted: Fraction) -> Fraction | None:
    """Input needed to receive ``wanted`` of output; None when the levels cannot give it."""
    needed = Fraction(0)
    left = wanted
    for absorbs, gives in zip(_input_per_level(step), _output_per_level(step), strict=True):
        if left <= 0:
            break
        got = min(left, gives)
        needed += absorbs * got / gives
        left -= got
    return needed if left <= 0 else None


def _end_amount(steps: Sequence[_Step], start: Fraction) -> Fraction | None:
    amount: Fraction | None = start
    for step in steps:
        assert amount is not None
        amount = _forward(step, amount)
        if amount is None:
            return None
    return amount


def _ideal_start(steps: Sequence[_Step], threshold: Fraction) -> Fraction:
    candidates = {Fraction(0)}
    for index, step in enumerate(steps):
        boundary = Fraction(0)
        for absorbs in _input_per_level(step):
            boundary += absorbs
            amount: Fraction | None = boundary
            for earlier in reversed(steps[:index]):
                assert amount is not None
                amount = _backward(earlier, amount)
                if amount is None:
                    break
            if amount is not None:
                candidates.add(amount)
    best_start = Fraction(0)
    best_value = Fraction(0)
    for start in sorted(candidates):
        end = _end_amount(steps, start)
        if end is None:
            continue
        value = end - threshold * start
        if value > best_value:
            best_start, best_value = start, value
    return best_start


# -- rounding ---------------------------------------------------------------------------------


def _order(step: _Step, lots: int) -> tuple[Fraction, Fraction, Fraction]:
    """(spent, received, worst level price) for ``lots`` of the base."""
    qty = Fraction(lots) / 10**step.instrument.qty_precision
    notional = Fraction(0)
    left = qty
    worst = Fraction(0)
    for price, size in zip(step.prices, step.sizes, strict=True):
        if left <= 0:
            break
        take = min(left, size)
        notional += take * price
        worst = price
        left -= take
    assert left == 0
    if step.side == "buy":
        return notional * (1 + step.fee), qty, worst
    return qty, notional * (1 - step.fee), worst


def _largest_lots(step: _Step, budget: Fraction) -> int:
    """Largest multiple of the qty increment whose order the budget pays for and the book fills."""
    instrument = step.instrument
    unit = Fraction(1) / 10**instrument.qty_precision
    increment = Fraction(instrument.qty_increment)
    depth = sum(step.sizes)
    # binary search on the number of increments: spending is increasing in the quantity
    low, high = 0, int(depth / increment)
    while low < high:
        middle = (low + high + 1) // 2
        lots = int(middle * increment / unit)
        spent, _, _ = _order(step, lots)
        if spent <= budget:
            low = middle
        else:
            high = middle - 1
    return int(low * increment / unit)


def _limit(step: _Step, worst: Fraction) -> Fraction:
    increment = Fraction(step.instrument.price_increment)
    steps = worst / increment
    rounded = math.ceil(steps) if step.side == "buy" else math.floor(steps)
    return rounded * increment


def _size(home: str, steps: Sequence[_Step], min_profit_bps: Fraction) -> OracleOpportunity | None:
    threshold = 1 + min_profit_bps / 10_000
    start = _ideal_start(steps, threshold)
    if start == 0:
        return None
    first = steps[0]
    base = start if first.side == "sell" else _forward(first, start)
    assert base is not None
    increment = Fraction(first.instrument.qty_increment)
    lots = int(math.floor(base / increment) * increment * 10**first.instrument.qty_precision)
    legs = []
    spent_first: Fraction | None = None
    budget = Fraction(0)
    for index, step in enumerate(steps):
        if index > 0:
            lots = _largest_lots(step, budget)
        if lots <= 0:
            return None
        spent, received, worst = _order(step, lots)
        qty = Fraction(lots) / 10**step.instrument.qty_precision
        limit = _limit(step, worst)
        if qty < Fraction(step.instrument.qty_min):
            return None
        if qty * limit < Fraction(step.instrument.cost_min):
            return None
        if spent_first is None:
            spent_first = spent
        legs.append(
            OracleLeg(
                symbol=step.instrument.symbol,
                side=step.side,
                price=_decimal(limit),
                qty=_decimal(qty),
                from_asset=step.source,
                to_asset=step.target,
            )
        )
        budget = received
    assert spent_first is not None
    end = budget
    profit = end - spent_first
    if profit <= 0 or profit * 10_000 < min_profit_bps * spent_first:
        return None
    bps = Fraction(math.floor(profit / spent_first * 1_000_000), 100)
    return OracleOpportunity(
        home=home,
        legs=tuple(legs),
        start_amount=_decimal(spent_first),
        end_amount=_decimal(end),
        profit=_decimal(profit),
        profit_bps=_decimal(bps),
    )


# -- enumeration ------------------------------------------------------------------------------


def find_all(
    instruments: Sequence[Instrument],
    books: Mapping[str, BookTop],
    fee_rates: Mapping[str, Decimal],
    homes: Sequence[str],
    *,
    max_length: int = 3,
    min_profit_bps: Decimal = Decimal(0),
    max_levels: int = 25,
) -> list[OracleOpportunity]:
    """Every opportunity on ``books``: each simple cycle from each home, sized from scratch.

    Books missing from ``books`` (or suspended: leave them out) make their cycles impossible.
    A symbol listed twice keeps its first tradable listing.
    """
    usable: dict[str, Instrument] = {}
    for instrument in instruments:
        if tradable(instrument):
            usable.setdefault(instrument.symbol, instrument)
    steps_from: dict[str, list[_Step]] = {}
    for symbol, instrument in usable.items():
        if symbol not in books:
            continue
        top = books[symbol]
        fee = Fraction(fee_rates[symbol])
        for side, levels in (("sell", top.bids), ("buy", top.asks)):
            if not levels:
                continue
            levels = levels[:max_levels]
            step = _Step(
                instrument=instrument,
                side=side,
                prices=tuple(Fraction(p, 10**top.price_precision) for p, _ in levels),
                sizes=tuple(Fraction(q, 10**top.qty_precision) for _, q in levels),
                fee=fee,
            )
            steps_from.setdefault(step.source, []).append(step)
    found: list[OracleOpportunity] = []
    threshold = Fraction(min_profit_bps)

    def extend(home: str, path: list[_Step], visited: list[str]) -> None:
        here = path[-1].target
        if here == home:
            if len(path) >= 3:
                result = _size(home, path, threshold)
                if result is not None:
                    found.append(result)
            return
        if len(path) == max_length:
            return
        for step in steps_from.get(here, []):
            if step.target != home and step.target in visited:
                continue
            extend(home, [*path, step], [*visited, step.target])

    for home in dict.fromkeys(homes):
        for step in steps_from.get(home, []):
            extend(home, [step], [home, step.target])
    return found
