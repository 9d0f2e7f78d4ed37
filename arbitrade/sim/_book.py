"""The simulator's L2 book for one pair, in integer ticks and lots, and its CRC32 checksum.

Each level's quantity has two parts: synthetic liquidity that the market model places and
churns, and the resting orders of API keys (``own``). Published quantity is their sum. The
checksum is the server side's own implementation of Kraken's v2 algorithm: on integer units,
"format at the precision, drop the point, strip leading zeros" is simply the decimal digits of
the integer, so no string formatting of prices is involved.
"""

from __future__ import annotations

import bisect
import enum
import zlib


class Side(enum.IntEnum):
    """Book side; ``BID`` levels are bought at, ``ASK`` levels sold at."""

    BID = 0
    ASK = 1

    @property
    def opposite(self) -> Side:
        return Side.ASK if self is Side.BID else Side.BID


class Book:
    """Levels of one pair. Prices are ticks, quantities lots (integers).

    Invariant kept by the market model and the matching engine: the book is never crossed
    (best bid < best ask) after a step completes.
    """

    __slots__ = ("_own", "_prices", "_synthetic", "version")

    def __init__(self) -> None:
        # Ascending price lists per side; the best bid is the last bid, the best ask the first ask.
        self._prices: tuple[list[int], list[int]] = ([], [])
        self._synthetic: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._own: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.version = 0
        """Bumped on every change, so observers can tell whether the book moved."""

    # -- reading -----------------------------------------------------------------------------
    def quantity(self, side: Side, price: int) -> int:
        """Total published lots at a price (0 when there is no level)."""
        return self._synthetic[side].get(price, 0) + self._own[side].get(price, 0)

    def synthetic_quantity(self, side: Side, price: int) -> int:
        return self._synthetic[side].get(price, 0)

    def own_quantity(self, side: Side, price: int) -> int:
        return self._own[side].get(price, 0)

    def best(self, side: Side) -> int | None:
        """Best price of a side, or None when the side is empty."""
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side is Side.BID else prices[0]

    def level_count(self, side: Side) -> int:
        return len(self._prices[side])

    def prices(self, side: Side, depth: int | None = None) -> list[int]:
        """Prices best first, at most ``depth`` of them."""
        prices = self._prices[side]
        if side is Side.BID:
            chosen = prices if depth is None else prices[-depth:] if depth else []
            return chosen[::-1]
        return prices[:depth] if depth is not None else list(prices)

    def top(self, side: Side, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` levels as (price, lots), best first."""
        synthetic, own = self._synthetic[side], self._own[side]
        return [
            (price, synthetic.get(price, 0) + own.get(price, 0))
            for price in self.prices(side, depth)
        ]

    def worst(self, side: Side) -> int | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[0] if side is Side.BID else prices[-1]

    # -- writing -----------------------------------------------------------------------------
    def _touch(self, side: Side, price: int) -> None:
        present = price in self._synthetic[side] or price in self._own[side]
        prices = self._prices[side]
        index = bisect.bisect_left(prices, price)
        listed = index < len(prices) and prices[index] == price
        if present and not listed:
            prices.insert(index, price)
        elif listed and not present:
            del prices[index]
        self.version += 1

    def set_synthetic(self, side: Side, price: int, lots: int) -> None:
        """Set the synthetic part of a level (0 removes it)."""
        if lots > 0:
            self._synthetic[side][price] = lots
        else:
            self._synthetic[side].pop(price, None)
        self._touch(side, price)

    def add_own(self, side: Side, price: int, lots: int) -> None:
        """Add (or with a negative number remove) resting-order lots at a level."""
        remaining = self._own[side].get(price, 0) + lots
        if remaining > 0:
            self._own[side][price] = remaining
        else:
            self._own[side].pop(price, None)
        self._touch(side, price)

    def clear_level(self, side: Side, price: int) -> tuple[int, int]:
        """Remove a whole level; return its (synthetic, own) lots."""
        synthetic = self._synthetic[side].pop(price, 0)
        own = self._own[side].pop(price, 0)
        self._touch(side, price)
        return synthetic, own


def book_checksum(book: Book) -> int:
    """Kraken's v2 book checksum: CRC32 over the top 10 asks then the top 10 bids.

    For each level: price digits then quantity digits, each formatted at the instrument's
    precision with the decimal point removed and leading zeros stripped; in integer units that
    is ``str(units)``.
    """
    parts = [f"{price}{lots}" for price, lots in book.top(Side.ASK, 10)]
    parts += [f"{price}{lots}" for price, lots in book.top(Side.BID, 10)]
    return zlib.crc32("".join(parts).encode("ascii"))
