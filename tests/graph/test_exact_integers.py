"""The integer shortcuts of sizing agree with the plain ``Fraction`` definitions they replace.

Capping a leg at the trade capital, the profit-after-rounding check, basis points and exact
decimals are computed over integer numerators and denominators for speed; each property
here checks one against the straightforward ``Fraction`` formula (the money oracle).
"""

from __future__ import annotations

import decimal
from fractions import Fraction
from math import floor

from hypothesis import given
from hypothesis import strategies as st

from arbitrade.graph import LegBook
from arbitrade.graph._sizing import basis_points, exact_decimal
from arbitrade.graph.capital import _cap, _decimal
from arbitrade.messages import Side

FEES = st.sampled_from([Fraction(0), Fraction(26, 10_000), Fraction(1, 1000), Fraction(1, 3)])
LEVELS = st.lists(
    st.tuples(st.integers(1, 10**7), st.integers(1, 10**9)), min_size=0, max_size=8
).map(lambda pairs: tuple(sorted(pairs)))
CAPITAL = st.fractions(min_value=Fraction(1, 10**6), max_value=10**6, max_denominator=10**6)


def _reference_cap(leg: LegBook, capital: Fraction) -> tuple[tuple[int, int], ...]:
    """The cap as first written: Fraction arithmetic level by level."""
    levels: list[tuple[int, int]] = []
    left = capital
    for ticks, lots in leg.levels:
        qty = Fraction(lots, 10**leg.qty_precision)
        unit = (
            Fraction(ticks, 10**leg.price_precision) * (1 + leg.fee_rate)
            if leg.side is Side.BUY
            else Fraction(1)
        )
        if qty * unit <= left:
            levels.append((ticks, lots))
            left -= qty * unit
            continue
        partial = floor(left / unit * 10**leg.qty_precision)
        if partial > 0:
            levels.append((ticks, partial))
        break
    return tuple(levels)


@given(
    side=st.sampled_from(list(Side)),
    levels=LEVELS,
    price_precision=st.integers(0, 8),
    qty_precision=st.integers(0, 8),
    fee=FEES,
    capital=CAPITAL,
)
def test_cap_when_capital_cuts_the_levels_matches_the_fraction_definition(
    side: Side,
    levels: tuple[tuple[int, int], ...],
    price_precision: int,
    qty_precision: int,
    fee: Fraction,
    capital: Fraction,
) -> None:
    """The integer cap keeps exactly the levels and partial lots the Fraction walk keeps."""
    leg = LegBook(
        side=side,
        levels=levels,
        price_precision=price_precision,
        qty_precision=qty_precision,
        fee_rate=fee,
        qty_step=1,
        price_step=1,
        qty_min=Fraction(0),
        cost_min=Fraction(0),
    )
    assert _cap(leg, capital).levels == _reference_cap(leg, capital)


@given(
    profit=st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=10**9),
    start=st.fractions(min_value=Fraction(1, 10**9), max_value=10**6, max_denominator=10**9),
)
def test_basis_points_when_computed_in_integers_matches_the_fraction_floor(
    profit: Fraction, start: Fraction
) -> None:
    """Basis points round down to 0.01 bp exactly as ``floor(profit * 1e6 / start)`` does."""
    expected = decimal.Decimal(floor(profit * 1_000_000 / start)).scaleb(-2)
    got = basis_points(profit, start)
    assert got == expected
    assert repr(got) == repr(expected)


@given(
    numerator=st.integers(-(10**30), 10**30),
    twos=st.integers(0, 40),
    fives=st.integers(0, 40),
)
def test_decimal_when_denominator_is_finite_matches_the_exact_division(
    numerator: int, twos: int, fives: int
) -> None:
    """Same value and same exponent (same repr) as the 80-digit division it replaces."""
    value = Fraction(numerator, 2**twos * 5**fives)
    expected = decimal.Context(prec=80).divide(
        decimal.Decimal(value.numerator), decimal.Decimal(value.denominator)
    )
    assert repr(_decimal(value)) == repr(expected)
    assert repr(exact_decimal(value, decimal.Context(prec=80))) == repr(expected)


def test_decimal_when_denominator_has_other_primes_falls_back_to_80_digits() -> None:
    """A third is no finite decimal: 80 significant digits, as before."""
    assert _decimal(Fraction(1, 3)) == decimal.Context(prec=80).divide(1, 3)
