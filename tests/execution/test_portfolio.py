"""The portfolio's bookkeeping: balances from fills, realised PnL per cycle and per day."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

import actors.testing
from actors import ChildSpec
from arbitrade.execution import GetPortfolio, Portfolio, PortfolioBook, RefreshBalances
from arbitrade.messages import CycleFinished, Fill, Side

D = Decimal
DAY = 1_790_000_000.0  # 2026-09-21 UTC


def fill(exec_id: str, side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(exec_id, "c", "cy", "BTC/USD", side, D(price), D(qty), D(fee), "USD", "t", 0.0)


def finished(cycle_id: str, pnl: str, home: str = "USD") -> CycleFinished:
    return CycleFinished(cycle_id, "completed", home, D(pnl), D(0), 0.0)


class TestPortfolioBook:
    def test_fill_when_buying_adds_base_spends_quote_and_fee(self) -> None:
        """A buy: +qty base, -(qty*price + fee) quote."""
        book = PortfolioBook("USD", {"USD": D(1000)})
        book.apply_fill(fill("e1", Side.BUY, "0.01", "50000", "2"))
        assert book.balances == {"USD": D(498), "BTC": D("0.01")}

    def test_fill_when_selling_adds_quote_less_fee(self) -> None:
        """A sell: -qty base, +(qty*price - fee) quote."""
        book = PortfolioBook("USD", {"BTC": D(1)})
        book.apply_fill(fill("e1", Side.SELL, "0.5", "100", "0.2"))
        assert book.balances == {"BTC": D("0.5"), "USD": D("49.8")}

    def test_fill_when_repeated_counts_once(self) -> None:
        """The same exec_id moves balances once."""
        book = PortfolioBook("USD", {"USD": D(1000)})
        for _ in range(3):
            book.apply_fill(fill("e1", Side.BUY, "0.01", "50000"))
        assert book.balances["USD"] == D(500)

    def test_cycle_when_booked_adds_to_day_and_total_once(self) -> None:
        """Each cycle's PnL lands once on its UTC day and in the total."""
        book = PortfolioBook("USD")
        book.apply_cycle(finished("a", "3"), DAY)
        book.apply_cycle(finished("a", "3"), DAY)
        book.apply_cycle(finished("b", "-1"), DAY)
        book.apply_cycle(finished("c", "5"), DAY + 86_400)
        assert book.pnl_by_day == {"2026-09-21": D(2), "2026-09-22": D(5)}
        assert book.realised_total == D(7)
        assert book.pnl_by_cycle == {"a": D(3), "b": D(-1), "c": D(5)}

    def test_snapshot_when_new_day_shows_only_today(self) -> None:
        """realised_pnl_today is the snapshot's own UTC day."""
        book = PortfolioBook("USD", {"USD": D(1)})
        book.apply_cycle(finished("a", "3"), DAY)
        snapshot = book.snapshot(5.0, DAY + 86_400)
        assert (snapshot.realised_pnl_today, snapshot.realised_pnl_total) == (D(0), D(3))
        assert snapshot.balances == (("USD", D(1)),)

    def test_cycle_when_other_home_refuses(self) -> None:
        """PnL in another currency cannot be added to home PnL."""
        with pytest.raises(ValueError, match="EUR"):
            PortfolioBook("USD").apply_cycle(finished("a", "1", home="EUR"), DAY)


class TestPortfolioActor:
    async def test_refresh_when_venue_answers_replaces_balances(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """RefreshBalances takes the venue's balances (Kraken Balance in live mode)."""
        answers = [{"USD": D(10)}, {"USD": D(20), "BTC": D(1)}]

        async def source() -> dict[str, Decimal]:
            await trio.lowlevel.checkpoint()
            return answers.pop(0)

        async with actors.testing.open_harness() as harness:
            spec = ChildSpec(
                "portfolio",
                factory=Portfolio,
                args=("USD",),
                kwargs={"balance_source": source, "wall_clock": lambda: DAY},
            )
            ref = await harness.start(spec)
            assert (await ref.ask(GetPortfolio())).balances == (("USD", D(10)),)
            await ref.send(RefreshBalances())
            snapshot = await ref.ask(GetPortfolio())
            assert snapshot.balances == (("BTC", D(1)), ("USD", D(20)))
