"""The matching engine through the Simulator's Python API (no network, frozen clock)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrade.sim import DEFAULT_API_KEY, Side, Simulator
from arbitrade.sim._engine import OrderRequest
from arbitrade.sim._orders import OrderRejected, OrderStatus

KEY = DEFAULT_API_KEY


def _place(sim: Simulator, **fields: object) -> object:
    request = OrderRequest(**fields)  # type: ignore[arg-type]
    return sim.place_order(KEY, request, transport="test", method="add_order", params={})


def _best(sim: Simulator, symbol: str, side: Side) -> int:
    best = sim.model.book(symbol).best(side)
    assert best is not None
    return best


class TestTaking:
    def test_market_buy_when_filled_moves_book_and_charges_taker_fee(
        self, simulator: Simulator
    ) -> None:
        """A market buy takes the best ask, pays 0.40% in quote, and receives the base."""
        ask = _best(simulator, "BTC/USD", Side.ASK)
        ask_lots = simulator.model.book("BTC/USD").quantity(Side.ASK, ask)
        qty = Decimal(ask_lots).scaleb(-8)
        order = _place(simulator, symbol="BTC/USD", side="buy", order_type="market", qty=qty)
        assert order is not None
        assert order.status is OrderStatus.CLOSED
        assert simulator.model.book("BTC/USD").quantity(Side.ASK, ask) == 0
        account = simulator.engine.accounts[KEY]
        cost = Decimal(ask * ask_lots).scaleb(-9)
        fee = (cost * Decimal("0.004")).quantize(Decimal("0.00001"))
        assert account.balances["BTC"] == Decimal(2) + qty
        assert account.balances["USD"] == Decimal(100_000) - cost - fee

    def test_ioc_limit_when_partly_fillable_cancels_the_rest(self, simulator: Simulator) -> None:
        """IOC fills what crosses at its limit and cancels the remainder."""
        ask = _best(simulator, "ETH/USD", Side.ASK)
        lots = simulator.model.book("ETH/USD").quantity(Side.ASK, ask)
        qty = Decimal(lots + 10**8).scaleb(-8)
        order = _place(
            simulator,
            symbol="ETH/USD",
            side="buy",
            order_type="limit",
            qty=qty,
            limit_price=Decimal(ask).scaleb(-2),
            time_in_force="ioc",
        )
        assert order.status is OrderStatus.CANCELED  # type: ignore[attr-defined]
        assert order.filled_lots == lots  # type: ignore[attr-defined]
        assert simulator.engine.open_orders(KEY) == []


class TestResting:
    def test_limit_when_not_crossing_rests_in_book_and_cancel_removes_it(
        self, simulator: Simulator
    ) -> None:
        """A passive limit adds its quantity to its level; cancelling takes it out."""
        bid = _best(simulator, "SOL/USD", Side.BID) - 50
        before = simulator.model.book("SOL/USD").quantity(Side.BID, bid)
        order = _place(
            simulator,
            symbol="SOL/USD",
            side="buy",
            order_type="limit",
            qty="1.5",
            limit_price=Decimal(bid).scaleb(-2),
            cl_ord_id="c-1",
        )
        book = simulator.model.book("SOL/USD")
        assert book.quantity(Side.BID, bid) == before + 150_000_000
        simulator.cancel_order(KEY, order)  # type: ignore[arg-type]
        assert book.quantity(Side.BID, bid) == before
        assert simulator.engine.accounts[KEY].held.get("USD", Decimal(0)) == 0

    def test_resting_order_when_market_trades_through_fills_as_maker(
        self, simulator: Simulator
    ) -> None:
        """A bid inside the spread is filled (maker fee) when the model's bids move below it."""
        bid = _best(simulator, "BTC/USD", Side.BID)
        ask = _best(simulator, "BTC/USD", Side.ASK)
        price = (bid + ask) // 2
        order = _place(
            simulator,
            symbol="BTC/USD",
            side="buy",
            order_type="limit",
            qty="0.01",
            limit_price=Decimal(price).scaleb(-1),
        )
        for _ in range(200):
            simulator.step()
            if order.status is OrderStatus.CLOSED:  # type: ignore[attr-defined]
                break
        assert order.status is OrderStatus.CLOSED  # type: ignore[attr-defined]
        assert order.fills[0].liquidity == "m"  # type: ignore[attr-defined]


