"""Exact sizing of stat-arb legs: capital split by the hedge ratio, rounded to lots and minimums."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrade.messages import Leg, Side
from arbitrade.strategy.stat_arb import Direction, LegQuote, SizingRefused, closing_legs, entry_legs

from .stat_builders import BTC, ETH, instrument

ETH_QUOTE = LegQuote(ETH, Decimal("2999.99"), Decimal("3000.01"))
BTC_QUOTE = LegQuote(BTC, Decimal("29999.9"), Decimal("30000.1"))


class TestEntryLegs:
    def test_entry_legs_when_long_with_unit_ratio_splits_capital_evenly(self) -> None:
        """Long the spread buys y and sells x, half the capital each, floored to the lot."""
        legs = entry_legs(Direction.LONG, 1.0, Decimal(1000), ETH_QUOTE, BTC_QUOTE, Decimal(0))
        assert legs == (
            Leg("ETH/USD", Side.BUY, Decimal("3000.01"), Decimal("0.16666666"), "USD", "ETH"),
            Leg("BTC/USD", Side.SELL, Decimal("29999.9"), Decimal("0.01666666"), "BTC", "USD"),
        )

    def test_entry_legs_when_short_with_ratio_three_weights_x_three_to_one(self) -> None:
        """Short sells y; x gets |ratio| / (1 + |ratio|) of the capital (750 of 1000)."""
        legs = entry_legs(Direction.SHORT, 3.0, Decimal(1000), ETH_QUOTE, BTC_QUOTE, Decimal(0))
        assert not isinstance(legs, SizingRefused)
        y_leg, x_leg = legs
        assert (y_leg.side, y_leg.qty) == (Side.SELL, Decimal("0.08333333"))  # 250 / 3000
        assert (x_leg.side, x_leg.qty) == (Side.BUY, Decimal("0.025"))  # 750 / 30000

    def test_entry_legs_when_ratio_negative_trades_both_legs_the_same_way(self) -> None:
        """A negative ratio hedges with the same side on x."""
        legs = entry_legs(Direction.LONG, -1.0, Decimal(1000), ETH_QUOTE, BTC_QUOTE, Decimal(0))
        assert not isinstance(legs, SizingRefused)
        assert [leg.side for leg in legs] == [Side.BUY, Side.BUY]

    def test_entry_legs_when_slippage_moves_limits_beyond_touch_on_grid(self) -> None:
        """10 bps: buy limit 3000.01 * 1.001 rounded up; sell 29999.9 * 0.999 rounded down."""
        legs = entry_legs(Direction.LONG, 1.0, Decimal(1000), ETH_QUOTE, BTC_QUOTE, Decimal(10))
        assert not isinstance(legs, SizingRefused)
        assert legs[0].price == Decimal("3003.02")  # 3003.01001 up to the cent
        assert legs[1].price == Decimal("29969.9")  # 29969.9001 down to the 0.1

    def test_entry_legs_when_x_leg_below_qty_min_refuses(self) -> None:
        """A tiny ratio leaves x below its minimum: no half-hedged position."""
        legs = entry_legs(Direction.LONG, 0.001, Decimal(1000), ETH_QUOTE, BTC_QUOTE, Decimal(0))
        assert legs is SizingRefused.BELOW_QTY_MIN

    def test_entry_legs_when_below_cost_min_refuses(self) -> None:
        """A leg whose cost is under the pair's cost_min refuses."""
        costly = LegQuote(
            instrument("ETH/USD", cost_min="600"), Decimal("2999.99"), Decimal("3000.01")
        )
        legs = entry_legs(Direction.LONG, 1.0, Decimal(1000), costly, BTC_QUOTE, Decimal(0))
        assert legs is SizingRefused.BELOW_COST_MIN

    def test_entry_legs_when_fx_leg_converts_price_to_home(self) -> None:
        """A BTC/EUR leg priced through EUR/USD at 1.25 gets 500 USD / (24000 * 1.25) BTC."""
        eur = LegQuote(
            instrument("BTC/EUR", price_precision=1),
            Decimal("23999.9"),
            Decimal("24000.1"),
            fx=Decimal("1.25"),
        )
        legs = entry_legs(Direction.SHORT, 1.0, Decimal(1000), BTC_QUOTE, eur, Decimal(0))
        assert not isinstance(legs, SizingRefused)
        assert legs[1] == Leg(
            "BTC/EUR", Side.BUY, Decimal("24000.1"), Decimal("0.01666666"), "EUR", "BTC"
        )

    @settings(max_examples=200, deadline=None)
    @given(
        direction=st.sampled_from(Direction),
        ratio=st.floats(min_value=-20, max_value=20, allow_nan=False),
        capital=st.decimals(min_value=1, max_value=100_000, places=2),
        y_mid=st.decimals(min_value="0.01", max_value=100_000, places=2),
        x_mid=st.decimals(min_value="0.1", max_value=100_000, places=1),
        qty_places=st.integers(min_value=0, max_value=8),
        qty_min=st.decimals(min_value=0, max_value=5, places=4),
        cost_min=st.decimals(min_value=0, max_value=50, places=2),
        slippage=st.decimals(min_value=0, max_value=100, places=1),
    )
    def test_entry_legs_when_sized_are_on_grid_and_above_minimums(
        self,
        direction: Direction,
        ratio: float,
        capital: Decimal,
        y_mid: Decimal,
        x_mid: Decimal,
        qty_places: int,
        qty_min: Decimal,
        cost_min: Decimal,
        slippage: Decimal,
    ) -> None:
        """Every sized leg is a whole number of lots and ticks, at least qty_min and cost_min,
        and the legs together spend no more than the capital at the mids."""
        increment = str(Decimal(1).scaleb(-qty_places))
        y_rules = instrument(
            "AAA/USD", qty_increment=increment, qty_min=str(qty_min), cost_min=str(cost_min)
        )
        x_rules = instrument(
            "BBB/USD",
            price_precision=1,
            qty_increment=increment,
            qty_min=str(qty_min),
            cost_min=str(cost_min),
        )
        y = LegQuote(y_rules, y_mid, y_mid + Decimal("0.02"))
        x = LegQuote(x_rules, x_mid, x_mid + Decimal("0.2"))
        legs = entry_legs(direction, ratio, capital, y, x, slippage)
        if isinstance(legs, SizingRefused):
            return
        notional = Decimal(0)
        for leg, quote in zip(legs, (y, x), strict=True):
            rules = quote.instrument
            assert leg.qty % rules.qty_increment == 0
            assert leg.price % rules.price_increment == 0
            assert leg.qty >= rules.qty_min
            assert leg.qty > 0
            assert leg.qty * leg.price >= rules.cost_min
            notional += leg.qty * quote.mid_home
        assert notional <= capital


class TestClosingLegs:
    def test_closing_legs_when_holdings_reverse_them(self) -> None:
        """Bought ETH is sold back, sold BTC is bought back, at the touch."""
        legs = closing_legs(
            {"ETH/USD": Decimal("0.5"), "BTC/USD": Decimal("-0.05")},
            {"ETH/USD": ETH_QUOTE, "BTC/USD": BTC_QUOTE},
            Decimal(0),
        )
        assert [(leg.symbol, leg.side, leg.qty) for leg in legs] == [
            ("ETH/USD", Side.SELL, Decimal("0.5")),
            ("BTC/USD", Side.BUY, Decimal("0.05")),
        ]

    def test_closing_legs_when_holding_is_dust_leaves_it(self) -> None:
        """A holding below the pair's minimum quantity cannot be ordered and is left out."""
        legs = closing_legs(
            {"ETH/USD": Decimal("0.001"), "BTC/USD": Decimal("-0.05")},
            {"ETH/USD": ETH_QUOTE, "BTC/USD": BTC_QUOTE},
            Decimal(0),
        )
        assert [leg.symbol for leg in legs] == ["BTC/USD"]
