"""The L2 order book of one instrument, in exact integer ticks and lots, with Kraken's checksum.

Prices are held as integer *ticks* (price x 10**price_precision) and quantities as integer
*lots* (qty x 10**qty_precision), so nothing here ever touches a float. The book applies
snapshots and updates the way Kraken's WebSocket v2 ``book`` channel defines them and checks
Kraken's CRC32 after every message. This is the hottest code in the bot: see
``benchmarks/bench_book.py`` before changing a data structure.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Final, NamedTuple, Protocol, cast

import attrs

__all__ = [
    "CHECKSUM_LEVELS",
    "VALID_DEPTHS",
    "BookData",
    "BookNotSynced",
    "ChecksumMismatch",
    "Level",
    "OrderBook",
]

CHECKSUM_LEVELS: Final = 10
"""Kraken's checksum covers the best ten levels of each side."""

VALID_DEPTHS: Final = frozenset({10, 25, 100, 500, 1000})
"""The depths Kraken's ``book`` channel accepts."""

Level = tuple[int, int]
"""One price level as ``(price_ticks, qty_lots)``: both exact integers at the book's precisions."""


class BookData(Protocol):
    """What :meth:`OrderBook.apply` reads from a decoded message (``kraken.BookMessage``)."""

    @property
    def is_snapshot(self) -> bool: ...
    @property
    def bids(self) -> Sequence[Level]: ...
    @property
    def asks(self) -> Sequence[Level]: ...
    @property
    def checksum(self) -> int | None: ...


class _Levels(NamedTuple):
    is_snapshot: bool
    bids: Sequence[Level]
    asks: Sequence[Level]
    checksum: int | None


@attrs.frozen
class ChecksumMismatch:
    """After applying a message the book's CRC32 differs from the one Kraken sent.

    The book can no longer be trusted: it refuses further updates (answering
    :class:`BookNotSynced`) until the caller resubscribes and applies a fresh snapshot.
    """

    symbol: str
    expected: int
    """The checksum Kraken sent (unsigned 32-bit)."""
    computed: int
    """The checksum of our book after applying the message."""


@attrs.frozen
class BookNotSynced:
    """An update arrived for a book that has no valid snapshot; it was not applied.

    This happens before the first snapshot and after a :class:`ChecksumMismatch`. The caller
    should already be resubscribing; the update is dropped because applying it to a wrong book
    could only produce another wrong book.
    """

    symbol: str


