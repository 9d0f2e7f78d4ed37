"""Fuzzing the WebSocket v2 decoder and the order book it feeds.

Rule: no frame makes :meth:`arbitrade.kraken.Decoder.decode` raise. Anything that does not fit
becomes a :class:`~arbitrade.kraken.DecodeError` value, counted in the decoder's statistics and
logged as ``kraken.decode_error``; and no sequence of decoded book messages, in any order, makes
:meth:`arbitrade.market.book.OrderBook.apply` raise or leave a book that breaks its invariants.
"""

from __future__ import annotations

from typing import Any, get_args

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.kraken import BookBatch, BookMessage, DecodeError, Decoder, Message
from arbitrade.market.book import BookNotSynced, ChecksumMismatch, OrderBook
from tests.fuzz.kraken_frames import EVERY_FRAME, PRECISIONS
from tests.fuzz.strategies import WRONG_VALUES, dumps, every_field_edit, fuzzed, garbage

MESSAGE_TYPES = tuple(get_args(Message))
FUZZED = {name: fuzzed(frame) for name, frame in EVERY_FRAME.items()}
FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]


def decode_checked(decoder: Decoder, raw: str | bytes) -> Message:
    """Decode once and check the contract: a Message, and a DecodeError is counted and logged."""
    before = decoder.statistics()
    with structlog.testing.capture_logs() as logs:
        message = decoder.decode(raw)
    after = decoder.statistics()
    assert isinstance(message, MESSAGE_TYPES)
    assert after.frames == before.frames + 1
    if isinstance(message, DecodeError):
        assert message.reason
        assert len(message.excerpt) <= 200
        assert after.decode_errors == before.decode_errors + 1
        assert [log["event"] for log in logs] == ["kraken.decode_error"]
    else:
        assert after.decode_errors == before.decode_errors
    return message


class TestDecoder:
    @pytest.mark.parametrize("name", sorted(EVERY_FRAME))
    def test_decode_when_frame_is_kraken_shaped_gives_its_message(self, name: str) -> None:
        """Each seed frame decodes cleanly, so the fuzzers start from valid input."""
        message = Decoder(PRECISIONS).decode(dumps(EVERY_FRAME[name]))
        assert not isinstance(message, DecodeError), message

    @settings(max_examples=300, deadline=None, suppress_health_check=FAST)
    @given(data=st.data(), name=st.sampled_from(sorted(EVERY_FRAME)))
    def test_decode_when_any_channel_frame_is_broken_never_raises(
        self, data: st.DataObject, name: str
    ) -> None:
        """Every channel's frame, broken anywhere or truncated or re-encoded, decodes or errs."""
        raw = data.draw(FUZZED[name], label="raw")
        decode_checked(Decoder(PRECISIONS), raw)

    @pytest.mark.parametrize("name", sorted(EVERY_FRAME))
    def test_decode_when_each_field_is_removed_or_retyped_never_raises(self, name: str) -> None:
        """Every field of every frame removed, or given each look-alike and wrong type."""
        edits = every_field_edit(EVERY_FRAME[name])
        for _path, _value, edited in edits:
            decode_checked(Decoder(PRECISIONS), dumps(edited))
        print(f"{name}: {len(edits)} single-field edits")  # the count, for -s / -rP runs

    @settings(max_examples=300, deadline=None, suppress_health_check=FAST)
    @given(raw=garbage())
    def test_decode_when_frame_is_garbage_gives_decode_error(self, raw: str | bytes) -> None:
        """Bytes and JSON that are no frame at all become DecodeError values."""
        message = decode_checked(Decoder(PRECISIONS), raw)
        assert isinstance(message, DecodeError)

    @settings(max_examples=300, deadline=None, suppress_health_check=FAST)
    @given(
        channel=st.sampled_from(
            ["book", "ticker", "trade", "ohlc", "executions", "status", "instrument"]
        ),
        kind=WRONG_VALUES | st.sampled_from(["snapshot", "update"]),
        data=WRONG_VALUES,
        extra=st.dictionaries(st.sampled_from(["sequence", "timestamp", "method"]), WRONG_VALUES),
    )
    def test_decode_when_envelope_fields_have_wrong_types_never_raises(
        self, channel: str, kind: Any, data: Any, extra: dict[str, Any]
    ) -> None:
        """An envelope whose type, data or extras hold any JSON value decodes or errs."""
        frame = {"channel": channel, "type": kind, "data": data, **extra}
        decode_checked(Decoder(PRECISIONS), dumps(frame))

    @settings(max_examples=40, deadline=None, suppress_health_check=FAST)
    @given(raws=st.data())
    def test_decode_when_one_decoder_reads_a_mixed_stream_keeps_decoding(
        self, raws: st.DataObject
    ) -> None:
        """A decoder that has seen broken frames still decodes every valid frame after them."""
        decoder = Decoder(PRECISIONS)
        for _ in range(10):
            name = raws.draw(st.sampled_from(sorted(EVERY_FRAME)))
            decode_checked(decoder, raws.draw(FUZZED[name]))
        for name, frame in sorted(EVERY_FRAME.items()):
            if name == "instrument":
                continue  # a fuzzed instrument frame may have changed BTC/USD's precisions
            assert not isinstance(decode_checked(decoder, dumps(frame)), DecodeError), name


