"""Kraken's own recorded BTC/USD book stream, fed as raw frames through decoder and book."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from arbitrade.kraken import BookMessage, Decoder
from arbitrade.market.book import ChecksumMismatch, OrderBook


@pytest.fixture
def recorded_frames(fixtures_dir: Path) -> list[bytes]:
    recording = json.loads((fixtures_dir / "kraken/book-btc-usd-v2-recorded.json").read_text())
    return [orjson.dumps(recording["init"])] + [orjson.dumps(u) for u in recording["updates"]]


def feed(frames: list[bytes]) -> tuple[OrderBook, list[object]]:
    decoder = Decoder({"BTC/USD": (1, 8)})
    book = OrderBook("BTC/USD", price_precision=1, qty_precision=8, depth=10)
    results = []
    for raw in frames:
        message = decoder.decode(raw)
        assert isinstance(message, BookMessage)
        results.append(book.apply(message))
    return book, results


def test_recording_when_replayed_validates_all_510_checksums(recorded_frames: list[bytes]) -> None:
    """Every one of the 510 messages (snapshot included) matches Kraken's checksum."""
    assert len(recorded_frames) == 510
    book, results = feed(recorded_frames)
    assert results == [None] * 510
    assert book.messages_applied == 510
    assert book.best_bid() == (294304, 1193517449)
    assert book.best_ask() == (294305, 560461)


def test_recording_when_replayed_from_text_frames_validates(recorded_frames: list[bytes]) -> None:
    """Frames arriving as str (as trio-websocket delivers text) decode the same."""
    _book, results = feed([raw.decode() for raw in recorded_frames])  # type: ignore[misc]
    assert results == [None] * 510


def test_recording_when_one_qty_corrupted_reports_mismatch(recorded_frames: list[bytes]) -> None:
    """A single changed quantity in one frame is caught as a ChecksumMismatch at that frame."""
    corrupted = list(recorded_frames)
    frame = orjson.loads(corrupted[200])
    level = (frame["data"][0]["bids"] or frame["data"][0]["asks"])[0]
    level["qty"] = round(level["qty"] + 0.00000001, 8)
    corrupted[200] = orjson.dumps(frame)
    book, results = feed(corrupted)
    assert results[:200] == [None] * 200
    mismatch = results[200]
    assert isinstance(mismatch, ChecksumMismatch)
    assert mismatch.expected == frame["data"][0]["checksum"]
    assert mismatch.computed != mismatch.expected
    assert not book.is_synced


def test_recording_when_one_checksum_corrupted_reports_mismatch(
    recorded_frames: list[bytes],
) -> None:
    """A changed checksum value is caught too."""
    corrupted = list(recorded_frames)
    frame = orjson.loads(corrupted[300])
    frame["data"][0]["checksum"] ^= 1
    corrupted[300] = orjson.dumps(frame)
    _book, results = feed(corrupted)
    assert isinstance(results[300], ChecksumMismatch)
