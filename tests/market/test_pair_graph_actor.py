"""The pair-graph actor on hand-made books (virtual clock): a known mispricing is found with
the legs, size and profit an independent brute force gives; resyncing or stale books hide it.

The books (taker fee 0.26 % on every pair, home USD)::

    ETH/USD  bids 2999.00 x 10        asks 3000.00 x 1.50, 3100.00 x 10
    ETH/BTC  bids 0.06150 x 1.0, 0.05000 x 2    asks 0.06200 x 1
    BTC/USD  bids 50000.0 x 0.5, 40000.0 x 5    asks 50010.0 x 5

ETH/BTC's best bid is 2.5 % above the cross rate (3000 / 50000 = 0.06). Buying ETH with USD,
selling it for BTC and selling the BTC for USD earns about 1.7 % at the top of the books, less
fees; ETH/BTC's first bid (1 ETH) is the binding level, and its second level loses money. By
hand: spend 1.00 x 3000 x 1.0026 = 3007.80 USD, get 1.00 x 0.0615 x 0.9974 = 0.06133... BTC,
sell 0.0613 (rounded down to 0.0001) for 0.0613 x 50000 x 0.9974 = 3057.031 USD: a profit of
49.231 USD, 163.67 bp. The reverse cycle loses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from math import floor

import attrs
import pytest
import trio

from actors import Bus, ChildSpec, Ref
from actors.testing import Harness, open_harness
from arbitrade.graph import DetectorStatistics, GraphSettings
from arbitrade.messages import (
    TOPIC_OPPORTUNITIES,
    BookHealth,
    BookStateChanged,
    BookTop,
    Instrument,
    InstrumentsLoaded,
    Opportunity,
    Side,
)
from arbitrade.strategy.triangular import GetGraphStatistics, PairGraphActor
from tests.market.conftest import FEES, TAKER_FEE, Recorder

GRAPH = GraphSettings(home_currencies=("USD",), max_book_age=5.0)

Levels = Sequence[tuple[str, str]]


def instrument(symbol: str, price_precision: int, qty_precision: int, status: str = "online"):  # type: ignore[no-untyped-def]
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        price_precision=price_precision,
        qty_precision=qty_precision,
        price_increment=Decimal(1).scaleb(-price_precision),
        qty_increment=Decimal(1).scaleb(-qty_precision),
        qty_min=Decimal("0.0001"),
        cost_min=Decimal("0.00002"),
        status=status,
    )


INSTRUMENTS = {
    "ETH/USD": instrument("ETH/USD", 2, 2),
    "ETH/BTC": instrument("ETH/BTC", 5, 4),
    "BTC/USD": instrument("BTC/USD", 1, 4),
}
BOOKS: dict[str, tuple[Levels, Levels]] = {
    "ETH/USD": ((("2999.00", "10"),), (("3000.00", "1.50"), ("3100.00", "10"))),
    "ETH/BTC": ((("0.06150", "1.0"), ("0.05000", "2")), (("0.06200", "1"),)),
    "BTC/USD": ((("50000.0", "0.5"), ("40000.0", "5")), (("50010.0", "5"),)),
}


def top(symbol: str, bids: Levels | None = None, asks: Levels | None = None) -> BookTop:
    """The hand-made book of ``symbol`` (or the given levels), received now."""
    spec = INSTRUMENTS[symbol]
    default_bids, default_asks = BOOKS[symbol]

    def units(levels: Levels) -> tuple[tuple[int, int], ...]:
        return tuple(
            (
                int(Decimal(p).scaleb(spec.price_precision)),
                int(Decimal(q).scaleb(spec.qty_precision)),
            )
            for p, q in levels
        )

    return BookTop(
        symbol,
        units(default_bids if bids is None else bids),
        units(default_asks if asks is None else asks),
        spec.price_precision,
        spec.qty_precision,
        trio.current_time(),
        0,
    )


# -- the independent brute force ---------------------------------------------------------------


@attrs.frozen
class Expected:
    legs: tuple[tuple[str, Side, Decimal, Decimal], ...]
    """(symbol, side, limit price, qty) of each leg."""
    start: Fraction
    end: Fraction


def _walk(levels: Levels, qty: Fraction) -> tuple[Fraction, Fraction] | None:
    """(notional, worst price) of taking ``qty`` base from ``levels``; None past the depth."""
    notional, worst, left = Fraction(0), Fraction(0), qty
    for price, size in levels:
        if left <= 0:
            break
        take = min(left, Fraction(size))
        notional += take * Fraction(price)
        worst = Fraction(price)
        left -= take
    return None if left > 0 else (notional, worst)


def _buy_with(levels: Levels, amount: Fraction, fee: Fraction) -> Fraction | None:
    """The base quantity ``amount`` of quote buys from ``levels``, fee included; None past
    the depth."""
    qty = Fraction(0)
    for price, size in levels:
        unit_cost = Fraction(price) * (1 + fee)
        if amount <= Fraction(size) * unit_cost:
            return qty + amount / unit_cost
        qty += Fraction(size)
        amount -= Fraction(size) * unit_cost
    return None


def _chain(
    route: Sequence[tuple[str, Side]], first_qty: Fraction, *, rounded: bool
) -> tuple[Fraction, Fraction, list[tuple[str, Side, Decimal, Fraction]]] | None:
    """Run ``first_qty`` base of leg 1 through the route: (start, end, legs), or None when a
    book cannot fill it. ``rounded``: each later leg trades the most whole lots its input
    pays for (leftovers are dust, not profit)."""
    fee = Fraction(TAKER_FEE)
    amount: Fraction | None = None
    start = Fraction(0)
    legs = []
    for symbol, side in route:
        spec = INSTRUMENTS[symbol]
        bids, asks = BOOKS[symbol]
        lot = Fraction(1, 10**spec.qty_precision)
        if amount is None:
            qty: Fraction | None = first_qty
        elif side is Side.SELL:
            qty = floor(amount / lot) * lot if rounded else amount
        else:
            qty = _buy_with(asks, amount, fee)
            if qty is not None and rounded:
                qty = floor(qty / lot) * lot
        walked = _walk(bids if side is Side.SELL else asks, qty) if qty else None
        if qty is None or walked is None:
            return None
        notional, worst = walked
        if side is Side.SELL:
            spent, received = qty, notional * (1 - fee)
        else:
            spent, received = notional * (1 + fee), qty
        if amount is None:
            start = spent
        legs.append((symbol, side, Decimal(worst.numerator) / worst.denominator, qty))
        amount = received
    assert amount is not None
    return start, amount, legs


def brute_force(route: Sequence[tuple[str, Side]]) -> Expected | None:
    """The ideal size is the smallest first-leg lot count maximising the ideal profit
    ``end - start`` over every lot count the books can fill; then legs are rounded."""
    spec = INSTRUMENTS[route[0][0]]
    lot = Fraction(1, 10**spec.qty_precision)
    best_lots, best_profit = 0, Fraction(0)
    for lots in range(1, 100_000):
        ideal = _chain(route, lots * lot, rounded=False)
        if ideal is None:
            break
        profit = ideal[1] - ideal[0]
        if profit > best_profit:
            best_lots, best_profit = lots, profit
    if best_lots == 0:
        return None
    chained = _chain(route, best_lots * lot, rounded=True)
    assert chained is not None
    start, end, legs = chained
    as_decimal = tuple(
        (symbol, side, price, Decimal(qty.numerator) / qty.denominator)
        for symbol, side, price, qty in legs
    )
    return Expected(as_decimal, start, end)


FORWARD = (("ETH/USD", Side.BUY), ("ETH/BTC", Side.SELL), ("BTC/USD", Side.SELL))
REVERSE = (("BTC/USD", Side.BUY), ("ETH/BTC", Side.BUY), ("ETH/USD", Side.SELL))


# -- the actor ------------------------------------------------------------------------------


async def start_graph(harness: Harness, settings: GraphSettings = GRAPH) -> Ref[object]:
    spec = ChildSpec(
        "pair_graph", factory=PairGraphActor, args=(settings, FEES), kwargs={"subscribe": False}
    )
    ref: Ref[object] = await harness.start(spec)
    instruments = tuple(INSTRUMENTS.values())
    await ref.send(InstrumentsLoaded(instruments, trio.current_time()))
    return ref


async def graph_statistics(ref: Ref[object]) -> DetectorStatistics:
    statistics = await ref.ask(GetGraphStatistics())
    assert isinstance(statistics, DetectorStatistics)
    return statistics


class TestDetection:
    def test_brute_force_when_books_hand_worked_agrees_with_the_hand_numbers(self) -> None:
        """The reference itself: the numbers worked by hand in the module docstring."""
        expected = brute_force(FORWARD)
        assert expected is not None
        assert expected.start == Fraction("3007.80")
        assert expected.end == Fraction("3057.031")
        assert [(s, side, q) for s, side, _, q in expected.legs] == [
            ("ETH/USD", Side.BUY, Decimal("1")),
            ("ETH/BTC", Side.SELL, Decimal("1")),
            ("BTC/USD", Side.SELL, Decimal("0.0613")),
        ]
        assert brute_force(REVERSE) is None

    async def test_mispriced_books_when_last_top_arrives_publish_the_brute_force_opportunity(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Legs, limit prices, sizes, amounts and basis points are the brute force's."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            graph = await start_graph(harness)
            for symbol in ("ETH/USD", "BTC/USD"):
                await graph.send(top(symbol))
            await trio.sleep(1.0)
            last = top("ETH/BTC")
            await graph.send(last)

            opportunity = await found.expect(Opportunity)
            expected = brute_force(FORWARD)
            assert expected is not None
            legs = [(leg.symbol, leg.side, leg.price, leg.qty) for leg in opportunity.legs]
            assert legs == list(expected.legs)
            assert [(leg.from_asset, leg.to_asset) for leg in opportunity.legs] == [
                ("USD", "ETH"),
                ("ETH", "BTC"),
                ("BTC", "USD"),
            ]
            assert opportunity.home == "USD"
            assert opportunity.start_amount == Decimal("3007.80")
            assert opportunity.end_amount == Decimal("3057.031")
            assert opportunity.profit == Decimal("49.231")
            profit = expected.end - expected.start
            assert opportunity.profit_bps == Decimal(floor(profit / expected.start * 10**6)) / 100
            assert opportunity.received_at == last.received_at
            assert opportunity.book_ages == pytest.approx((1.0, 0.0, 1.0))
            await trio.sleep(1.0)
            assert len(found.history) == 1  # the reverse cycle loses

    async def test_pair_when_offline_takes_no_part_in_any_cycle(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Only online pairs enter the graph: a halted ETH/BTC closes the triangle."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            spec = ChildSpec(
                "pair_graph",
                factory=PairGraphActor,
                args=(GRAPH, FEES),
                kwargs={"subscribe": False},
            )
            graph: Ref[object] = await harness.start(spec)
            halted = attrs.evolve(INSTRUMENTS["ETH/BTC"], status="maintenance")
            instruments = (INSTRUMENTS["ETH/USD"], halted, INSTRUMENTS["BTC/USD"])
            await graph.send(InstrumentsLoaded(instruments, trio.current_time()))
            for symbol in INSTRUMENTS:
                await graph.send(top(symbol))
            statistics = await graph_statistics(graph)
            assert statistics.ignored_updates == 1
            assert not found.history


class TestSuppression:
    async def test_book_when_resyncing_suppresses_the_opportunity_until_its_next_top(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """No decision on a resyncing book; its fresh snapshot brings the opportunity back."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            graph = await start_graph(harness)
            for symbol in INSTRUMENTS:
                await graph.send(top(symbol))
            await found.expect(Opportunity)

            resync = BookStateChanged(
                "ETH/BTC", BookHealth.RESYNCING, "checksum mismatch", trio.current_time(), False
            )
            await graph.send(resync)
            await graph.send(top("ETH/USD", bids=(("2999.00", "11"),)))
            await graph.send(top("BTC/USD"))
            statistics = await graph_statistics(graph)
            assert statistics.suspended_books == 1
            assert len(found.history) == 1

            await graph.send(top("ETH/BTC"))
            again = await found.expect(Opportunity)
            assert [leg.symbol for leg in again.legs] == ["ETH/USD", "ETH/BTC", "BTC/USD"]
            assert (await graph_statistics(graph)).suspended_books == 0

    async def test_book_when_older_than_max_book_age_suppresses_the_opportunity(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A leg's book unchanged for longer than max_book_age hides the cycle; fresh ones
        bring it back."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            graph = await start_graph(harness)
            for symbol in INSTRUMENTS:
                await graph.send(top(symbol))
            await found.expect(Opportunity)

            await trio.sleep(GRAPH.max_book_age + 1)
            await graph.send(top("ETH/USD", bids=(("2999.00", "11"),)))
            statistics = await graph_statistics(graph)
            assert statistics.suppressed_stale >= 1
            assert len(found.history) == 1

            for symbol in ("ETH/BTC", "BTC/USD"):
                await graph.send(top(symbol))
            fresh = await found.expect(Opportunity)
            assert max(fresh.book_ages) < GRAPH.max_book_age


class TestRebuild:
    async def test_instruments_when_reloaded_keep_deciding_on_the_books_already_seen(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A rebuilt graph (an instrument update) starts from the latest tops, not from
        nothing: a quiet book may not change again for minutes."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            graph = await start_graph(harness)
            for symbol in INSTRUMENTS:
                await graph.send(top(symbol))
            first = await found.expect(Opportunity)

            listed = instrument("SOL/USD", 2, 4)
            instruments = (*INSTRUMENTS.values(), listed)
            await graph.send(InstrumentsLoaded(instruments, trio.current_time()))
            again = await found.expect(Opportunity)
            assert again.legs == first.legs
            assert (await graph_statistics(graph)).updates == len(INSTRUMENTS)

    async def test_instruments_when_reloaded_keep_a_resyncing_book_suspended(
        self, autojump_clock: trio.testing.MockClock, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A book that was resyncing before the rebuild is still out until its next top."""
        async with open_harness() as harness:
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            graph = await start_graph(harness)
            for symbol in INSTRUMENTS:
                await graph.send(top(symbol))
            await found.expect(Opportunity)
            resync = BookStateChanged(
                "ETH/BTC", BookHealth.RESYNCING, "checksum mismatch", trio.current_time(), False
            )
            await graph.send(resync)
            await graph.send(InstrumentsLoaded(tuple(INSTRUMENTS.values()), trio.current_time()))
            await graph.send(top("ETH/USD", bids=(("2999.00", "11"),)))
            await graph_statistics(graph)
            assert len(found.history) == 1

            await graph.send(top("ETH/BTC"))
            await found.expect(Opportunity)
