"""The incremental detector finds exactly what the brute-force oracle finds.

On random universes and books (``tests/graph/strategies.py``), after any sequence of book
tops, quantity-only changes and suspensions: what the detector emits for an update is the
oracle's set of opportunities through the updated pair, and what it holds as current is the
oracle's whole set, with the same legs, prices, sizes, amounts and basis points.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.messages import BookTop
from tests.graph import oracle
from tests.graph.helpers import as_oracle, detector_for, key
from tests.graph.strategies import Market, book_top, markets

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


GUARD_SETTINGS = settings(max_examples=400, database=None, derandomize=True, deadline=None)


def _oracle(
    market: Market, books: dict[str, BookTop], **options: object
) -> list[oracle.OracleOpportunity]:
    return oracle.find_all(
        market.instruments,
        books,
        market.fee_rates,
        market.homes,
        **options,  # type: ignore[arg-type]
    )


def _through(found: list[oracle.OracleOpportunity], symbol: str) -> list[oracle.OracleOpportunity]:
    return [item for item in found if any(leg.symbol == symbol for leg in item.legs)]


def _sorted(found: list[oracle.OracleOpportunity]) -> list[oracle.OracleOpportunity]:
    return sorted(found, key=key)


class TestDetectorMatchesOracle:
    @PROPERTY_SETTINGS
    @given(market=st.booleans().flatmap(markets), max_length=st.sampled_from((3, 4)))
    def test_feed_when_books_arrive_one_by_one_emits_what_oracle_finds_through_each_pair(
        self, market: Market, max_length: int
    ) -> None:
        """Each update emits the oracle's opportunities through that pair; current is all."""
        detector = detector_for(
            market.instruments, market.fee_rates, market.homes, max_length=max_length
        )
        books: dict[str, BookTop] = {}
        for symbol, book in market.books.items():
            books[symbol] = book
            emitted = [as_oracle(item) for item in detector.on_book_top(book)]
            expected = _oracle(market, books, max_length=max_length)
            if detector.graph.index_of(symbol) is None:
                assert emitted == []
            else:
                assert _sorted(emitted) == _sorted(_through(expected, symbol))
            current = [as_oracle(item) for item in detector.current_opportunities()]
            assert _sorted(current) == _sorted(expected)

    @PROPERTY_SETTINGS
    @given(
        market=st.booleans().flatmap(markets),
        data=st.data(),
        min_bps=st.sampled_from((0, 5, 50)),
    )
    def test_feed_when_books_change_and_suspend_current_matches_oracle(
        self, market: Market, data: st.DataObject, min_bps: int
    ) -> None:
        """Re-priced books, quantity-only changes and suspensions keep detector == oracle."""
        detector = detector_for(
            market.instruments,
            market.fee_rates,
            market.homes,
            min_profit_bps=Decimal(min_bps),
        )
        live = dict(market.books)
        for book in live.values():
            detector.on_book_top(book)
        by_symbol = {spec.symbol: spec for spec in market.instruments}
        symbols = sorted(market.books)
        if not symbols:
            return
        for _ in range(data.draw(st.integers(1, 8))):
            symbol = data.draw(st.sampled_from(symbols))
            action = data.draw(st.sampled_from(("reprice", "quantity", "suspend")))
            old = market.books[symbol] if symbol not in live else live[symbol]
            if action == "suspend":
                detector.suspend(symbol)
                live.pop(symbol, None)
            elif action == "quantity":
                lots = data.draw(st.integers(1, 5000))
                book = BookTop(
                    symbol=symbol,
                    bids=tuple((p, lots) for p, _ in old.bids),
                    asks=old.asks[:1] + tuple((p, q + 1) for p, q in old.asks[1:]),
                    price_precision=old.price_precision,
                    qty_precision=old.qty_precision,
                    received_at=0.0,
                    sequence=1,
                )
                live[symbol] = book
                emitted = detector.on_book_top(book)
                expected = _oracle(market, live, min_profit_bps=Decimal(min_bps))
                if detector.graph.index_of(symbol) is not None:
                    assert _sorted([as_oracle(i) for i in emitted]) == _sorted(
                        _through(expected, symbol)
                    )
            else:
                spec = by_symbol[symbol]
                mid = old.asks[0][0] if old.asks else (old.bids[0][0] if old.bids else 100)
                book = data.draw(book_top(spec, mid / 10**spec.price_precision))
                live[symbol] = book
                detector.on_book_top(book)
            expected = _oracle(market, live, min_profit_bps=Decimal(min_bps))
            current = [as_oracle(item) for item in detector.current_opportunities()]
            assert _sorted(current) == _sorted(expected)


class TestPropertiesFindSomething:
    def test_strategies_when_sampled_hold_three_and_four_leg_opportunities(self) -> None:
        """Guard against vacuous properties: random markets do hold opportunities."""
        lengths: list[int] = []

        @GUARD_SETTINGS
        @given(market=markets(minimums=False))
        def collect(market: Market) -> None:
            lengths.extend(len(item.legs) for item in _oracle(market, market.books, max_length=4))

        collect()
        assert 3 in lengths
        assert 4 in lengths


class TestSizingReuse:
    @PROPERTY_SETTINGS
    @given(market=st.booleans().flatmap(markets))
    def test_feed_when_books_repeat_reuses_sizings_and_still_matches_oracle(
        self, market: Market
    ) -> None:
        """A book sent again unchanged re-emits the oracle's opportunities from reused sizings."""
        detector = detector_for(market.instruments, market.fee_rates, market.homes)
        books: dict[str, BookTop] = {}
        for symbol, book in market.books.items():
            books[symbol] = book
            detector.on_book_top(book)
        expected = _oracle(market, books)
        for symbol, book in market.books.items():
            before = detector.statistics()
            emitted = [as_oracle(item) for item in detector.on_book_top(book)]
            after = detector.statistics()
            if detector.graph.index_of(symbol) is not None:
                assert _sorted(emitted) == _sorted(_through(expected, symbol))
            assert after.sizings_reused - before.sizings_reused == after.sizings - before.sizings
