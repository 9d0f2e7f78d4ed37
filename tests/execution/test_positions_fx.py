"""Positions in pairs quoted in another currency than home, valued through an FX pair's mid.

Home is USD throughout; the FX-joined leg is BTC/EUR, converted by EUR/USD (or by one over
USD/EUR's mid when only that pair was seen). Every number is worked by hand in the test's
docstring or comments; realised PnL is converted at the rate known when the fill is applied,
unrealised PnL at the rate known when the positions are read.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import partial
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

import actors.testing
from actors import ChildSpec
from arbitrade.components import load_components
from arbitrade.engines import position_fx_pairs, position_symbols
from arbitrade.execution import ExecutionSettings, run_trading_io
from arbitrade.execution._fx import FxRates
from arbitrade.execution.portfolio import (
    GetPositions,
    OpenPosition,
    Portfolio,
    PortfolioBook,
    PositionLedger,
)
from arbitrade.messages import TOPIC_BOOK_TOP, BookTop, CycleFinished, Fill, Side
from arbitrade.strategy.stat_arb import PairSpec

D = Decimal
DAY = 1_790_000_000.0  # 2026-09-21 UTC
ENTRY, CLOSE = "sa-fx-1", "sa-fx-2"


def fill(
    exec_id: str,
    symbol: str,
    side: Side,
    qty: str,
    price: str,
    fee: str = "0",
    fee_asset: str | None = None,
    cycle_id: str = ENTRY,
) -> Fill:
    quote = symbol.partition("/")[2]
    return Fill(
        exec_id,
        f"c-{exec_id}",
        cycle_id,
        symbol,
        side,
        D(price),
        D(qty),
        D(fee),
        fee_asset if fee_asset is not None else quote,
        "t",
        0.0,
    )


def top(symbol: str, bid: int, ask: int, precision: int) -> BookTop:
    return BookTop(symbol, ((bid, 10**8),), ((ask, 10**8),), precision, 8, 0.0, 1)


def eur_usd(mid: str) -> BookTop:
    """A EUR/USD top (5 decimals) whose mid is ``mid``, spread 0.0002."""
    ticks = int(D(mid) * 10**5)
    return top("EUR/USD", ticks - 10, ticks + 10, 5)


def usd_eur(mid: str) -> BookTop:
    ticks = int(D(mid) * 10**5)
    return top("USD/EUR", ticks - 10, ticks + 10, 5)


def finished(cycle_id: str, pnl: str) -> CycleFinished:
    return CycleFinished(cycle_id, "completed", "USD", D(pnl), D(0), 0.0)


def eur_ledger() -> PositionLedger:
    return PositionLedger("USD", fx_pairs=("EUR/USD",))


class TestFxLedger:
    def test_close_when_eur_moved_realises_the_gain_at_the_rate_of_the_close(self) -> None:
        """Long 0.1 BTC/EUR at 50,000 with EUR/USD 1.10, sold at 51,000 with EUR/USD 1.20:
        the close realises 1,000 EUR per BTC less its fee, converted at 1.20."""
        ledger = eur_ledger()
        ledger.mark_book(eur_usd("1.10"))
        # entry: fee 5 EUR realised at 1.10 -> -5.50 USD
        assert ledger.apply(fill("a", "BTC/EUR", Side.BUY, "0.1", "50000", "5")) == D("-5.5")
        ledger.mark_book(eur_usd("1.20"))
        # close: 0.1 * 1,000 = 100 EUR, less 5.10 EUR fee = 94.90 EUR; * 1.20 = 113.88 USD
        close = fill("b", "BTC/EUR", Side.SELL, "0.1", "51000", "5.10", cycle_id=CLOSE)
        assert ledger.apply(close) == D("113.88")
        assert ledger.positions() == ()

    def test_short_when_only_home_quote_pair_seen_divides_by_its_mid(self) -> None:
        """Short 0.2 at 50,000, bought back at 49,500 with a 2 EUR fee, only USD/EUR seen
        (mid 0.80): 0.2 * 500 - 2 = 98 EUR, / 0.80 = 122.50 USD."""
        ledger = PositionLedger("USD", fx_pairs=("USD/EUR",))
        ledger.mark_book(usd_eur("0.80"))
        assert ledger.apply(fill("a", "BTC/EUR", Side.SELL, "0.2", "50000")) == D(0)
        cover = fill("b", "BTC/EUR", Side.BUY, "0.2", "49500", "2", cycle_id=CLOSE)
        assert ledger.apply(cover) == D("122.5")

    def test_fee_in_base_when_paid_is_valued_at_the_fill_price_and_leaves_the_position(
        self,
    ) -> None:
        """Buy 1 BTC/EUR at 40,000 with a 0.001 BTC fee at EUR/USD 1.10: -40 EUR = -44 USD,
        0.999 BTC held at 40,000; sold at 41,000 (fee 40.959 EUR) at EUR/USD 1.20:
        0.999 * 1,000 - 40.959 = 958.041 EUR = 1,149.6492 USD."""
        ledger = eur_ledger()
        ledger.mark_book(eur_usd("1.10"))
        opened = ledger.apply(fill("a", "BTC/EUR", Side.BUY, "1", "40000", "0.001", "BTC"))
        assert opened == D(-44)
        (position,) = ledger.positions()
        assert (position.qty, position.average_price) == (D("0.999"), D(40000))
        ledger.mark_book(eur_usd("1.20"))
        close = fill("b", "BTC/EUR", Side.SELL, "0.999", "41000", "40.959", cycle_id=CLOSE)
        assert ledger.apply(close) == D("1149.6492")

    def test_fill_when_flipping_through_zero_realises_the_closed_part_and_opens_the_rest(
        self,
    ) -> None:
        """Long 1 at 50,000, sell 3 at 52,000 at EUR/USD 1.20: realise 2,000 EUR = 2,400 USD
        and hold -2 at 52,000; marked at 51,000 with EUR/USD 1.25 that short is up
        -2 * (51,000 - 52,000) = 2,000 EUR = 2,500 USD."""
        ledger = eur_ledger()
        ledger.mark_book(eur_usd("1.10"))
        ledger.apply(fill("a", "BTC/EUR", Side.BUY, "1", "50000"))
        ledger.mark_book(eur_usd("1.20"))
        assert ledger.apply(fill("b", "BTC/EUR", Side.SELL, "3", "52000")) == D(2400)
        ledger.mark_book(top("BTC/EUR", 509_990, 510_010, 1))  # mid 51,000.0
        ledger.mark_book(eur_usd("1.25"))
        assert ledger.positions() == (
            OpenPosition(
                "BTC/EUR",
                D(-2),
                D(52000),
                D(51000),
                D(2500),
                quote_currency="EUR",
                fx_rate=D("1.25"),
                fx_pair="EUR/USD",
                unrealised_pnl_quote=D(2000),
            ),
        )

    def test_rate_when_both_fx_pairs_seen_prefers_quote_over_home(self) -> None:
        """With EUR/USD (1.25) and USD/EUR (0.50, inconsistent on purpose) both seen, a
        10 EUR loss is valued by EUR/USD: -12.50 USD."""
        ledger = eur_ledger()
        ledger.mark_book(usd_eur("0.50"))
        ledger.mark_book(eur_usd("1.25"))
        assert ledger.apply(fill("a", "BTC/EUR", Side.BUY, "1", "50000", "10")) == D("-12.5")

    def test_home_pair_when_read_has_rate_one_and_no_fx_pair(self) -> None:
        """A pair quoted in home reads in USD throughout: rate 1, both PnL fields equal."""
        ledger = PositionLedger("USD")
        ledger.apply(fill("a", "ETH/USD", Side.BUY, "2", "3000"))
        ledger.mark_book(top("ETH/USD", 310_000, 310_000, 2))
        (position,) = ledger.positions()
        assert (position.quote_currency, position.fx_rate, position.fx_pair) == ("USD", 1, "")
        assert position.unrealised_pnl == position.unrealised_pnl_quote == D(200)

    def test_fill_when_no_rate_known_cannot_be_applied_and_changes_nothing(self) -> None:
        """``apply`` refuses a BTC/EUR fill before any EUR rate and leaves no position."""
        ledger = eur_ledger()
        entry = fill("a", "BTC/EUR", Side.BUY, "1", "50000", "5")
        assert not ledger.values(entry)
        with pytest.raises(ValueError, match="EUR/USD"):
            ledger.apply(entry)
        assert ledger.positions() == ()

    def test_fill_when_tracked_without_a_rate_moves_the_position_for_a_later_close(
        self,
    ) -> None:
        """``track`` values nothing without a rate (None) but holds 1 at 50,000, so the
        close at 50,500 with EUR/USD 1.10 realises 500 EUR = 550 USD."""
        ledger = eur_ledger()
        assert ledger.track(fill("a", "BTC/EUR", Side.BUY, "1", "50000", "5")) is None
        ledger.mark_book(eur_usd("1.10"))
        assert ledger.track(fill("b", "BTC/EUR", Side.SELL, "1", "50500")) == D(550)

    def test_position_when_no_rate_known_reads_in_quote_only(self) -> None:
        """Held BTC/EUR marked 1,000 EUR up with no EUR rate: unrealised 0 USD, rate None,
        1,000 EUR in quote."""
        ledger = PositionLedger("USD")
        ledger.track(fill("a", "BTC/EUR", Side.BUY, "1", "50000"))
        ledger.mark_book(top("BTC/EUR", 510_000, 510_000, 1))
        (position,) = ledger.positions()
        assert (position.fx_rate, position.fx_pair, position.unrealised_pnl) == (None, "", 0)
        assert position.unrealised_pnl_quote == D(1000)

    def test_fx_top_when_its_currency_is_not_watched_is_ignored_until_one_is_held(
        self,
    ) -> None:
        """A ledger with no FX pairs drops EUR/USD tops until it holds a pair quoted in EUR."""
        ledger = PositionLedger("USD")
        ledger.mark_book(eur_usd("1.10"))
        assert ledger.rates.rate("EUR") is None
        ledger.track(fill("a", "BTC/EUR", Side.BUY, "1", "50000"))
        ledger.mark_book(eur_usd("1.10"))
        rate = ledger.rates.rate("EUR")
        assert rate is not None
        assert rate.rate == D("1.1")

    def test_fx_top_when_one_sided_keeps_the_last_rate(self) -> None:
        """An EUR/USD top with no asks leaves the last rate (1.10) in place."""
        ledger = eur_ledger()
        ledger.mark_book(eur_usd("1.10"))
        ledger.mark_book(BookTop("EUR/USD", ((120_000, 1),), (), 5, 8, 0.0, 2))
        rate = ledger.rates.rate("EUR")
        assert rate is not None
        assert rate.mid == D("1.1")

    def test_fx_pairs_when_not_against_home_are_refused(self) -> None:
        """An FX pair must trade a currency against home: BTC/EUR is refused."""
        with pytest.raises(ValueError, match="BTC/EUR"):
            FxRates("USD", ("BTC/EUR",))


# -- the portfolio: a stat-arb round trip on BTC/USD ~ BTC/EUR, joined through EUR/USD --------
#
# Entry (EUR/USD 1.10): buy 0.1 BTC/USD at 55,000 (fee 5.50 USD), sell 0.1 BTC/EUR at 50,000
# (fee 5 EUR = 5.50 USD): the entry realises its fees, -11.00 USD.
# Close (EUR/USD 1.12): sell 0.1 BTC/USD at 56,000 (fee 5.60): 0.1 * 1,000 - 5.60 = 94.40 USD;
# buy 0.1 BTC/EUR back at 50,500 (fee 5.05 EUR): 0.1 * -500 - 5.05 = -55.05 EUR * 1.12
# = -61.656 USD. The close realises 94.40 - 61.656 = 32.744; the round trip 21.744 USD.
# The executor reports other numbers (-11.20 and -10.90): the book must not use them.

FX_ENTRY = (
    fill("e1", "BTC/USD", Side.BUY, "0.1", "55000", "5.50"),
    fill("e2", "BTC/EUR", Side.SELL, "0.1", "50000", "5"),
)
FX_CLOSE = (
    fill("e3", "BTC/USD", Side.SELL, "0.1", "56000", "5.60", cycle_id=CLOSE),
    fill("e4", "BTC/EUR", Side.BUY, "0.1", "50500", "5.05", cycle_id=CLOSE),
)


def fx_book() -> PortfolioBook:
    return PortfolioBook("USD", {"USD": D(10_000), "EUR": D(10_000)}, fx_pairs=("EUR/USD",))


class TestPortfolioBookFx:
    def test_round_trip_when_fx_joined_books_the_ledgers_pnl_not_the_executors(self) -> None:
        """Entry -11.00, close 32.744 (see above): the ledger's PnL, nothing unvalued."""
        book = fx_book()
        with capture_logs() as logs:
            book.mark(eur_usd("1.10"))
            for entry in FX_ENTRY:
                book.apply_fill(entry)
            book.apply_cycle(finished(ENTRY, "-11.20"), DAY)
            book.mark(eur_usd("1.12"))
            for close in FX_CLOSE:
                book.apply_fill(close)
            book.apply_cycle(finished(CLOSE, "-10.90"), DAY)
        assert book.pnl_by_cycle == {ENTRY: D(-11), CLOSE: D("32.744")}
        assert book.realised_total == D("21.744")
        assert book.positions() == ()
        assert not [e for e in logs if e["event"] == "portfolio.position_unvalued"]

    def test_cycle_when_no_fx_top_was_seen_books_the_executors_pnl_and_names_the_pair(
        self,
    ) -> None:
        """Without an EUR/USD top the entry books the executor's -11.20 and logs
        ``portfolio.position_unvalued`` naming EUR/USD."""
        book = fx_book()
        with capture_logs() as logs:
            for entry in FX_ENTRY:
                book.apply_fill(entry)
            book.apply_cycle(finished(ENTRY, "-11.20"), DAY)
        assert book.pnl_by_cycle[ENTRY] == D("-11.20")
        unvalued = [e for e in logs if e["event"] == "portfolio.position_unvalued"]
        assert [(e["symbol"], e["fx_pair"], e["reason"]) for e in unvalued] == [
            ("BTC/EUR", "EUR/USD", "no_fx_rate")
        ]

    def test_close_when_the_entry_was_unvalued_realises_against_the_entrys_price(
        self,
    ) -> None:
        """An unvalued entry still opens the position: the close (EUR/USD 1.12) books
        32.744, as when the entry was valued."""
        book = fx_book()
        for entry in FX_ENTRY:
            book.apply_fill(entry)
        book.apply_cycle(finished(ENTRY, "-11.20"), DAY)
        book.mark(eur_usd("1.12"))
        for close in FX_CLOSE:
            book.apply_fill(close)
        book.apply_cycle(finished(CLOSE, "-10.90"), DAY)
        assert book.pnl_by_cycle[CLOSE] == D("32.744")

    def test_cycle_when_a_fee_is_in_a_third_currency_books_the_executors_pnl(self) -> None:
        """A BTC/EUR fill charged in USD cannot be held: executor's PnL, reason fee_asset."""
        book = fx_book()
        book.mark(eur_usd("1.10"))
        with capture_logs() as logs:
            book.apply_fill(fill("x", "BTC/EUR", Side.BUY, "0.1", "50000", "5", "USD"))
            book.apply_cycle(finished(ENTRY, "-5.50"), DAY)
        assert book.pnl_by_cycle[ENTRY] == D("-5.50")
        assert [e["reason"] for e in logs if e["event"] == "portfolio.position_unvalued"] == [
            "fee_asset"
        ]


