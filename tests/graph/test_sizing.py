"""Exact sizing of one cycle: depth walking, ties, rounding to steps, minimums."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.graph import LegBook, SizedCycle, SizingRejected, size_cycle
from arbitrade.graph._sizing import (
    basis_points,
    exact_decimal,
    exact_first_leg_qty,
    ideal_first_leg_qty,
)
from arbitrade.graph._walk import first_leg_qty_at, float_walk_stop
from arbitrade.messages import Side
from tests.graph.helpers import detector_for
from tests.graph.strategies import Market, markets


def leg(
    side: Side,
    levels: tuple[tuple[int, int], ...],
    *,
    price_precision: int = 2,
    qty_precision: int = 0,
    fee: str = "0",
    qty_step: int = 1,
    price_step: int = 1,
    qty_min: str = "0",
    cost_min: str = "0",
) -> LegBook:
    return LegBook(
        side=side,
        levels=levels,
        price_precision=price_precision,
        qty_precision=qty_precision,
        fee_rate=Fraction(fee),
        qty_step=qty_step,
        price_step=price_step,
        qty_min=Fraction(qty_min),
        cost_min=Fraction(cost_min),
    )


def triangle(first_asks: tuple[tuple[int, int], ...], **first: object) -> list[LegBook]:
    """H -> A (buy A/H) -> B (sell A/B at 1.00) -> H (sell B/H at 1.10); no fees."""
    return [
        leg(Side.BUY, first_asks, **first),  # type: ignore[arg-type]
        leg(Side.SELL, ((100, 1000),)),
        leg(Side.SELL, ((110, 1000),)),
    ]


def sized(result: SizedCycle | SizingRejected) -> SizedCycle:
    assert isinstance(result, SizedCycle), result
    return result


class TestDepth:
    def test_size_when_second_level_still_profitable_walks_into_it(self) -> None:
        """A deeper level whose marginal product is above 1 is taken too."""
        result = sized(size_cycle(triangle(((100, 10), (105, 10)))))
        assert [order.qty_lots for order in result.legs] == [20, 20, 20]
        assert result.legs[0].limit_ticks == 105
        assert result.start == Fraction(2050, 100)
        assert result.end == Fraction(22)

    def test_size_when_marginal_product_ties_at_one_stops_before_the_tie(self) -> None:
        """A level whose marginal product is exactly 1 adds no profit and is not taken."""
        result = sized(size_cycle(triangle(((100, 10), (110, 10)))))
        assert result.legs[0].qty_lots == 10
        assert result.legs[0].limit_ticks == 100

    def test_size_when_min_profit_set_stops_where_marginal_units_earn_less(self) -> None:
        """With a 600 bp minimum the 105 level (4.8 % marginal edge) is not walked."""
        result = sized(size_cycle(triangle(((100, 10), (105, 10))), Fraction(600)))
        assert result.legs[0].qty_lots == 10

    def test_size_when_a_side_is_empty_rejects_no_edge(self) -> None:
        """No levels on a leg: nothing to size."""
        assert size_cycle(triangle(())) is SizingRejected.NO_EDGE

    def test_size_when_top_is_unprofitable_rejects_no_edge(self) -> None:
        """A top-of-book product at or below 1 gives no edge."""
        assert size_cycle(triangle(((110, 10),))) is SizingRejected.NO_EDGE


class TestRounding:
    def test_size_when_qty_step_coarser_than_lots_rounds_down_to_the_step(self) -> None:
        """Leg quantities are multiples of the qty step, rounded down."""
        result = sized(size_cycle(triangle(((100, 17),), qty_step=5)))
        assert result.legs[0].qty_lots == 15

    def test_size_when_price_step_coarser_than_ticks_moves_buy_limit_up(self) -> None:
        """A buy's limit goes up to the price grid; the fills stay at level prices."""
        result = sized(size_cycle(triangle(((101, 10),), price_step=5)))
        assert result.legs[0].limit_ticks == 105
        assert result.start == Fraction(1010, 100)

    def test_size_when_price_step_coarser_than_ticks_moves_sell_limit_down(self) -> None:
        """A sell's limit goes down to the price grid."""
        legs = triangle(((100, 10),))
        legs[2] = leg(Side.SELL, ((111, 1000),), price_step=5)
        result = sized(size_cycle(legs))
        assert result.legs[2].limit_ticks == 110

    def test_size_when_a_buy_leg_pays_fee_buys_what_the_budget_affords(self) -> None:
        """A buy after the first leg takes the most whole lots its budget pays, fee included."""
        legs = [
            leg(Side.SELL, ((100, 10),)),  # 10 A -> 10 H' (price 1.00)
            leg(Side.BUY, ((300, 100),), fee="0.01"),  # 10 / (3.00 * 1.01) = 3.3 lots
            leg(Side.SELL, ((400, 100),)),  # back at 4.00
        ]
        result = sized(size_cycle(legs))
        assert [order.qty_lots for order in result.legs] == [10, 3, 3]
        assert result.legs[1].spent == Fraction(909, 100)

    def test_size_when_qty_rounds_to_zero_rejects(self) -> None:
        """A leg that can afford less than one step is rejected."""
        legs = triangle(((100, 10),))
        legs[1] = leg(Side.SELL, ((100, 1000),), qty_step=100)
        assert size_cycle(legs) is SizingRejected.ROUNDS_TO_ZERO


