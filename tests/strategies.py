"""Hypothesis strategies shared by the test suite (add yours below, one section per area).

Kraken section: instruments with random precisions, book update sequences that touch the
same prices repeatedly (so deletes, re-inserts and duplicates within one message all
happen), a straightforward reference book with Kraken's checksum written from its
documentation, and malformed frames of every kind.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import orjson
from hypothesis import strategies as st

# -- Kraken: instruments and books ---------------------------------------------------------------


@attrs.frozen
class Instrument:
    """A made-up pair with Kraken-like precisions."""

    symbol: str
    price_precision: int
    qty_precision: int
    depth: int


def instruments() -> st.SearchStrategy[Instrument]:
    """Pairs with price precision 0..8, qty precision 0..10, depth 10 or 25."""
    return st.builds(
        Instrument,
        symbol=st.sampled_from(["BTC/USD", "ETH/BTC", "DOGE/USD", "SHIB/EUR", "X/Y"]),
        price_precision=st.integers(0, 8),
        qty_precision=st.integers(0, 10),
        depth=st.sampled_from([10, 25]),
    )


RawLevel = tuple[int, int]  # (price ticks, qty lots); lots 0 deletes


def book_messages(
    instrument: Instrument, max_messages: int = 30
) -> st.SearchStrategy[list[tuple[list[RawLevel], list[RawLevel]]]]:
    """A snapshot followed by updates, as (bids, asks) lists of (ticks, lots).

    Prices come from a small window so levels collide: a message may set and delete the same
    price, deletes may name prices not in the book, and inserts push levels past the depth.
    Quantities go up to 10**12 lots so large numbers take the exact paths too.
    """
    base = 10 ** max(instrument.price_precision, 1)
    prices = st.integers(base, base + 60)
    lots = st.one_of(
        st.just(0),
        st.integers(1, 10**6),
        st.integers(1, 10**13),
        st.integers(10**15, 10**18),
    )
    levels = st.lists(st.tuples(prices, lots), max_size=6)
    snapshot_levels = st.lists(st.tuples(prices, st.integers(1, 10**9)), max_size=30)
    snapshot = st.tuples(snapshot_levels, snapshot_levels)
    return st.tuples(snapshot, st.lists(st.tuples(levels, levels), max_size=max_messages)).map(
        lambda pair: [pair[0], *pair[1]]
    )


class ReferenceBook:
    """The simplest correct book: dicts of Decimal prices, sorted on every read.

    Written from Kraken's documentation independently of :mod:`arbitrade.market.book`: levels
    are Decimals, the checksum formats each with ``f"{value:.{precision}f}"``.
    """

    def __init__(self, price_precision: int, qty_precision: int, depth: int) -> None:
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def price(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.price_precision)

    def qty(self, lots: int) -> Decimal:
        return Decimal(lots).scaleb(-self.qty_precision)

    def apply(self, bids: list[RawLevel], asks: list[RawLevel], *, snapshot: bool) -> None:
        if snapshot:
            self.bids.clear()
            self.asks.clear()
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for ticks, lots in levels:
                if lots == 0:
                    side.pop(self.price(ticks), None)
                else:
                    side[self.price(ticks)] = self.qty(lots)
        for price in sorted(self.bids, reverse=True)[self.depth :]:
            del self.bids[price]
        for price in sorted(self.asks)[self.depth :]:
            del self.asks[price]

    def sorted_bids(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.asks.items())

    def checksum(self) -> int:
        def text(value: Decimal, precision: int) -> str:
            return f"{value:.{precision}f}".replace(".", "").lstrip("0")

        parts = [
            text(price, self.price_precision) + text(qty, self.qty_precision)
            for price, qty in self.sorted_asks()[:10] + self.sorted_bids()[:10]
        ]
        return zlib.crc32("".join(parts).encode("ascii"))


def json_number(value: Decimal) -> orjson.Fragment:
    """A Decimal as a JSON number the way an exchange writes one (``29430.2``, ``4.0``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return orjson.Fragment(text.encode())


def book_frame(
    symbol: str,
    reference: ReferenceBook,
    bids: list[RawLevel],
    asks: list[RawLevel],
    *,
    snapshot: bool,
    checksum: int,
) -> bytes:
    """A raw v2 ``book`` frame with numbers as JSON numbers, as Kraken sends them."""

    def levels(raw: list[RawLevel]) -> list[dict[str, Any]]:
        return [
            {"price": json_number(reference.price(t)), "qty": json_number(reference.qty(q))}
            for t, q in raw
        ]

    item: dict[str, Any] = {
        "symbol": symbol,
        "bids": levels(bids),
        "asks": levels(asks),
        "checksum": checksum,
    }
    if not snapshot:
        item["timestamp"] = "2023-07-30T15:29:58.343415Z"
    return orjson.dumps(
        {"channel": "book", "type": "snapshot" if snapshot else "update", "data": [item]}
    )


# -- Kraken: malformed frames ------------------------------------------------------------------

VALID_BOOK_UPDATE: dict[str, Any] = {
    "channel": "book",
    "type": "update",
    "data": [
        {
            "symbol": "BTC/USD",
            "bids": [{"price": 29430.2, "qty": 0.5}],
            "asks": [{"price": 29430.3, "qty": 0.25}],
            "checksum": 12345,
            "timestamp": "2023-07-30T15:29:58.343415Z",
        }
    ],
}

_WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.just([]),
    st.just({}),
    st.just(-1),
    st.just(2**64 - 1),
    st.just(1.5e300),
    st.just(-0.5),
    st.just(0.123456789123),
)

