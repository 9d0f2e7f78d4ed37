"""Exact cycle arithmetic the gate relies on."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from arbitrade.messages import Leg, Side
from arbitrade.risk import implied_home_values, leg_flow, net_home_profit
from arbitrade.risk._legs import leg_home_notionals, spend_by_asset
from tests.risk.builders import make_opportunity, triangle_legs

D = Decimal
FEE = D("0.004")


class TestLegFlow:
    def test_flow_when_buying_spends_quote_plus_fee(self) -> None:
        """A buy spends qty * price * (1 + fee) of the quote and receives qty of the base."""
        flow = leg_flow(Leg("BTC/USD", Side.BUY, D(50000), D("0.01"), "USD", "BTC"), FEE)
        assert (flow.from_asset, flow.spend, flow.to_asset, flow.receive) == (
            "USD",
            D("502.000"),
            "BTC",
            D("0.01"),
        )

    def test_flow_when_selling_receives_quote_less_fee(self) -> None:
        """A sell spends qty of the base and receives qty * price * (1 - fee) of the quote."""
        flow = leg_flow(Leg("ETH/USD", Side.SELL, D(2600), D("0.2"), "ETH", "USD"), FEE)
        assert (flow.spend, flow.receive) == (D("0.2"), D("517.920"))

    @given(
        price=st.decimals(min_value=D("0.00001"), max_value=D(100000), places=5),
        qty=st.decimals(min_value=D("0.00001"), max_value=D(1000), places=5),
    )
    def test_flow_when_fee_is_zero_buy_and_sell_mirror(self, price: Decimal, qty: Decimal) -> None:
        """Without fees a buy and a sell of the same size move exactly the same amounts."""
        buy = leg_flow(Leg("X/Y", Side.BUY, price, qty, "Y", "X"), D(0))
        sell = leg_flow(Leg("X/Y", Side.SELL, price, qty, "X", "Y"), D(0))
        assert (buy.spend, buy.receive) == (sell.receive, sell.spend)


class TestCycleFigures:
    def test_profit_when_triangle_values_every_asset_in_home(self) -> None:
        """Home flow 15.92 less the ETH/BTC leg's fee, 0.00004 BTC worth 2 USD."""
        profit, bps = net_home_profit(make_opportunity(), FEE)
        assert profit == D("13.92")
        assert round(bps, 2) == D("277.29")

    def test_profit_when_unvalued_asset_spent_is_minus_infinity(self) -> None:
        """Spending what cannot be valued can never pass a profit check."""
        legs = (Leg("DOGE/EUR", Side.SELL, D(1), D(1), "DOGE", "EUR"),)
        profit, _ = net_home_profit(make_opportunity(legs=legs, book_ages=(0,)), FEE)
        assert profit == D("-Infinity")

    def test_spend_when_legs_go_out_together_sums_each_asset(self) -> None:
        """Every asset a leg spends is needed up front."""
        spend = spend_by_asset(make_opportunity(), FEE)
        assert spend == {"USD": D("502.000"), "BTC": D("0.0100400"), "ETH": D("0.2")}

    def test_values_when_walking_legs_price_each_asset_in_home(self) -> None:
        """Assets are valued at the cycle's own prices, starting from home = 1."""
        values = implied_home_values(make_opportunity())
        assert values == {"USD": D(1), "BTC": D(50000), "ETH": D("2500.00")}

    def test_notionals_when_leg_spends_intermediate_asset_valued_in_home(self) -> None:
        """The second leg spends BTC, worth 50000 USD each at the first leg's price."""
        notionals = leg_home_notionals(make_opportunity(), FEE)
        assert notionals[1] == D("502.000000")

    def test_notionals_when_asset_unreachable_count_as_infinite(self) -> None:
        """A leg whose asset cannot be valued fails any per-leg limit."""
        legs = (*triangle_legs()[:1], Leg("DOGE/EUR", Side.BUY, D(1), D(1), "EUR", "DOGE"))
        notionals = leg_home_notionals(make_opportunity(legs=legs, book_ages=(0, 0)), FEE)
        assert notionals[1] == D("Infinity")