class TestMinimums:
    def test_size_when_qty_below_minimum_rejects(self) -> None:
        """A leg under its qty_min is rejected."""
        assert size_cycle(triangle(((100, 10),), qty_min="11")) is SizingRejected.BELOW_QTY_MIN

    def test_size_when_cost_below_minimum_rejects(self) -> None:
        """A leg whose qty times limit is under cost_min is rejected."""
        assert size_cycle(triangle(((100, 10),), cost_min="10.01")) is SizingRejected.BELOW_COST_MIN

    def test_size_when_rounding_eats_the_edge_rejects_unprofitable(self) -> None:
        """Dust lost to rounding can turn a thin edge into a loss."""
        legs = [
            leg(Side.BUY, ((100, 1),)),  # 1.00 H -> 1 A
            leg(Side.SELL, ((150, 1000),), qty_precision=0),  # 1 A -> 1.50 B
            leg(Side.SELL, ((70, 1000),), qty_step=1),  # only 1 whole B sells: 0.70 H
        ]
        assert size_cycle(legs) is SizingRejected.UNPROFITABLE_AFTER_ROUNDING


class TestNumbers:
    @pytest.mark.parametrize(
        ("value", "text"),
        [(Fraction(1, 8), "0.125"), (Fraction(-3, 20), "-0.15"), (Fraction(7), "7")],
    )
    def test_exact_decimal_when_finite_expansion_is_exact(self, value: Fraction, text: str) -> None:
        """A fraction over powers of 2 and 5 converts without rounding."""
        assert exact_decimal(value) == Decimal(text)

    def test_exact_decimal_when_no_finite_expansion_raises(self) -> None:
        """One third has no finite decimal: ValueError, never a silent rounding."""
        with pytest.raises(ValueError, match="no finite decimal"):
            exact_decimal(Fraction(1, 3))

    def test_basis_points_when_fractional_rounds_down_to_a_hundredth(self) -> None:
        """bps are rounded down to 0.01."""
        assert basis_points(Fraction(1, 3), Fraction(100)) == Decimal("33.33")


class TestFastPath:
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(market=markets(minimums=False), min_bps=st.sampled_from((0, 5)))
    def test_ideal_size_when_fast_path_answers_equals_the_exact_walk(
        self, market: Market, min_bps: int
    ) -> None:
        """The float walk plus exact check gives the exact walk's answer whenever it answers."""
        detector = detector_for(market.instruments, market.fee_rates, market.homes, max_length=4)
        for book in market.books.values():
            detector.on_book_top(book)
        threshold = 1 + Fraction(min_bps, 10_000)
        for ring in detector.graph.cycles_of_ring:
            for cycle in ring:
                books = [detector._books[leg.pair] for leg in cycle.legs]
                if any(book is None for book in books):
                    continue
                legs = [
                    detector._leg_book(2 * leg.pair + (leg.side is Side.BUY)) for leg in cycle.legs
                ]
                if any(not leg.levels for leg in legs):
                    continue
                exact = exact_first_leg_qty(legs, threshold)
                stop = float_walk_stop(legs, float(threshold))
                if stop is None:
                    assert exact == 0
                    continue
                fast = first_leg_qty_at(legs, stop, threshold)
                assert fast is None or fast == exact
                assert ideal_first_leg_qty(legs, threshold) == exact
