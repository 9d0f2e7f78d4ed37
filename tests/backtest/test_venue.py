"""The backtest venue: conformance, fills against the replayed book, latency, rejections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
import trio
import trio.testing

from arbitrade.backtest._fees import FeeModel, Rates
from arbitrade.backtest._latency import fixed_latency
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.execution import ExecType, ExecutionReport, OrderRequest
from arbitrade.execution.testing import VenueFixture, check_venue
from arbitrade.messages import BookTop, Instrument, OrderState, Side

D = Decimal
FEES = FeeModel(Rates(D("0.0025"), D("0.004")), Rates(D("0.002"), D("0.002")))
BTC_USD = Instrument(
    "BTC/USD", "BTC", "USD", 1, 8, D("0.1"), D("0.00000001"), D("0.0001"), D("0.5")
)


def top(
    asks: tuple[tuple[int, int], ...],
    bids: tuple[tuple[int, int], ...] = ((599990, 10**8),),
    seq: int = 1,
) -> BookTop:
    """A BTC/USD top at price precision 1 and qty precision 8."""
    return BookTop("BTC/USD", bids, asks, 1, 8, trio.current_time(), seq)


@asynccontextmanager
async def running(venue: BacktestVenue) -> AsyncIterator[BacktestVenue]:
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.run)
        venue.observe_instruments([BTC_USD])
        yield venue
        nursery.cancel_scope.cancel()


def order(
    cl_ord_id: str, qty: str, price: str, side: Side = Side.BUY, tif: str = "ioc"
) -> OrderRequest:
    return OrderRequest(cl_ord_id, "BTC/USD", side, D(qty), D(price), trio.current_time() + 5, tif)


async def reports_until_terminal(venue: BacktestVenue, cl_ord_id: str) -> list[ExecutionReport]:
    seen: list[ExecutionReport] = []
    with trio.fail_after(10):
        async for event in venue.events:
            assert isinstance(event, ExecutionReport)
            seen.append(event)
            if event.cl_ord_id == cl_ord_id and event.order_status.terminal:
                return seen
    raise AssertionError("stream ended")


async def test_conformance_when_run_against_backtest_venue_passes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The backtest venue passes the same conformance suite as the paper and live venues."""

    @asynccontextmanager
    async def make() -> AsyncIterator[VenueFixture]:
        venue = BacktestVenue(fees=FEES, order_latency=fixed_latency(0.002), response_latency=0.001)
        async with running(venue):
            venue.observe_book(top(((600000, 5 * 10**7), (600010, 10**8))))
            yield VenueFixture(venue, "BTC/USD", D("0.5"), D("60001.0"), D("59000.0"))

    await check_venue(make)