_PATHS: list[tuple[Any, ...]] = [
    ("channel",),
    ("type",),
    ("data",),
    ("data", 0),
    ("data", 0, "symbol"),
    ("data", 0, "bids"),
    ("data", 0, "asks"),
    ("data", 0, "checksum"),
    ("data", 0, "timestamp"),
    ("data", 0, "bids", 0),
    ("data", 0, "bids", 0, "price"),
    ("data", 0, "bids", 0, "qty"),
    ("data", 0, "asks", 0, "price"),
    ("data", 0, "asks", 0, "qty"),
]


def _replace(frame: Any, path: tuple[Any, ...], value: Any, *, delete: bool) -> Any:
    frame = orjson.loads(orjson.dumps(frame))
    parent = frame
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return frame


def _is_still_valid(path: tuple[Any, ...], value: Any) -> bool:
    leaf = path[-1]
    if leaf == "channel" and value == "book":
        return True
    if leaf == "timestamp" and (value is None or isinstance(value, str)):
        return True  # optional, and any string (we do not parse times on the hot path)
    if leaf == "type" and value in ("snapshot", "update"):
        return True
    if leaf in ("price", "qty") and type(value) in (int, float):
        precision = 1 if leaf == "price" else 8
        scaled = Decimal(repr(value)).scaleb(precision)
        lowest = 1 if leaf == "price" else 0
        return scaled == scaled.to_integral_value() and scaled >= lowest
    if leaf == "checksum" and type(value) is int:
        return 0 <= value < 2**32
    return leaf in ("bids", "asks") and value == []


def malformed_book_frames() -> st.SearchStrategy[bytes]:
    """Book frames (BTC/USD, precisions 1/8) broken in one place: a key dropped or retyped."""

    @st.composite
    def build(draw: Callable[..., Any]) -> bytes:
        path = draw(st.sampled_from(_PATHS))
        delete = draw(st.booleans())
        if delete and (path[-1] == "timestamp" or isinstance(path[-1], int)):
            delete = False  # an absent timestamp or one level fewer is still a valid frame
        value = draw(_WRONG_VALUES)
        if not delete and _is_still_valid(path, value):
            value = 123 if path[-1] in ("timestamp", "symbol", "channel", "type") else "nan"
        return orjson.dumps(_replace(VALID_BOOK_UPDATE, path, value, delete=delete))

    return build()


def garbage_frames() -> st.SearchStrategy[bytes]:
    """Bytes that are not JSON, JSON that is not an object, and objects of no known kind."""
    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=10,
    )
    return st.one_of(
        st.binary(max_size=40).filter(lambda b: not b.strip().startswith((b"{", b"["))),
        json_values.map(orjson.dumps),
        st.fixed_dictionaries(
            {"channel": st.text(max_size=10).filter(lambda s: s not in _KNOWN_CHANNELS)}
        ).map(orjson.dumps),
        st.fixed_dictionaries(
            {"method": st.text(max_size=10).filter(lambda s: s not in _KNOWN_METHODS)}
        ).map(orjson.dumps),
    )


_KNOWN_CHANNELS = frozenset(
    {"book", "heartbeat", "status", "instrument", "ticker", "trade", "ohlc", "executions"}
)
_KNOWN_METHODS = frozenset(
    {
        "pong",
        "subscribe",
        "unsubscribe",
        "add_order",
        "cancel_order",
        "batch_add",
        "batch_cancel",
        "cancel_all",
        "cancel_all_orders_after",
    }
)
