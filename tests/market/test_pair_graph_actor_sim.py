"""The market tree against the simulator: an injected mispricing comes out as an opportunity.

The book feed and the pair graph run as the application wires them; the simulator prices
ETH/BTC 300 bp above its cross rate. The opportunity must take the cycle that sells the dear
pair, and its size and profit must be what the brute-force oracle (``tests/graph/oracle.py``)
finds on the very books the graph had seen when it decided.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from actors import Bus, ChildCrashed, ChildRestarted
from actors.testing import open_harness
from arbitrade.messages import (
    TOPIC_BOOK_TOP,
    TOPIC_INSTRUMENTS,
    TOPIC_OPPORTUNITIES,
    BookTop,
    InstrumentsLoaded,
    Opportunity,
    Side,
)
from arbitrade.sim import RunningSimulator
from tests.graph.helpers import as_oracle, key
from tests.graph.oracle import find_all
from tests.market.conftest import GRAPH, GRAPH_PATH, SYMBOLS, TAKER_FEE, Recorder, market_tree


def books_seen_at(tops: list[BookTop], received_at: float) -> dict[str, BookTop]:
    """The latest top of each symbol published up to the triggering frame (inclusive)."""
    books: dict[str, BookTop] = {}
    for top in tops:
        if top.received_at <= received_at:
            books[top.symbol] = top
    return books


def top_edge(books: dict[str, BookTop]) -> Fraction:
    """USD -> ETH -> BTC -> USD at the best prices, after the taker fees: the marginal rate."""
    fee = Fraction(TAKER_FEE)

    def price(top: BookTop, side: tuple[tuple[int, int], ...]) -> Fraction:
        return Fraction(side[0][0], 10**top.price_precision)

    eth_usd, eth_btc, btc_usd = books["ETH/USD"], books["ETH/BTC"], books["BTC/USD"]
    eth = 1 / (price(eth_usd, eth_usd.asks) * (1 + fee))
    btc = eth * price(eth_btc, eth_btc.bids) * (1 - fee)
    return btc * price(btc_usd, btc_usd.bids) * (1 - fee)


class TestInjectedMispricing:
    async def test_mispricing_when_injected_is_found_with_oracle_legs_size_and_profit(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Sell the dear ETH/BTC: buy ETH with USD, sell it for BTC, sell BTC for USD."""
        async with open_harness() as harness:
            instruments = record(harness.bus, TOPIC_INSTRUMENTS)
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            await harness.start_tree(market_tree(sim.ws_public_url))
            loaded = await instruments.expect(InstrumentsLoaded)
            for symbol in SYMBOLS:
                await tops.expect(BookTop, lambda t, s=symbol: t.symbol == s)  # type: ignore[misc]
            assert not found.history  # a fair market: nothing beats three taker fees

            sim.simulator.inject_mispricing("ETH/BTC", 300, lifetime_ticks=500)
            opportunity = await found.expect(Opportunity, within=10.0)

            assert [(leg.symbol, leg.side) for leg in opportunity.legs] == [
                ("ETH/USD", Side.BUY),
                ("ETH/BTC", Side.SELL),
                ("BTC/USD", Side.SELL),
            ]
            books = books_seen_at(tops.history, opportunity.received_at)
            # At the top of the books: the 300 bp injected, less three 26 bp fees and the
            # spreads crossed (a few bp); deeper levels earn less, so the average is lower.
            edge_bps = (top_edge(books) - 1) * 10_000
            assert 300 - 3 * 26 - 20 < edge_bps < 300 - 3 * 26
            assert 0 < opportunity.profit_bps < edge_bps
            assert opportunity.received_at in {t.received_at for t in books.values()}
            fee_rates = {i.symbol: TAKER_FEE for i in loaded.instruments}
            oracle = {
                key(o): o
                for o in find_all(loaded.instruments, books, fee_rates, GRAPH.home_currencies)
            }
            mine = as_oracle(opportunity)
            assert oracle[key(mine)] == mine
            assert len(oracle) == 1

    async def test_graph_when_restarted_after_a_crash_detects_again_without_a_feed_restart(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A fresh graph incarnation recovers the universe and the books from the book feed:
        the feed publishes instruments only on (re)connect, so waiting for them would leave
        detection off until the next disconnect."""
        async with open_harness() as harness:
            tops = record(harness.bus, TOPIC_BOOK_TOP)
            found = record(harness.bus, TOPIC_OPPORTUNITIES)
            await harness.start_tree(market_tree(sim.ws_public_url))
            for symbol in SYMBOLS:
                await tops.expect(BookTop, lambda t, s=symbol: t.symbol == s)  # type: ignore[misc]

            await harness.crash(GRAPH_PATH)
            await harness.expect_event(ChildRestarted, lambda e: e.path == GRAPH_PATH)
            sim.simulator.inject_mispricing("ETH/BTC", 300, lifetime_ticks=500)
            opportunity = await found.expect(Opportunity)
            assert [leg.symbol for leg in opportunity.legs] == ["ETH/USD", "ETH/BTC", "BTC/USD"]
            assert not [
                e
                for e in harness.restart_log
                if isinstance(e, ChildCrashed) and e.path != GRAPH_PATH
            ]
