"""Positions held across cycles (stat-arb): realised PnL on close net of fees, unrealised marks.

The numbers are worked by hand. A round trip: the entry buys 0.1 ETH at 3000 (fee 1.20 USD)
and sells 0.005 BTC at 60000 (fee 1.20); the close sells the 0.1 ETH at 3100 (fee 1.24) and
buys the 0.005 BTC back at 60500 (fee 1.21). ETH gains 0.1 * 100 = 10, BTC loses
0.005 * 500 = 2.50, the fees are 4.85: realised 10 - 2.50 - 4.85 = 2.65. The executor's own
per-cycle PnL values what each cycle leaves behind at that cycle's prices, so it reports
only the fees (-2.40 and -2.45) and the 7.50 the spread made never shows.
"""

from __future__ import annotations

from decimal import Decimal

import trio
import trio.testing

import actors.testing
from actors import ChildSpec
from arbitrade.execution.portfolio import (
    GetPortfolio,
    GetPositions,
    OpenPosition,
    Portfolio,
    PortfolioBook,
    PositionLedger,
    is_position_cycle,
)
from arbitrade.messages import BookTop, CycleFinished, Fill, Side
from arbitrade.strategy.stat_arb import StatArb
from tests.strategy.stat_builders import settings

D = Decimal
DAY = 1_790_000_000.0  # 2026-09-21 UTC
ENTRY, CLOSE = "sa-abcd-1", "sa-abcd-2"


def fill(
    exec_id: str, cycle_id: str, symbol: str, side: Side, qty: str, price: str, fee: str
) -> Fill:
    return Fill(
        exec_id, f"c-{exec_id}", cycle_id, symbol, side, D(price), D(qty), D(fee), "USD", "t", 0.0
    )


def finished(cycle_id: str, pnl: str) -> CycleFinished:
    return CycleFinished(cycle_id, "completed", "USD", D(pnl), D(0), 0.0)


ENTRY_FILLS = (
    fill("e1", ENTRY, "ETH/USD", Side.BUY, "0.1", "3000", "1.20"),
    fill("e2", ENTRY, "BTC/USD", Side.SELL, "0.005", "60000", "1.20"),
)
CLOSE_FILLS = (
    fill("e3", CLOSE, "ETH/USD", Side.SELL, "0.1", "3100", "1.24"),
    fill("e4", CLOSE, "BTC/USD", Side.BUY, "0.005", "60500", "1.21"),
)


def top(symbol: str, bid: int, ask: int) -> BookTop:
    return BookTop(symbol, ((bid, 10**8),), ((ask, 10**8),), 2, 8, 0.0, 1)


def opened_book() -> PortfolioBook:
    book = PortfolioBook("USD", {"USD": D(10_000), "BTC": D(1)})
    for entry in ENTRY_FILLS:
        book.apply_fill(entry)
    book.apply_cycle(finished(ENTRY, "-2.40"), DAY)
    return book