class TestPortfolioActorFx:
    async def test_positions_when_asked_are_valued_at_the_fx_top_it_got(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Short 0.1 BTC/EUR at 50,000, book at 49,000 and EUR/USD 1.20: 100 EUR = 120 USD."""
        spec = ChildSpec(
            "portfolio",
            factory=Portfolio,
            args=("USD",),
            kwargs={"wall_clock": lambda: DAY, "fx_pairs": ("EUR/USD",)},
        )
        async with actors.testing.open_harness() as harness:
            ref = await harness.start(spec)
            await ref.send(eur_usd("1.10"))
            await ref.send(FX_ENTRY[1])
            await ref.send(top("BTC/EUR", 490_000, 490_000, 1))
            await ref.send(eur_usd("1.20"))
            (position,) = await ref.ask(GetPositions())
        assert (position.symbol, position.unrealised_pnl, position.fx_rate) == (
            "BTC/EUR",
            D(120),
            D("1.2"),
        )


class TestTopsRouting:
    def test_engine_symbols_when_a_pair_is_fx_joined_name_its_legs_and_fx_pair(self) -> None:
        """The app routes the stat-arb legs and FX pairs to the portfolio; FX pairs are
        watched from the start."""
        loaded = load_components()
        pairs = (
            PairSpec(y="ETH/USD", x="BTC/USD"),
            PairSpec(y="BTC/USD", x="BTC/EUR", x_fx="EUR/USD"),
        )
        components = attrs.evolve(loaded, stat_arb=attrs.evolve(loaded.stat_arb, pairs=pairs))
        assert position_fx_pairs(components) == ("EUR/USD",)
        assert position_symbols(components) == {"ETH/USD", "BTC/USD", "BTC/EUR", "EUR/USD"}

    async def test_tops_when_routed_reach_the_portfolio_only_for_its_symbols(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """``portfolio_symbols`` tops go to the portfolio too; every top goes to the executor."""
        async with actors.testing.open_harness() as harness:
            executor = harness.probe("root/trading/executor")
            portfolio = harness.probe("root/trading/portfolio")
            harness.probe("root/trading/risk_gate")
            send_events, events = trio.open_memory_channel[object](1)
            venue: Any = SimpleNamespace(events=events)  # no venue events in this test
            async with trio.open_nursery() as nursery:
                await nursery.start(
                    partial(
                        run_trading_io,
                        harness.bus,
                        harness.registry.lookup,
                        venue,
                        ExecutionSettings(),
                        "root/trading",
                        portfolio_symbols={"BTC/EUR", "EUR/USD"},
                    )
                )
                for symbol in ("ETH/USD", "EUR/USD", "BTC/EUR"):
                    await harness.bus.publish(TOPIC_BOOK_TOP, top(symbol, 100, 101, 2))
                for symbol in ("ETH/USD", "EUR/USD", "BTC/EUR"):
                    await executor.expect(BookTop, lambda t, s=symbol: t.symbol == s)
                for symbol in ("EUR/USD", "BTC/EUR"):
                    await portfolio.expect(BookTop, lambda t, s=symbol: t.symbol == s)
                await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
            send_events.close()
        assert [m.symbol for m in portfolio.received if isinstance(m, BookTop)] == [
            "EUR/USD",
            "BTC/EUR",
        ]


# -- property: the ledger against an oracle in exact fractions --------------------------------

QUANTUM = Fraction(1, 10**12)


def quantize(value: Fraction) -> Fraction:
    """Half-even to 1e-12 (Python rounds a Fraction half to even)."""
    return Fraction(round(value / QUANTUM)) * QUANTUM


class Oracle:
    """Average cost per pair in exact fractions, written from the ledger's documentation:
    the average is rounded to 1e-12 where the documentation says it is; PnL is exact.

    Rates: the latest EUR/USD mid, else one over the latest USD/EUR mid."""

    def __init__(self) -> None:
        self.qty: dict[str, Fraction] = {}
        self.average: dict[str, Fraction] = {}
        self.mark: dict[str, Fraction] = {}
        self.mids: dict[str, Fraction] = {}

    def rate(self, symbol: str) -> Fraction | None:
        if symbol.endswith("/USD"):
            return Fraction(1)
        if "EUR/USD" in self.mids:
            return self.mids["EUR/USD"]
        if "USD/EUR" in self.mids:
            return 1 / self.mids["USD/EUR"]
        return None

    def fill(self, symbol: str, buy: bool, qty: Fraction, price: Fraction, fee: Fraction,
             fee_in_base: bool) -> Fraction | None:  # fmt: skip
        held = self.qty.get(symbol, Fraction(0))
        average = self.average.get(symbol, Fraction(0))
        delta = (qty if buy else -qty) - (fee if fee_in_base else 0)
        pnl = -(fee * price if fee_in_base else fee)
        if held * delta < 0:  # against the position: close what it can
            closed = min(abs(delta), abs(held))
            pnl += closed * (price - average) * (1 if held > 0 else -1)
            after = held + delta
            average = Fraction(0) if after == 0 else (average if after * held > 0 else price)
        elif delta != 0:
            after = held + delta
            average = quantize((abs(held) * average + abs(delta) * price) / abs(after))
        else:
            after = held
        self.qty[symbol], self.average[symbol], self.mark[symbol] = after, average, price
        rate = self.rate(symbol)
        return None if rate is None else pnl * rate

    def unrealised(self, symbol: str) -> Fraction | None:
        rate = self.rate(symbol)
        if rate is None:
            return None
        return self.qty[symbol] * (self.mark[symbol] - self.average[symbol]) * rate


# A fill's result is rounded once (half a quantum). At these magnitudes (prices up to 1e5,
# fills up to 1, at most 40 of them) Decimal's 28 significant digits keep average costs exact
# before their rounding, and add far less than SLACK to a conversion.
HALF_QUANTUM = QUANTUM / 2
SLACK = Fraction(1, 10**18)

fills = st.tuples(
    st.just("fill"),
    st.sampled_from(["BTC/EUR", "ETH/USD"]),
    st.booleans(),
    st.integers(1, 10**8),  # qty lots (8 decimals): up to 1
    st.integers(1, 10**7),  # price ticks (2 decimals)
    st.integers(0, 10**4),  # fee: lots of base or ten-thousandths of quote
    st.booleans(),  # fee in base
)
fx_tops = st.tuples(
    st.just("fx"),
    st.sampled_from(["EUR/USD", "USD/EUR"]),
    st.integers(50_000, 200_000),  # bid ticks (5 decimals)
    st.integers(0, 99),  # spread ticks
)
marks = st.tuples(
    st.just("mark"),
    st.sampled_from(["BTC/EUR", "ETH/USD"]),
    st.integers(1, 10**7),
    st.integers(0, 99),
)


class TestLedgerAgainstOracle:
    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(fills, fx_tops, marks), max_size=40))
    def test_replay_when_random_fills_and_fx_marks_matches_the_oracle(
        self, events: list[tuple[Any, ...]]
    ) -> None:
        """Realised (each fill) and unrealised PnL equal an exact-fraction oracle's within
        half of 1e-12; quantities and average prices are equal."""
        ledger = PositionLedger("USD", fx_pairs=("EUR/USD",))
        oracle = Oracle()
        for event in events:
            if event[0] == "fill":
                _, symbol, buy, lots, ticks, fee_units, fee_in_base = event
                qty, price = Fraction(lots, 10**8), Fraction(ticks, 100)
                fee = Fraction(fee_units, 10**8) if fee_in_base else Fraction(fee_units, 10**4)
                fee = min(fee, qty / 2) if fee_in_base else fee
                base, _, quote = symbol.partition("/")
                made = Fill(
                    "x", "c", ENTRY, symbol, Side.BUY if buy else Side.SELL,
                    _decimal(price), _decimal(qty), _decimal(fee),
                    base if fee_in_base else quote, "t", 0.0,
                )  # fmt: skip
                got = ledger.track(made)
                expected = oracle.fill(symbol, buy, qty, price, fee, fee_in_base)
                if expected is None:
                    assert got is None
                else:
                    assert got is not None
                    assert abs(Fraction(got) - expected) <= HALF_QUANTUM + SLACK
                held = {p.symbol: p for p in ledger.positions()}
                if oracle.qty[symbol] == 0:
                    assert symbol not in held
                else:
                    assert Fraction(held[symbol].qty) == oracle.qty[symbol]
                    assert Fraction(held[symbol].average_price) == oracle.average[symbol]
            else:
                _, symbol, bid, spread = event
                precision = 5 if event[0] == "fx" else 2
                ledger.mark_book(top(symbol, bid, bid + spread, precision))
                mid = Fraction(2 * bid + spread, 2 * 10**precision)
                if event[0] == "fx":
                    oracle.mids[symbol] = mid
                elif symbol in oracle.mark:
                    oracle.mark[symbol] = mid
        for position in ledger.positions():
            expected = oracle.unrealised(position.symbol)
            if expected is None:
                assert position.fx_rate is None
            else:
                assert abs(Fraction(position.unrealised_pnl) - expected) <= HALF_QUANTUM + SLACK


def _decimal(value: Fraction) -> Decimal:
    """An exact Decimal of a fraction with a power-of-ten denominator."""
    return D(value.numerator) / D(value.denominator)
