"""The server's book checksum against Kraken's recorded stream and an independent computation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from arbitrade.sim import Book, Side, book_checksum
from tests.sim._helpers import checksum_of


def _units(value: Decimal, precision: int) -> int:
    return int(value.scaleb(precision))


def _apply(book: Book, item: dict[str, Any], depth: int = 10) -> None:
    for side, key in ((Side.BID, "bids"), (Side.ASK, "asks")):
        for level in item[key]:
            price = _units(level["price"], 1)
            book.set_synthetic(side, price, _units(level["qty"], 8))
        while book.level_count(side) > depth:
            worst = book.worst(side)
            assert worst is not None
            book.set_synthetic(side, worst, 0)


class TestRecordedStream:
    def test_checksum_when_replaying_kraken_recording_matches_every_message(
        self, fixtures_dir: Path
    ) -> None:
        """Every one of Kraken's 510 recorded checksums equals the server's computation."""
        data = json.loads(
            (fixtures_dir / "kraken" / "book-btc-usd-v2-recorded.json").read_text(),
            parse_float=Decimal,
        )
        book = Book()
        messages = [data["init"], *data["updates"]]
        for message in messages:
            item = message["data"][0]
            _apply(book, item)
            assert book_checksum(book) == item["checksum"]
        assert len(messages) == 510


class TestIndependentComputation:
    @given(
        levels=st.lists(
            st.tuples(st.integers(1, 10**9), st.integers(1, 10**12), st.booleans()),
            min_size=2,
            max_size=40,
            unique_by=lambda level: level[0],
        ),
        price_precision=st.integers(0, 8),
        qty_precision=st.integers(0, 8),
    )
    def test_checksum_when_computed_from_formatted_strings_agrees(
        self, levels: list[tuple[int, int, bool]], price_precision: int, qty_precision: int
    ) -> None:
        """Integer-unit checksum equals the string-formatting algorithm at any precision."""
        book = Book()
        ordered = sorted(levels)
        split = len(ordered) // 2
        for index, (price, lots, _) in enumerate(ordered):
            book.set_synthetic(Side.BID if index < split else Side.ASK, price, lots)

        def fmt(units: int, precision: int) -> str:
            return f"{Decimal(units).scaleb(-precision):.{precision}f}"

        asks = [(fmt(p, price_precision), fmt(q, qty_precision)) for p, q in book.top(Side.ASK, 10)]
        bids = [(fmt(p, price_precision), fmt(q, qty_precision)) for p, q in book.top(Side.BID, 10)]
        assert book_checksum(book) == checksum_of(asks, bids)