# -- books ------------------------------------------------------------------------------------

PRICE_PRECISION, QTY_PRECISION = 1, 8
NUMBERS = st.sampled_from(
    [100 + n / 10 for n in range(-5, 70)]  # a narrow window: levels collide, cross, delete
    + [0, 0.0, -0.0, 0.05, 1e-9, 1e15, 1e300, 2**64, 10**30, -1, 0.00000001, 0.5, 12.345678]
)


@st.composite
def book_frames(draw: Any) -> str:
    """A book frame for BTC/USD (precisions 1/8) of either type, levels in a narrow window."""

    def levels() -> list[dict[str, Any]]:
        return draw(st.lists(st.fixed_dictionaries({"price": NUMBERS, "qty": NUMBERS}), max_size=6))

    item = {
        "symbol": "BTC/USD",
        "bids": levels(),
        "asks": levels(),
        "checksum": draw(st.integers(0, 2**32 - 1)),
    }
    kind = draw(st.sampled_from(["snapshot", "update", "update", "update"]))
    return dumps({"channel": "book", "type": kind, "data": [item]})


def check_book_invariants(book: OrderBook) -> None:
    bids, asks = list(book.bids()), list(book.asks())
    assert len(bids) <= book.depth
    assert len(asks) <= book.depth
    assert [price for price, _ in bids] == sorted({price for price, _ in bids}, reverse=True)
    assert [price for price, _ in asks] == sorted({price for price, _ in asks})
    assert all(price > 0 and lots > 0 for price, lots in (*bids, *asks))


class TestOrderBook:
    @settings(max_examples=100, deadline=None, suppress_health_check=FAST)
    @given(
        frames=st.lists(book_frames(), max_size=12),
        depth=st.sampled_from([10, 25]),
        use_true_checksums=st.booleans(),
    )
    def test_apply_when_decoded_messages_come_in_any_order_gives_typed_results(
        self, frames: list[str], depth: int, use_true_checksums: bool
    ) -> None:
        """Updates before a snapshot, crossing levels, bad checksums: only typed results."""
        decoder = Decoder({"BTC/USD": (PRICE_PRECISION, QTY_PRECISION)})
        book = OrderBook(
            "BTC/USD", price_precision=PRICE_PRECISION, qty_precision=QTY_PRECISION, depth=depth
        )
        for raw in frames:
            message = decode_checked(decoder, raw)
            if isinstance(message, DecodeError):
                continue
            items = message.messages if isinstance(message, BookBatch) else (message,)
            for item in items:
                assert isinstance(item, BookMessage)
                was_synced = book.is_synced
                if use_true_checksums:
                    item = item._replace(checksum=_checksum_after(book, item))
                result = book.apply(item)
                assert result is None or isinstance(result, ChecksumMismatch | BookNotSynced)
                if isinstance(result, BookNotSynced):
                    assert not was_synced
                    assert not item.is_snapshot
                if use_true_checksums and (was_synced or item.is_snapshot):
                    assert result is None
                    assert book.checksum() == item.checksum
                check_book_invariants(book)


def _checksum_after(book: OrderBook, message: BookMessage) -> int:
    """The checksum ``book`` will have after ``message`` (computed on a copy)."""
    copy = OrderBook(
        book.symbol,
        price_precision=book.price_precision,
        qty_precision=book.qty_precision,
        depth=book.depth,
    )
    copy.apply_snapshot(list(book.bids()), list(book.asks()))
    copy.apply(message._replace(checksum=None))
    return copy.checksum()
