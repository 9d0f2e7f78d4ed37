"""The live venue: its refusal rules, and the conformance suite against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
import pytest
import trio

from arbitrade.config import Mode, Secret, Settings
from arbitrade.execution import (
    LiveVenue,
    OrderRequest,
    VenueConnection,
    VenueRefusedToStart,
    check_live_settings,
)
from arbitrade.execution.testing import VenueFixture, check_venue
from arbitrade.messages import (
    TOPIC_OPPORTUNITIES,
    CycleFinished,
    Fill,
    Leg,
    OrderState,
    PortfolioSnapshot,
)
from arbitrade.messages import Side as MessageSide
from arbitrade.sim import DEFAULT_API_KEY, MarketSettings, SimConfig, Simulator, serve_simulator
from arbitrade.sim._book import Side as BookSide
from arbitrade.sim._config import DEFAULT_API_SECRET
from tests.execution.tree import trading_tree
from tests.risk.builders import make_opportunity

LIVE = Settings(
    mode=Mode.LIVE,
    live_trading_confirmed=True,
    kraken_api_key=Secret(DEFAULT_API_KEY),
    kraken_api_secret=Secret(DEFAULT_API_SECRET),
    kraken_api_key_permissions=("query", "trade"),
)


class TestRefusals:
    @pytest.mark.parametrize(
        ("changes", "problem"),
        [
            ({"mode": Mode.PAPER}, "mode is paper"),
            ({"mode": Mode.SIM}, "mode is sim"),
            ({"kraken_api_key": Secret(""), "kraken_api_secret": Secret("")}, "required"),
            ({"kraken_api_key_permissions": ("query", "trade", "withdraw")}, "withdrawal"),
        ],
    )
    def test_start_when_settings_unsafe_refuses(
        self, changes: dict[str, object], problem: str
    ) -> None:
        """Live trading needs live mode, credentials and a key without withdrawal scope."""
        with pytest.raises(VenueRefusedToStart, match=problem):
            check_live_settings(attrs.evolve(LIVE, **changes))  # type: ignore[arg-type]

    def test_construct_when_unsafe_refuses_before_connecting(self) -> None:
        """The venue checks at construction, before any network use."""
        with pytest.raises(VenueRefusedToStart):
            LiveVenue(attrs.evolve(LIVE, mode=Mode.PAPER))

    def test_start_when_safe_passes(self) -> None:
        """A live, credentialed, withdrawal-free configuration is accepted."""
        check_live_settings(LIVE)


SYMBOL = "BTC/USD"
SIMULATORS: list[Simulator] = []
"""Simulators started by :func:`simulated_live`, newest last (for fault injection)."""


@asynccontextmanager
async def simulated_live() -> AsyncIterator[VenueFixture]:
    """A LiveVenue connected to a simulator on loopback whose market stands still."""
    market = MarketSettings(tick_seconds=0.02, mispricing_rate=0.0)
    config = SimConfig(symbols=("BTC/USD", "ETH/USD", "ETH/BTC"), market=market, ticking=False)
    async with trio.open_nursery() as nursery:
        running = await nursery.start(serve_simulator, config)
        settings = attrs.evolve(
            LIVE,
            kraken_rest_url=running.rest_url,
            kraken_ws_private_url=running.ws_private_url,
        )
        venue = LiveVenue(settings)
        await nursery.start(venue.run)
        sim = running.simulator
        SIMULATORS.append(sim)
        pair = sim.universe.pair(SYMBOL)
        book = sim.model.book(SYMBOL)
        ask = Decimal(book.best(BookSide.ASK) or 0).scaleb(-pair.price_precision)
        bid = Decimal(book.best(BookSide.BID) or 0).scaleb(-pair.price_precision)
        tick = Decimal(1).scaleb(-pair.price_precision)
        crossing = (ask * Decimal("1.01")).quantize(tick)
        resting = (bid * Decimal("0.9")).quantize(tick)
        yield VenueFixture(venue, SYMBOL, Decimal("0.01"), crossing, resting, timeout=10.0)
        nursery.cancel_scope.cancel()


class TestAgainstSimulator:
    @pytest.mark.slow
    async def test_live_when_checked_against_simulator_conforms(self) -> None:
        """The live venue keeps every venue rule, trading the simulator over WS v2 and REST."""
        await check_venue(simulated_live)

    async def test_balances_when_asked_come_from_rest_with_common_names(self) -> None:
        """Kraken Balance, asset names normalised (the simulator's default account)."""
        async with simulated_live() as fixture:
            balances = await fixture.venue.balances()
        assert balances["USD"] == Decimal(100_000)
        assert balances["BTC"] == Decimal(2)


class TestTradingTreeOnSimulator:
    @pytest.mark.slow
    async def test_opportunity_when_traded_live_on_simulator_completes(self) -> None:
        """Risk gate, executor and portfolio trade the simulator through the live venue."""
        market = MarketSettings(tick_seconds=0.02, mispricing_rate=0.0)
        config = SimConfig(symbols=("BTC/USD", "ETH/USD", "ETH/BTC"), market=market, ticking=False)
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve_simulator, config)
            settings = attrs.evolve(
                LIVE,
                kraken_rest_url=running.rest_url,
                kraken_ws_private_url=running.ws_private_url,
            )
            venue = LiveVenue(settings)
            sim = running.simulator
            pair = sim.universe.pair(SYMBOL)
            ask = Decimal(sim.model.book(SYMBOL).best(BookSide.ASK) or 0)
            price = (
                (ask * Decimal("1.01"))
                .scaleb(-pair.price_precision)
                .quantize(Decimal(1).scaleb(-pair.price_precision))
            )
            leg = Leg(SYMBOL, MessageSide.BUY, price, Decimal("0.01"), "USD", "BTC")
            async with trading_tree(venue, balances={}) as trading:
                opportunity = make_opportunity(
                    strategy="stat_arb",
                    legs=(leg,),
                    book_ages=(0.0,),
                    detected_at=trio.current_time(),
                )
                await trading.tap.expect(PortfolioSnapshot, lambda s: bool(s.balances), within=5)
                await trading.publish(TOPIC_OPPORTUNITIES, opportunity)
                finished = await trading.tap.expect(CycleFinished, within=10)
                assert finished.outcome == "completed"
                (fill,) = trading.tap.all(Fill)
                assert fill.qty == Decimal("0.01")
                assert fill.price <= price
            nursery.cancel_scope.cancel()


class TestReconnect:
    @pytest.mark.slow
    async def test_connection_when_dropped_reports_down_up_and_rest_fallback_trades(
        self,
    ) -> None:
        """A dropped WebSocket shows as down then up; an order sent while down goes by REST
        and its fill is learnt after the reconnect (executions snapshot, or a query)."""
        async with simulated_live() as fixture:
            venue = fixture.venue
            assert isinstance(venue, LiveVenue)
            first = await venue.events.receive()
            assert isinstance(first, VenueConnection)
            assert first.connected
            SIMULATORS[-1].drop_connections()
            with trio.fail_after(5):
                while not isinstance(event := await venue.events.receive(), VenueConnection):
                    pass
            assert not event.connected
            order = OrderRequest(
                "rest-fallback-1",
                SYMBOL,
                MessageSide.BUY,
                fixture.qty,
                fixture.crossing_buy_price,
                trio.current_time() + 5,
            )
            await venue.submit(order)
            with trio.fail_after(10):
                while not (
                    isinstance(event := await venue.events.receive(), VenueConnection)
                    and event.connected
                ):
                    pass
            status = await venue.query(order.cl_ord_id)
            assert status is not None
            assert (status.order_status, status.cum_qty) == (OrderState.FILLED, fixture.qty)
