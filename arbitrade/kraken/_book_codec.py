"""Decoding ``book`` channel items into :class:`BookMessage`: the bot's hottest decoder.

The fast path turns orjson's floats into ticks and lots with one multiply and one ``round``
per number (exact below 10**12 units, see :mod:`arbitrade.kraken._numbers`) and checks each
result is on the grid and in range. Anything unusual (a string, a huge or off-grid number, a
missing key) drops to the slow path, which re-reads the item field by field, names the field
that is wrong, and handles large numbers exactly.
"""

from __future__ import annotations

from typing import Any, Final

from arbitrade.kraken._fields import Malformed, get_int, get_list, get_object, get_str, get_units
from arbitrade.kraken._messages import BookMessage
from arbitrade.kraken._numbers import FAST_UNIT_LIMIT, OFF_GRID_TOLERANCE
from arbitrade.market.book import Level

__all__ = ["Precision", "decode_book_item", "decode_book_item_fast"]

_LIMIT: Final = FAST_UNIT_LIMIT
_TOL: Final = OFF_GRID_TOLERANCE
_MAX_CHECKSUM: Final = 2**32
_new_tuple: Final = tuple.__new__


class Precision:
    """An instrument's price and qty precisions, with the float scales the fast path uses."""

    __slots__ = ("price_precision", "price_scale", "qty_precision", "qty_scale", "scales")

    def __init__(self, price_precision: int, qty_precision: int) -> None:
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        # Exact as floats for every precision Kraken uses (10**p < 2**53 for p <= 15).
        self.price_scale = float(10**price_precision)
        self.qty_scale = float(10**qty_precision)
        self.scales = (self.price_scale, self.qty_scale)

    def __repr__(self) -> str:
        return f"Precision(price={self.price_precision}, qty={self.qty_precision})"


class _Slow(Exception):
    pass


def _fast_levels(raw: list[Any], price_scale: float, qty_scale: float) -> tuple[Level, ...]:
    out: list[Level] = []
    append = out.append
    for level in raw:
        price = level["price"]
        qty = level["qty"]
        if price is True or price is False or qty is True or qty is False:
            raise _Slow  # bool is an int to Python, never a number to Kraken
        price *= price_scale
        qty *= qty_scale
        ticks = round(price)
        lots = round(qty)
        if not (
            0 < ticks < _LIMIT
            and 0 <= lots < _LIMIT
            and -_TOL < price - ticks < _TOL
            and -_TOL < qty - lots < _TOL
        ):
            raise _Slow
        append((ticks, lots))
    return tuple(out)


def _exact_levels(item: dict[str, Any], side: str, precision: Precision) -> tuple[Level, ...]:
    raw = get_list(item, side, f"data[].{side}")
    out: list[Level] = []
    for index, _ in enumerate(raw):
        path = f"data[].{side}[{index}]"
        level = get_object(raw, index, path)
        ticks = get_units(level, "price", precision.price_precision, f"{path}.price")
        lots = get_units(level, "qty", precision.qty_precision, f"{path}.qty")
        if ticks <= 0:
            raise Malformed(f"{path}.price: must be positive, got {ticks} ticks")
        if lots < 0:
            raise Malformed(f"{path}.qty: must not be negative, got {lots} lots")
        out.append((ticks, lots))
    return tuple(out)


def decode_book_item_fast(
    item: Any, is_snapshot: bool, precisions: dict[str, Precision]
) -> BookMessage | None:
    """The fast path alone: the message, or None when the slow path must decide."""
    try:
        symbol = item["symbol"]
        price_scale, qty_scale = precisions[symbol].scales
        raw_bids = item["bids"]
        raw_asks = item["asks"]
        if raw_bids.__class__ is not list or raw_asks.__class__ is not list:
            return None
        # Most updates touch one side: skip the call for the empty one.
        bids = _fast_levels(raw_bids, price_scale, qty_scale) if raw_bids else ()
        asks = _fast_levels(raw_asks, price_scale, qty_scale) if raw_asks else ()
        checksum = item["checksum"]
        timestamp = item.get("timestamp")
        if (
            type(checksum) is int
            and 0 <= checksum < _MAX_CHECKSUM
            and type(symbol) is str
            and (timestamp is None or type(timestamp) is str)
        ):
            # tuple.__new__ skips NamedTuple's Python-level __new__ (a third of the cost).
            return _new_tuple(BookMessage, (symbol, is_snapshot, bids, asks, checksum, timestamp))
    except (_Slow, KeyError, TypeError, AttributeError, OverflowError, ValueError):
        pass
    return None


def decode_book_item(item: Any, is_snapshot: bool, precisions: dict[str, Precision]) -> BookMessage:
    """One element of a ``book`` frame's ``data`` as a :class:`BookMessage`.

    Raises:
        Malformed: a field is missing or wrong, or the symbol's precision is unknown.
        NeedsExactParse: a number needs the frame re-read with the exact parser.
    """
    message = decode_book_item_fast(item, is_snapshot, precisions)
    if message is None:
        message = _decode_book_item_slowly(item, is_snapshot, precisions)
    return message


def _decode_book_item_slowly(
    item: Any, is_snapshot: bool, precisions: dict[str, Precision]
) -> BookMessage:
    if not isinstance(item, dict):
        raise Malformed(f"data[]: expected an object, got {type(item).__name__}")
    symbol = get_str(item, "symbol", "data[].symbol")
    precision = precisions.get(symbol)
    if precision is None:
        raise Malformed(
            f"data[].symbol: no precision known for {symbol!r} (instrument channel not seen)"
        )
    bids = _exact_levels(item, "bids", precision)
    asks = _exact_levels(item, "asks", precision)
    checksum = get_int(item, "checksum", "data[].checksum")
    if not 0 <= checksum < _MAX_CHECKSUM:
        raise Malformed(f"data[].checksum: not an unsigned 32-bit integer: {checksum}")
    timestamp = item.get("timestamp")
    if timestamp is not None and not isinstance(timestamp, str):
        raise Malformed(f"data[].timestamp: expected a string, got {type(timestamp).__name__}")
    return BookMessage(symbol, is_snapshot, bids, asks, checksum, timestamp)