class TestRejections:
    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"qty": "1000"}, "EOrder:Insufficient funds"),
            ({"qty": "0.00001"}, "EOrder:Order minimum not met"),
            ({"qty": "0.0100000001"}, "EOrder:Tick size check failed"),
            ({"limit_price": "100.05"}, "EOrder:Tick size check failed"),
            ({"symbol": "NOPE/USD"}, "EQuery:Unknown asset pair"),
            ({"side": "hold"}, "EGeneral:Invalid arguments"),
            ({"symbol": "KSM/EUR", "qty": "1"}, "EService:Market in cancel_only mode"),
            (
                {"symbol": "QTUM/EUR", "qty": "10", "limit_price": "3"},
                "EService:Market in post_only mode",
            ),
        ],
    )
    def test_order_when_invalid_is_rejected_with_kraken_error(
        self, simulator: Simulator, fields: dict[str, object], error: str
    ) -> None:
        """Each broken rule gives Kraken's error string, and the request is still recorded."""
        base: dict[str, object] = {
            "symbol": "BTC/USD",
            "side": "buy",
            "order_type": "limit",
            "qty": "0.01",
            "limit_price": "100.0",
        }
        with pytest.raises(OrderRejected) as caught:
            _place(simulator, **{**base, **fields})
        assert caught.value.error == error
        assert simulator.received_orders[-1].error == error

    def test_order_when_engine_in_maintenance_is_refused(self, simulator: Simulator) -> None:
        """In maintenance nothing is placed."""
        simulator.set_faults(system_status="maintenance")
        with pytest.raises(OrderRejected, match="EService:Unavailable"):
            _place(simulator, symbol="BTC/USD", side="buy", order_type="market", qty="0.01")

    def test_post_only_when_it_would_take_is_canceled(self, simulator: Simulator) -> None:
        """A post-only limit that crosses is accepted then canceled, never filled."""
        ask = _best(simulator, "BTC/USD", Side.ASK)
        order = _place(
            simulator,
            symbol="BTC/USD",
            side="buy",
            order_type="limit",
            qty="0.01",
            limit_price=Decimal(ask).scaleb(-1),
            post_only=True,
        )
        assert order.status is OrderStatus.CANCELED  # type: ignore[attr-defined]
        assert order.filled_lots == 0  # type: ignore[attr-defined]


class TestRecord:
    def test_received_orders_when_orders_arrive_are_all_kept_in_order(
        self, simulator: Simulator
    ) -> None:
        """Every request is recorded with its client id, accepted or not."""
        _place(
            simulator,
            symbol="BTC/USD",
            side="buy",
            order_type="limit",
            qty="0.01",
            limit_price="100.0",
            cl_ord_id="a",
        )
        with pytest.raises(OrderRejected):
            _place(
                simulator,
                symbol="BTC/USD",
                side="buy",
                order_type="limit",
                qty="5000",
                limit_price="100.0",
                cl_ord_id="b",
            )
        assert [(r.sequence, r.cl_ord_id) for r in simulator.received_orders] == [
            (1, "a"),
            (2, "b"),
        ]
        assert simulator.received_orders[0].order_id is not None

    def test_executions_when_order_fills_report_lifecycle(self, simulator: Simulator) -> None:
        """pending_new, new, trade, filled are reported for a filled market order."""
        _place(simulator, symbol="ETH/USD", side="buy", order_type="market", qty="0.01")
        kinds = [event["exec_type"] for event in simulator.executions[KEY]]
        assert kinds[:2] == ["pending_new", "new"]
        assert "trade" in kinds
        assert kinds[-1] == "filled"
