"""Venues: the conformance suite against paper and scripted, and the paper venue's rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import trio
import trio.testing

from arbitrade.execution import (
    ExecType,
    ExecutionReport,
    OrderRequest,
    PaperVenue,
    ScriptedVenue,
    VenueUnavailable,
    matches_book,
    rates_from_taker_fees,
)
from arbitrade.execution.testing import VenueFixture, check_venue
from arbitrade.graph import GraphSettings, load_taker_fees
from arbitrade.messages import OrderState, Side
from tests.execution.market import book

D = Decimal
FEE = D("0.004")
FEES_FILE = Path(__file__).resolve().parents[2] / "config" / "fees.toml"
BTC = book("BTC/USD", [("49990", "1")], [("50000", "0.3"), ("50010", "0.5")])


@asynccontextmanager
async def paper_fixture() -> AsyncIterator[VenueFixture]:
    venue = PaperVenue(taker_fee_rate=FEE, latency=0.01)
    venue.observe_book(BTC)
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.run)
        yield VenueFixture(venue, "BTC/USD", D("0.5"), D("50010"), D("49000"))
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def scripted_fixture() -> AsyncIterator[VenueFixture]:
    venue = ScriptedVenue(matches_book(BTC, FEE))
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.run)
        yield VenueFixture(venue, "BTC/USD", D("0.5"), D("50010"), D("49000"))
        nursery.cancel_scope.cancel()


class TestConformance:
    async def test_paper_when_checked_conforms(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The paper venue keeps every rule of the venue interface."""
        await check_venue(paper_fixture)

    async def test_scripted_when_checked_conforms(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The scripted venue (book-matching handler) keeps every rule too."""
        await check_venue(scripted_fixture)


def order(cl_ord_id: str, side: Side, qty: str, price: str, deadline: float = 10.0) -> OrderRequest:
    return OrderRequest(cl_ord_id, "BTC/USD", side, D(qty), D(price), deadline)


async def drain(venue: PaperVenue) -> list[ExecutionReport]:
    out: list[ExecutionReport] = []
    while True:
        try:
            event = venue.events.receive_nowait()
        except trio.WouldBlock:
            return out
        assert isinstance(event, ExecutionReport)
        out.append(event)


class TestPaperVenue:
    async def test_submit_when_not_running_raises_unavailable(self) -> None:
        """Before run() the venue takes nothing."""
        venue = PaperVenue(taker_fee_rate=FEE)
        try:
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
        except VenueUnavailable:
            return
        raise AssertionError("expected VenueUnavailable")

    async def test_buy_when_crossing_levels_walks_book_at_level_prices(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An IOC takes each level at its own price; fees are taker rate in quote."""
        venue = PaperVenue(taker_fee_rate=FEE)
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.5", "50010"))
            trades = [r for r in await drain(venue) if r.exec_type is ExecType.TRADE]
            assert [(t.last_qty, t.last_price) for t in trades] == [
                (D("0.3"), D("50000")),
                (D("0.2"), D("50010")),
            ]
            assert trades[0].fee == D("0.3") * D(50000) * FEE
            nursery.cancel_scope.cancel()

    async def test_second_order_when_level_taken_gets_only_what_is_left(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Liquidity taken from a level stays taken until a newer top changes that level (a
        newer top showing the same size there says nothing new about it)."""
        venue = PaperVenue(taker_fee_rate=FEE)
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.3", "50000"))
            await venue.submit(order("b", Side.BUY, "0.3", "50000"))
            reports = await drain(venue)
            final_b = [r for r in reports if r.cl_ord_id == "b"][-1]
            assert (final_b.order_status, final_b.cum_qty) == (OrderState.CANCELLED, D(0))
            venue.observe_book(book("BTC/USD", [], [("50000", "0.3")], sequence=2))
            await venue.submit(order("c", Side.BUY, "0.3", "50000"))
            assert (await drain(venue))[-1].order_status is OrderState.CANCELLED
            venue.observe_book(book("BTC/USD", [], [("50000", "0.4")], sequence=3))
            await venue.submit(order("d", Side.BUY, "0.3", "50000"))
            assert (await drain(venue))[-1].order_status is OrderState.FILLED
            nursery.cancel_scope.cancel()

    async def test_order_when_latency_set_meets_book_seen_after_delay(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With latency the order meets the book as it is when the delay ends."""
        venue = PaperVenue(taker_fee_rate=FEE, latency=0.05)
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            venue.observe_book(book("BTC/USD", [], [("50100", "1")], sequence=2))
            assert await drain(venue) == []
            await trio.sleep(0.06)
            final = (await drain(venue))[-1]
            assert (final.order_status, final.cum_qty) == (OrderState.CANCELLED, D(0))
            nursery.cancel_scope.cancel()

    async def test_cancel_when_order_waiting_for_latency_cancels_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An order cancelled before its match never trades."""
        venue = PaperVenue(taker_fee_rate=FEE, latency=0.05)
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            await venue.cancel("a")
            await trio.sleep(0.1)
            reports = await drain(venue)
            assert [r.order_status for r in reports] == [OrderState.CANCELLED]
            assert reports[0].reason == "user_requested"
            nursery.cancel_scope.cancel()

    async def test_order_when_ledger_short_is_rejected_insufficient_funds(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With a ledger, an order it cannot pay for is rejected like Kraken does."""
        venue = PaperVenue(taker_fee_rate=FEE, balances={"USD": D(100)})
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            (report,) = await drain(venue)
            assert (report.order_status, report.reason) == (
                OrderState.REJECTED,
                "EOrder:Insufficient funds",
            )
            nursery.cancel_scope.cancel()

    async def test_fill_when_ledger_kept_moves_balances_and_fee(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A buy adds base and takes quote plus fee from the ledger."""
        venue = PaperVenue(taker_fee_rate=FEE, balances={"USD": D(10_000)})
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            assert await venue.balances() == {
                "USD": D(10_000) - D(5000) - D(5000) * FEE,
                "BTC": D("0.1"),
            }
            nursery.cancel_scope.cancel()

    async def test_order_when_no_book_seen_is_rejected(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A pair the venue has no book for cannot be matched."""
        venue = PaperVenue(taker_fee_rate=FEE)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            (report,) = await drain(venue)
            assert report.order_status is OrderState.REJECTED
            nursery.cancel_scope.cancel()


class TestFeeProfile:
    async def test_fill_when_fee_profile_given_charges_its_rate(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The repository's fee profile sets the rate per pair (stable pairs pay their own)."""
        fees = load_taker_fees(GraphSettings(), fees_path=FEES_FILE)
        venue = PaperVenue(taker_fee_rate=D(1), rates=rates_from_taker_fees(fees))
        venue.observe_book(BTC)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            await venue.submit(order("a", Side.BUY, "0.1", "50000"))
            (trade,) = [r for r in await drain(venue) if r.exec_type is ExecType.TRADE]
            assert trade.fee == D("0.1") * D(50000) * fees.default_rate
            nursery.cancel_scope.cancel()