class OrderBook:
    """One instrument's bids and asks at the subscribed depth.

    Each side is three parallel lists kept in best-first order: integer keys (ask ticks
    ascending, bid ticks negated so they ascend too), lots, and each level's piece of the
    checksum string (``b"%d%d" % (ticks, lots)``, which is exactly Kraken's "format at
    precision, drop the point, strip leading zeros"). ``bisect`` finds a level; truncation is
    one ``del`` per list; the checksum joins the first ten cached pieces of each side and runs
    CRC32 over the asks only when they changed.

    A book is *synced* after a snapshot and until a checksum mismatch. Updates to an unsynced
    book are dropped and answered with :class:`BookNotSynced`.

    Not thread-safe; one owner (a feed or book actor) mutates it.
    """

    __slots__ = (
        "_ask_crc",
        "_ask_keys",
        "_ask_lots",
        "_ask_pieces",
        "_bid_bytes",
        "_bid_keys",
        "_bid_lots",
        "_bid_pieces",
        "_price_scale",
        "_qty_scale",
        "_synced",
        "depth",
        "messages_applied",
        "price_precision",
        "qty_precision",
        "symbol",
    )

    def __init__(
        self, symbol: str, *, price_precision: int, qty_precision: int, depth: int = 10
    ) -> None:
        """Make an empty, unsynced book.

        Raises:
            ValueError: a precision is negative or ``depth`` is not one Kraken offers
                (10, 25, 100, 500, 1000).
        """
        if price_precision < 0 or qty_precision < 0:
            raise ValueError(
                f"precisions must be >= 0, got price {price_precision}, qty {qty_precision}"
            )
        if depth not in VALID_DEPTHS:
            raise ValueError(f"depth must be one of {sorted(VALID_DEPTHS)}, got {depth}")
        self.symbol: Final = symbol
        self.price_precision: Final = price_precision
        self.qty_precision: Final = qty_precision
        self.depth: Final = depth
        self.messages_applied = 0
        """Snapshots and updates applied since the book was made (a cheap change counter)."""
        self._price_scale = Decimal(1).scaleb(-price_precision)
        self._qty_scale = Decimal(1).scaleb(-qty_precision)
        self._ask_keys: list[int] = []
        self._ask_lots: list[int] = []
        self._ask_pieces: list[bytes] = []
        self._bid_keys: list[int] = []
        self._bid_lots: list[int] = []
        self._bid_pieces: list[bytes] = []
        self._ask_crc = 0
        self._bid_bytes = b""
        self._synced = False

    # -- applying messages -------------------------------------------------------------------

    def apply(self, message: BookData) -> ChecksumMismatch | BookNotSynced | None:
        """Apply a decoded snapshot or update and verify its checksum (when it has one).

        The same as :meth:`apply_snapshot` or :meth:`apply_update` (read those for what is
        returned), in one call: this is the hot path.
        """
        if message.is_snapshot:
            self._clear()
        elif not self._synced:
            return BookNotSynced(self.symbol)
        self.messages_applied += 1
        asks = message.asks
        if asks:
            keys = self._ask_keys
            lots = self._ask_lots
            pieces = self._ask_pieces
            for ticks, qty in asks:
                index = bisect_left(keys, ticks)
                if index < len(keys) and keys[index] == ticks:
                    if qty:
                        lots[index] = qty
                        pieces[index] = b"%d%d" % (ticks, qty)
                    else:
                        del keys[index], lots[index], pieces[index]
                elif qty:
                    keys.insert(index, ticks)
                    lots.insert(index, qty)
                    pieces.insert(index, b"%d%d" % (ticks, qty))
            if len(keys) > self.depth:
                depth = self.depth
                del keys[depth:], lots[depth:], pieces[depth:]
            self._ask_crc = zlib.crc32(
                b"".join(pieces if len(pieces) <= CHECKSUM_LEVELS else pieces[:CHECKSUM_LEVELS])
            )
        bids = message.bids
        if bids:
            keys = self._bid_keys
            lots = self._bid_lots
            pieces = self._bid_pieces
            for ticks, qty in bids:
                key = -ticks
                index = bisect_left(keys, key)
                if index < len(keys) and keys[index] == key:
                    if qty:
                        lots[index] = qty
                        pieces[index] = b"%d%d" % (ticks, qty)
                    else:
                        del keys[index], lots[index], pieces[index]
                elif qty:
                    keys.insert(index, key)
                    lots.insert(index, qty)
                    pieces.insert(index, b"%d%d" % (ticks, qty))
            if len(keys) > self.depth:
                depth = self.depth
                del keys[depth:], lots[depth:], pieces[depth:]
            self._bid_bytes = b"".join(
                pieces if len(pieces) <= CHECKSUM_LEVELS else pieces[:CHECKSUM_LEVELS]
            )
        checksum = message.checksum
        if checksum is None:
            return None
        computed = zlib.crc32(self._bid_bytes, self._ask_crc)
        if computed == checksum:
            return None
        self._synced = False
        return ChecksumMismatch(self.symbol, checksum, computed)

    def _clear(self) -> None:
        for side in (
            self._ask_keys,
            self._ask_lots,
            self._ask_pieces,
            self._bid_keys,
            self._bid_lots,
            self._bid_pieces,
        ):
            side.clear()
        self._ask_crc = 0  # zlib.crc32(b"")
        self._bid_bytes = b""
        self._synced = True

    def apply_snapshot(
        self, bids: Sequence[Level], asks: Sequence[Level], checksum: int | None = None
    ) -> ChecksumMismatch | None:
        """Replace both sides with a snapshot and verify ``checksum`` when one is given.

        Returns ``None`` when the book is consistent, else a :class:`ChecksumMismatch` (and the
        book stays unsynced). Levels with zero lots are ignored; levels beyond the depth are
        dropped.
        """
        return cast(ChecksumMismatch | None, self.apply(_Levels(True, bids, asks, checksum)))

    def apply_update(
        self, bids: Sequence[Level], asks: Sequence[Level], checksum: int | None = None
    ) -> ChecksumMismatch | BookNotSynced | None:
        """Apply one update message and verify ``checksum`` when one is given.

        Every level is applied in order (zero lots deletes the price, which may not exist;
        anything else sets it), then each side is truncated to the depth, then the checksum is
        compared. Returns ``None`` on success, :class:`ChecksumMismatch` when the result
        disagrees with Kraken (the book becomes unsynced), or :class:`BookNotSynced` without
        touching the book when it has no valid snapshot.
        """
        return self.apply(_Levels(False, bids, asks, checksum))

    def invalidate(self) -> None:
        """Mark the book unsynced (a resubscription is under way); its levels are kept."""
        self._synced = False

    # -- reading -----------------------------------------------------------------------------

    @property
    def is_synced(self) -> bool:
        """True after a snapshot and until a checksum mismatch or :meth:`invalidate`."""
        return self._synced

    def checksum(self) -> int:
        """Kraken's CRC32 of the current book (top ten asks, then top ten bids)."""
        asks = b"".join(self._ask_pieces[:CHECKSUM_LEVELS])
        bids = b"".join(self._bid_pieces[:CHECKSUM_LEVELS])
        return zlib.crc32(bids, zlib.crc32(asks))

    def best_bid(self) -> Level | None:
        """The highest bid as ``(price_ticks, qty_lots)``, or ``None`` when there are no bids."""
        if not self._bid_keys:
            return None
        return -self._bid_keys[0], self._bid_lots[0]

    def best_ask(self) -> Level | None:
        """The lowest ask as ``(price_ticks, qty_lots)``, or ``None`` when there are no asks."""
        if not self._ask_keys:
            return None
        return self._ask_keys[0], self._ask_lots[0]

    def bids(self) -> Iterator[Level]:
        """Bid levels best (highest) first. Do not mutate the book while iterating."""
        for key, lots in zip(self._bid_keys, self._bid_lots, strict=True):
            yield -key, lots

    def asks(self) -> Iterator[Level]:
        """Ask levels best (lowest) first. Do not mutate the book while iterating."""
        yield from zip(self._ask_keys, self._ask_lots, strict=True)

    def bid_count(self) -> int:
        """How many bid levels the book holds (at most the depth)."""
        return len(self._bid_keys)

    def ask_count(self) -> int:
        """How many ask levels the book holds (at most the depth)."""
        return len(self._ask_keys)

    def price_to_decimal(self, ticks: int) -> Decimal:
        """An exact Decimal price from ticks at this book's price precision."""
        return ticks * self._price_scale

    def qty_to_decimal(self, lots: int) -> Decimal:
        """An exact Decimal quantity from lots at this book's qty precision."""
        return lots * self._qty_scale

    def levels_as_decimal(
        self, side: str, count: int | None = None
    ) -> list[tuple[Decimal, Decimal]]:
        """Up to ``count`` levels of ``side`` ("bids" or "asks"), best first, as Decimals.

        Raises:
            ValueError: ``side`` is neither "bids" nor "asks".
        """
        if side == "bids":
            source = self.bids()
        elif side == "asks":
            source = self.asks()
        else:
            raise ValueError(f"side must be 'bids' or 'asks', got {side!r}")
        out: list[tuple[Decimal, Decimal]] = []
        for ticks, lots in source:
            if count is not None and len(out) >= count:
                break
            out.append((ticks * self._price_scale, lots * self._qty_scale))
        return out

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, bids={len(self._bid_keys)}, asks={len(self._ask_keys)},"
            f" synced={self._synced})"
        )
