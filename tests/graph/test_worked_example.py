"""A hand-worked triangle: three pairs, one mispricing, every number derived by hand.

Pairs (fee 0.1 % taker on each, charged in the quote currency), home USD:

- ``BTC/USD`` asks 50000.0 x 0.5, 50100.0 x 2 (bids 49990.0 x 1)
- ``ETH/BTC`` asks 0.05900 x 4, 0.06100 x 10 (bids 0.05890 x 4): ETH is cheap in BTC
- ``ETH/USD`` bids 3000.00 x 3, 2990.00 x 10 (asks 3001.00 x 5)

Cycle USD -> BTC (buy BTC/USD) -> ETH (buy ETH/BTC) -> USD (sell ETH/USD). A USD buys
``1 / (50000 * 1.001)`` BTC, a BTC buys ``1 / (0.059 * 1.001)`` ETH, an ETH sells for
``3000 * 0.999`` USD: top-of-book product ``2997 / (50050 * 0.059059) = 1.01390`` (139 bp).

Lockstep in USD: leg 1's first level absorbs 0.5 BTC * 50050 = 25025 USD; leg 2's first
level 4 ETH * 0.059059 = 0.236236 BTC = 11823.6118 USD; leg 3's first level 3 ETH =
3 * 0.059059 * 50050 = 8867.70885 USD. Leg 3 empties first at x = 8867.70885. With leg 3 at
2990 the product is ``2990 * 0.999 / 2955.90295 = 1.0105`` > 1, so the flow goes on until
leg 2's first level empties at x = 11823.6118 USD; then leg 2 would pay 0.061 and the product
``2987.01 / (50050 * 0.061061) = 0.977`` < 1 stops it.

Rounded (all increments are one lot): leg 1 buys 0.236236 BTC at 50000.0 for exactly
11823.6118 USD; leg 2 buys 4 ETH at 0.059 for exactly 0.236236 BTC; leg 3 sells 4 ETH
(3 at 3000, 1 at 2990, limit 2990.00) for 11990 * 0.999 = 11978.01 USD. Profit
154.3982 USD = 130.58 bp of the start (130.5846... rounded down).
"""

from __future__ import annotations

from decimal import Decimal

from arbitrade.messages import Side
from tests.graph import oracle
from tests.graph.helpers import as_oracle, detector_for, instrument, top

BTC_USD = instrument("BTC/USD", 1, 8)
ETH_BTC = instrument("ETH/BTC", 5, 8)
ETH_USD = instrument("ETH/USD", 2, 8)
UNIVERSE = (BTC_USD, ETH_BTC, ETH_USD)
FEES = {spec.symbol: Decimal("0.001") for spec in UNIVERSE}
BOOKS = (
    top(BTC_USD, [("49990.0", "1")], [("50000.0", "0.5"), ("50100.0", "2")], received_at=1.0),
    top(ETH_BTC, [("0.05890", "4")], [("0.05900", "4"), ("0.06100", "10")], received_at=2.0),
    top(ETH_USD, [("3000.00", "3"), ("2990.00", "10")], [("3001.00", "5")], received_at=3.0),
)


class TestWorkedTriangle:
    def test_detect_when_eth_cheap_in_btc_finds_the_hand_worked_cycle(self) -> None:
        """The detector reproduces every hand-worked number of the module docstring."""
        now = [3.5]
        detector = detector_for(UNIVERSE, FEES, ["USD"], now=now)
        assert detector.on_book_top(BOOKS[0]) == []
        assert detector.on_book_top(BOOKS[1]) == []
        (found,) = detector.on_book_top(BOOKS[2])
        assert found.home == "USD"
        assert [(leg.symbol, leg.side, leg.price, leg.qty) for leg in found.legs] == [
            ("BTC/USD", Side.BUY, Decimal("50000.0"), Decimal("0.23623600")),
            ("ETH/BTC", Side.BUY, Decimal("0.05900"), Decimal("4.00000000")),
            ("ETH/USD", Side.SELL, Decimal("2990.00"), Decimal("4.00000000")),
        ]
        assert found.start_amount == Decimal("11823.6118")
        assert found.end_amount == Decimal("11978.01")
        assert found.profit == Decimal("154.3982")
        assert found.profit_bps == Decimal("130.58")
        assert found.book_ages == (2.5, 1.5, 0.5)
        assert found.received_at == 3.0
        assert found.latency == 0.5
        assert found.strategy == "triangular"

    def test_oracle_when_given_the_same_books_agrees_with_the_hand_worked_cycle(self) -> None:
        """The brute-force oracle finds the same single opportunity."""
        books = {book.symbol: book for book in BOOKS}
        detector = detector_for(UNIVERSE, FEES, ["USD"])
        for book in BOOKS:
            detector.on_book_top(book)
        expected = oracle.find_all(UNIVERSE, books, FEES, ["USD"])
        assert [as_oracle(found) for found in detector.current_opportunities()] == expected
        assert len(expected) == 1

    def test_detect_when_min_profit_above_the_edge_finds_nothing(self) -> None:
        """A 140 bp minimum is above the 139 bp top-of-book edge: no opportunity."""
        detector = detector_for(UNIVERSE, FEES, ["USD"], min_profit_bps=Decimal(140))
        assert [detector.on_book_top(book) for book in BOOKS] == [[], [], []]

    def test_detect_when_a_leg_is_suspended_finds_nothing_until_its_next_top(self) -> None:
        """A resyncing book suppresses the cycle; its next book top revives it."""
        detector = detector_for(UNIVERSE, FEES, ["USD"])
        for book in BOOKS:
            detector.on_book_top(book)
        detector.suspend("ETH/BTC")
        assert detector.current_opportunities() == []
        assert detector.on_book_top(BOOKS[2]) == []
        assert len(detector.on_book_top(BOOKS[1])) == 1

    def test_detect_when_a_book_is_older_than_max_age_suppresses_and_counts(self) -> None:
        """A leg book older than max_book_age suppresses the cycle (counted as stale)."""
        now = [20.0]
        detector = detector_for(UNIVERSE, FEES, ["USD"], max_book_age=10.0, now=now)
        for book in BOOKS:
            assert detector.on_book_top(book) == []
        assert detector.statistics().suppressed_stale == 1

    def test_detect_when_only_quantity_changes_resizes_without_rescreening(self) -> None:
        """A quantity-only change re-sizes passing cycles without running the screen."""
        detector = detector_for(UNIVERSE, FEES, ["USD"])
        for book in BOOKS:
            detector.on_book_top(book)
        rescreens = detector.statistics().rescreens
        thinner = top(ETH_USD, [("3000.00", "1")], [("3001.00", "5")])
        (found,) = detector.on_book_top(thinner)
        assert detector.statistics().rescreens == rescreens
        assert found.legs[2].qty == Decimal("1.00000000")
        assert found.legs[2].price == Decimal("3000.00")
