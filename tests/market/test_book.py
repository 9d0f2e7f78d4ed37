"""The L2 book: snapshots, updates, truncation, Kraken's checksum, and the typed failures."""

from __future__ import annotations

import zlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrade.kraken import BookMessage, Decoder
from arbitrade.market.book import BookNotSynced, ChecksumMismatch, OrderBook
from tests.strategies import (
    Instrument,
    ReferenceBook,
    book_frame,
    book_messages,
    instruments,
)


def make_book(depth: int = 10) -> OrderBook:
    return OrderBook("BTC/USD", price_precision=1, qty_precision=8, depth=depth)


class TestChecksum:
    def test_checksum_when_kraken_worked_fragment_matches_its_text(self) -> None:
        """An ask at 45285.2 with qty 0.00100000 contributes "452852100000" (Kraken's guide)."""
        book = make_book()
        assert book.apply_snapshot([], [(452852, 100000)]) is None
        assert book.checksum() == zlib.crc32(b"452852100000")

    def test_checksum_when_both_sides_present_puts_asks_first(self) -> None:
        """The string is the asks (ascending) and then the bids (descending)."""
        book = make_book()
        book.apply_snapshot([(100, 1), (99, 2)], [(102, 3), (101, 4)])
        assert book.checksum() == zlib.crc32(b"1014" + b"1023" + b"1001" + b"992")

    def test_checksum_when_sides_exceed_ten_uses_top_ten(self) -> None:
        """Only the best ten levels of each side enter the checksum."""
        book = make_book(depth=25)
        asks = [(1000 + i, 1) for i in range(20)]
        book.apply_snapshot([], asks)
        expected = b"".join(b"%d1" % (1000 + i) for i in range(10))
        assert book.checksum() == zlib.crc32(expected)

    def test_apply_when_checksum_differs_returns_mismatch_and_unsyncs(self) -> None:
        """A wrong checksum is a typed result, and later updates are refused."""
        book = make_book()
        result = book.apply_snapshot([(100, 1)], [(101, 1)], checksum=1)
        assert isinstance(result, ChecksumMismatch)
        assert result.expected == 1
        assert result.computed == book.checksum()
        assert not book.is_synced
        assert book.apply_update([(100, 2)], [], None) == BookNotSynced("BTC/USD")

    def test_apply_when_snapshot_follows_mismatch_resyncs(self) -> None:
        """A fresh snapshot makes an unsynced book usable again."""
        book = make_book()
        book.apply_snapshot([(100, 1)], [(101, 1)], checksum=1)
        assert book.apply_snapshot([(100, 1)], [(101, 1)]) is None
        assert book.is_synced


class TestUpdates:
    def test_update_when_qty_zero_deletes_level(self) -> None:
        """Zero lots removes the price."""
        book = make_book()
        book.apply_snapshot([(100, 1), (99, 1)], [(101, 1)])
        book.apply_update([(100, 0)], [])
        assert book.best_bid() == (99, 1)

    def test_update_when_deleting_unknown_price_is_ignored(self) -> None:
        """Deleting a price the book does not hold changes nothing."""
        book = make_book()
        book.apply_snapshot([(100, 1)], [(101, 1)])
        before = book.checksum()
        assert book.apply_update([(50, 0)], [(500, 0)], before) is None

    def test_update_when_same_price_twice_applies_in_order(self) -> None:
        """A message may set and then delete (or reset) one price: order matters."""
        book = make_book()
        book.apply_snapshot([(100, 1)], [(101, 1)])
        book.apply_update([], [(105, 7), (105, 0), (106, 3), (106, 4)])
        assert list(book.asks()) == [(101, 1), (106, 4)]

    def test_update_when_side_overflows_truncates_after_all_levels(self) -> None:
        """Truncation happens after the whole message: a delete can pull a level back in."""
        book = make_book()
        asks = [(1000 + i, 1) for i in range(10)]
        book.apply_snapshot([], asks)
        # insert at the top (11 levels), then delete it: the 10th level must survive.
        book.apply_update([], [(999, 5), (999, 0)])
        assert book.ask_count() == 10
        assert list(book.asks())[-1] == (1009, 1)

    def test_update_when_insert_pushes_level_out_drops_worst(self) -> None:
        """Kraken sends no delete for a level that falls out of the depth: we drop it."""
        book = make_book()
        book.apply_snapshot([(100 - i, 1) for i in range(10)], [])
        book.apply_update([(101, 2)], [])
        bids = list(book.bids())
        assert bids[0] == (101, 2)
        assert bids[-1] == (92, 1)
        assert book.bid_count() == 10

    def test_update_when_book_not_synced_returns_not_synced(self) -> None:
        """Before the first snapshot nothing is applied."""
        book = make_book()
        assert book.apply_update([(100, 1)], [], None) == BookNotSynced("BTC/USD")
        assert book.bid_count() == 0


class TestAccessors:
    def test_best_when_empty_is_none(self) -> None:
        """An empty side has no best level."""
        book = make_book()
        assert book.best_bid() is None
        assert book.best_ask() is None

    def test_levels_as_decimal_when_read_are_exact(self) -> None:
        """Ticks and lots convert to exact Decimals at the book's precisions."""
        book = make_book()
        book.apply_snapshot([(294302, 18967538)], [(294303, 825215653)])
        assert book.levels_as_decimal("bids") == [(Decimal("29430.2"), Decimal("0.18967538"))]
        assert book.levels_as_decimal("asks", 1) == [(Decimal("29430.3"), Decimal("8.25215653"))]
        assert book.price_to_decimal(1) == Decimal("0.1")

    def test_levels_as_decimal_when_side_unknown_raises(self) -> None:
        """A side other than bids/asks is a programming error."""
        with pytest.raises(ValueError, match="side"):
            make_book().levels_as_decimal("middle")

    def test_constructor_when_depth_invalid_raises(self) -> None:
        """Depths are Kraken's: 10, 25, 100, 500, 1000."""
        with pytest.raises(ValueError, match="depth"):
            OrderBook("X/Y", price_precision=1, qty_precision=1, depth=11)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_sequences_when_fed_as_raw_frames_match_reference_model(data: st.DataObject) -> None:
    """Random updates on random instruments keep the book equal to a simple reference model.

    Frames carry JSON numbers and the reference model's checksum, so this also proves the
    float-to-ticks conversion exact at every precision.
    """
    instrument: Instrument = data.draw(instruments())
    messages = data.draw(book_messages(instrument))
    reference = ReferenceBook(
        instrument.price_precision, instrument.qty_precision, instrument.depth
    )
    decoder = Decoder({instrument.symbol: (instrument.price_precision, instrument.qty_precision)})
    book = OrderBook(
        instrument.symbol,
        price_precision=instrument.price_precision,
        qty_precision=instrument.qty_precision,
        depth=instrument.depth,
    )
    for index, (bids, asks) in enumerate(messages):
        snapshot = index == 0
        reference.apply(bids, asks, snapshot=snapshot)
        raw = book_frame(
            instrument.symbol,
            reference,
            bids,
            asks,
            snapshot=snapshot,
            checksum=reference.checksum(),
        )
        message = decoder.decode(raw)
        assert isinstance(message, BookMessage), message
        assert book.apply(message) is None
        assert book.levels_as_decimal("bids") == reference.sorted_bids()
        assert book.levels_as_decimal("asks") == reference.sorted_asks()
    assert decoder.statistics().decode_errors == 0