class TestTakenLiquidity:
    async def test_two_orders_when_against_one_level_cannot_both_take_its_size(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Two buys against one displayed level share its size: the second gets what is left."""
        async with running(BacktestVenue(fees=FEES)) as venue:
            venue.observe_book(top(((600000, 10**8),)))  # 1 BTC at 60000.0
            await venue.submit(order("a", "0.7", "60000.0"))
            await venue.submit(order("b", "0.7", "60000.0"))
            seen = await reports_until_terminal(venue, "b")
        traded = {
            cl: sum(r.last_qty for r in seen if r.cl_ord_id == cl and r.exec_type is ExecType.TRADE)
            for cl in "ab"
        }
        assert traded == {"a": D("0.7"), "b": D("0.3")}
        assert [r.order_status for r in seen if r.cl_ord_id == "b"][-1] is OrderState.CANCELLED

    async def test_taken_when_level_updates_is_forgotten(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Once the feed updates a level, its new displayed size is all available again."""
        async with running(BacktestVenue(fees=FEES)) as venue:
            venue.observe_book(top(((600000, 10**8),)))
            await venue.submit(order("a", "1", "60000.0"))
            venue.observe_book(top(((600000, 8 * 10**7),), seq=2))  # the level changed: 0.8 now
            await venue.submit(order("b", "1", "60000.0"))
            seen = await reports_until_terminal(venue, "b")
        assert sum(
            r.last_qty for r in seen if r.cl_ord_id == "b" and r.exec_type is ExecType.TRADE
        ) == D("0.8")

    async def test_taken_when_other_level_updates_is_kept(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An update of another level does not give back what was taken from this one."""
        async with running(BacktestVenue(fees=FEES)) as venue:
            venue.observe_book(top(((600000, 10**8), (600010, 10**8))))
            await venue.submit(order("a", "1", "60000.0"))
            venue.observe_book(top(((600000, 10**8), (600010, 2 * 10**8)), seq=2))
            await venue.submit(order("b", "1", "60000.0"))
            seen = await reports_until_terminal(venue, "b")
        assert all(r.exec_type is not ExecType.TRADE for r in seen if r.cl_ord_id == "b")


class TestFills:
    async def test_ioc_when_it_walks_levels_fills_partially_at_level_prices_with_taker_fee(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An IOC takes crossing levels at their own prices, pays 0.40 % taker, cancels the rest."""
        async with running(BacktestVenue(fees=FEES)) as venue:
            venue.observe_book(top(((600000, 10**8), (600010, 10**8), (600100, 10**8))))
            await venue.submit(order("a", "3", "60001.0"))
            seen = await reports_until_terminal(venue, "a")
        trades = [r for r in seen if r.exec_type is ExecType.TRADE]
        assert [(t.last_price, t.last_qty) for t in trades] == [
            (D("60000.0"), D(1)),
            (D("60001.0"), D(1)),
        ]
        assert [t.fee for t in trades] == [D("240.0000"), D("240.0040")]
        assert seen[-1].order_status is OrderState.CANCELLED
        assert seen[-1].cum_qty == D(2)

    async def test_top_fill_model_when_order_crosses_two_levels_takes_only_the_best(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With the 'top' model only the best level trades."""
        async with running(BacktestVenue(fees=FEES, fill_model="top")) as venue:
            venue.observe_book(top(((600000, 10**8), (600010, 10**8))))
            await venue.submit(order("a", "2", "60001.0"))
            seen = await reports_until_terminal(venue, "a")
        assert seen[-1].cum_qty == D(1)

    async def test_limit_when_book_later_crosses_fills_as_maker_at_its_price(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A resting limit buy fills as maker, at its limit, when the asks come down to it."""
        async with running(BacktestVenue(fees=FEES)) as venue:
            venue.observe_book(top(((600000, 10**8),)))
            await venue.submit(order("a", "0.5", "59995.0", tif="gtc"))
            await trio.sleep(1)
            venue.observe_book(top(((599950, 10**8),), seq=2))
            seen = await reports_until_terminal(venue, "a")
        trade = next(r for r in seen if r.exec_type is ExecType.TRADE)
        assert (trade.last_price, trade.liquidity, trade.fee) == (
            D("59995.0"),
            "m",
            D("0.5") * D("59995.0") * D("0.0025"),
        )


class TestLatency:
    async def test_order_when_latency_set_meets_the_book_at_arrival(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The order meets the book as it is after the order latency, not at submission."""
        async with running(BacktestVenue(fees=FEES, order_latency=fixed_latency(0.05))) as venue:
            venue.observe_book(top(((600000, 10**8),)))
            await venue.submit(order("a", "1", "60000.0"))
            await trio.sleep(0.01)
            venue.observe_book(top(((600050, 10**8),), seq=2))  # moved away before arrival
            seen = await reports_until_terminal(venue, "a")
        assert seen[-1].cum_qty == 0

    async def test_reports_when_response_latency_set_arrive_after_both_latencies(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Reports reach the executor order latency plus response latency after submission."""
        venue = BacktestVenue(fees=FEES, order_latency=fixed_latency(0.02), response_latency=0.03)
        async with running(venue):
            venue.observe_book(top(((600000, 10**8),)))
            start = trio.current_time()
            await venue.submit(order("a", "1", "60000.0"))
            await reports_until_terminal(venue, "a")
            assert trio.current_time() - start == pytest.approx(0.05)


class TestRejections:
    @pytest.mark.parametrize(
        ("qty", "price", "reason"),
        [
            ("0.00005", "60000.0", "EOrder:Order minimum not met"),
            ("0.0001", "60000.05", "EOrder:Tick size check failed"),
            ("0.000100001", "60000.0", "EGeneral:Invalid arguments:volume"),
            ("1", "60000.0", "EOrder:Insufficient funds"),
        ],
    )
    async def test_order_when_breaking_a_rule_is_rejected_with_kraken_string(
        self, autojump_clock: trio.testing.MockClock, qty: str, price: str, reason: str
    ) -> None:
        """Minimums, tick size, lot size and balance rejections carry Kraken's error strings."""
        venue = BacktestVenue(fees=FEES, balances={"USD": D(1000)})
        async with running(venue):
            venue.observe_book(top(((600000, 10**8),)))
            await venue.submit(order("a", qty, price))
            seen = await reports_until_terminal(venue, "a")
        assert (seen[-1].order_status, seen[-1].reason) == (OrderState.REJECTED, reason)

    async def test_cost_when_below_minimum_is_rejected(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An order worth less than the pair's cost minimum is refused."""
        cheap = Instrument(
            "XRP/USD", "XRP", "USD", 5, 2, D("0.00001"), D("0.01"), D("0.01"), D("0.5")
        )
        venue = BacktestVenue(fees=FEES)
        async with running(venue):
            venue.observe_instruments([cheap])
            venue.observe_book(
                BookTop("XRP/USD", ((49000, 10**4),), ((50000, 10**4),), 5, 2, 0.0, 1)
            )
            await venue.submit(
                OrderRequest("a", "XRP/USD", Side.BUY, D("0.5"), D("0.5"), trio.current_time() + 5)
            )
            seen = await reports_until_terminal(venue, "a")
        assert seen[-1].reason == "EOrder:Cost minimum not met"

    async def test_ledger_when_filled_moves_base_quote_and_fee(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A fill moves the base in, the cost and the fee out of the quote balance."""
        venue = BacktestVenue(fees=FEES, balances={"USD": D(100_000)})
        async with running(venue):
            venue.observe_book(top(((600000, 10**8),)))
            await venue.submit(order("a", "1", "60000.0"))
            await reports_until_terminal(venue, "a")
            assert await venue.balances() == {"USD": D(100_000) - D(60_000) - D(240), "BTC": D(1)}