class TestRoundTrip:
    def test_entry_when_booked_realises_only_its_fees(self) -> None:
        """An entry cycle realises its fees, whatever the executor reports for it."""
        book = opened_book()
        assert book.realised_total == D("-2.40")
        assert book.pnl_by_cycle[ENTRY] == D("-2.40")

    def test_close_when_booked_realises_the_spread_net_of_all_fees(self) -> None:
        """Entry then close: realised total is price gains less every fee (2.65 here)."""
        book = opened_book()
        for close in CLOSE_FILLS:
            book.apply_fill(close)
        book.apply_cycle(finished(CLOSE, "-2.45"), DAY)
        assert book.realised_total == D("2.65")
        assert book.pnl_by_cycle[CLOSE] == D("5.05")
        assert book.pnl_by_day == {"2026-09-21": D("2.65")}
        assert book.positions() == ()

    def test_close_when_balances_moved_agrees_with_the_cash(self) -> None:
        """After a flat round trip the USD balance moved by exactly the realised PnL."""
        book = opened_book()
        for close in CLOSE_FILLS:
            book.apply_fill(close)
        book.apply_cycle(finished(CLOSE, "-2.45"), DAY)
        assert book.balances["USD"] - D(10_000) == book.realised_total
        assert book.balances["BTC"] == D(1)

    def test_open_position_when_marked_to_the_book_shows_unrealised(self) -> None:
        """Open at 3000 / 60000, books at 3050 and 60200: unrealised 0.1*50 - 0.005*200 = 4."""
        book = opened_book()
        book.mark(top("ETH/USD", 304_900, 305_100))
        book.mark(top("BTC/USD", 6_019_900, 6_020_100))
        assert book.positions() == (
            OpenPosition("BTC/USD", D("-0.005"), D(60000), D(60200), D(-1)),
            OpenPosition("ETH/USD", D("0.1"), D(3000), D(3050), D(5)),
        )
        assert book.unrealised_total() == D(4)
        assert book.realised_total == D("-2.40")

    def test_open_position_when_no_book_seen_is_marked_at_its_last_fill(self) -> None:
        """Without a book, a position is marked at its last fill price (unrealised 0)."""
        assert opened_book().unrealised_total() == D(0)

    def test_triangular_cycle_when_booked_keeps_the_executors_pnl(self) -> None:
        """Cycles that are not position cycles book the executor's PnL and stay out of the
        ledger."""
        book = PortfolioBook("USD", {"USD": D(1000)})
        book.apply_fill(fill("t1", "tri-1-1", "ETH/USD", Side.BUY, "0.1", "3000", "1.2"))
        book.apply_cycle(finished("tri-1-1", "0.75"), DAY)
        assert book.realised_total == D("0.75")
        assert book.positions() == ()

    def test_cycle_when_a_fill_is_not_quoted_in_home_keeps_the_executors_pnl(self) -> None:
        """A position cycle with a fill the ledger cannot value books the executor's PnL."""
        book = PortfolioBook("USD", {"EUR": D(1000)})
        eur = Fill(
            "x1", "c", ENTRY, "BTC/EUR", Side.BUY, D(50000), D("0.001"), D("0.2"), "EUR", "t", 0.0
        )
        book.apply_fill(eur)
        book.apply_cycle(finished(ENTRY, "-0.21"), DAY)
        assert book.realised_total == D("-0.21")

    def test_fill_when_late_after_its_cycle_is_booked_at_once(self) -> None:
        """A fill of a position cycle already booked realises on the last booked day."""
        book = opened_book()
        book.apply_fill(CLOSE_FILLS[0])
        book.apply_cycle(finished(CLOSE, "0"), DAY)
        book.apply_fill(CLOSE_FILLS[1])
        assert book.realised_total == D("2.65")


class TestPositionLedger:
    def test_fill_when_adding_moves_the_average_price(self) -> None:
        """Two buys of 1 at 100 and 3 at 200 average 175."""
        ledger = PositionLedger("USD")
        ledger.apply(fill("a", ENTRY, "ETH/USD", Side.BUY, "1", "100", "0"))
        ledger.apply(fill("b", ENTRY, "ETH/USD", Side.BUY, "3", "200", "0"))
        assert ledger.positions()[0].average_price == D(175)

    def test_fill_when_larger_than_the_position_flips_it_at_its_price(self) -> None:
        """Long 1 at 100, sell 3 at 110: realise 10, short 2 at 110."""
        ledger = PositionLedger("USD")
        ledger.apply(fill("a", ENTRY, "ETH/USD", Side.BUY, "1", "100", "0"))
        realised = ledger.apply(fill("b", CLOSE, "ETH/USD", Side.SELL, "3", "110", "0"))
        assert realised == D(10)
        assert ledger.positions() == (OpenPosition("ETH/USD", D(-2), D(110), D(110), D(0)),)

    def test_fill_when_closing_a_short_realises_the_fall(self) -> None:
        """Short 2 at 110, buy 2 at 100 with a 0.5 fee: realise 20 - 0.5."""
        ledger = PositionLedger("USD")
        ledger.apply(fill("a", ENTRY, "ETH/USD", Side.SELL, "2", "110", "0"))
        assert ledger.apply(fill("b", CLOSE, "ETH/USD", Side.BUY, "2", "100", "0.5")) == D("19.5")


class TestPositionCycleIds:
    def test_stat_arb_ids_when_made_by_the_strategy_are_position_cycles(self) -> None:
        """The stat-arb strategy's opportunity ids (entries and closes) are position cycles."""
        strategy = StatArb(settings(), id_prefix="0f0f0f0f")
        assert all(is_position_cycle(strategy._new_id()) for _ in range(2))
        assert not is_position_cycle("tri-0f0f0f0f-1")


class TestPortfolioActor:
    async def test_positions_when_asked_are_marked_by_book_tops(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """GetPositions answers the open positions marked by the BookTop messages it got."""
        spec = ChildSpec(
            "portfolio",
            factory=Portfolio,
            args=("USD",),
            kwargs={"initial_balances": {"USD": D(10_000)}, "wall_clock": lambda: DAY},
        )
        async with actors.testing.open_harness() as harness:
            ref = await harness.start(spec)
            for entry in ENTRY_FILLS:
                await ref.send(entry)
            await ref.send(finished(ENTRY, "-2.40"))
            await ref.send(top("ETH/USD", 304_900, 305_100))
            positions = await ref.ask(GetPositions())
            snapshot = await ref.ask(GetPortfolio())
        assert [p.unrealised_pnl for p in positions] == [D(0), D(5)]
        assert snapshot.realised_pnl_total == D("-2.40")
