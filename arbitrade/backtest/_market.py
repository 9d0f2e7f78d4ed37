"""The market a simulated venue meets: books built from raw frames as they are handed over.

A simulated venue must match orders against the market as it stands at a point of market
time, not against whatever book tops the bot's own feed has pushed through the bus by then
(that depends on how Trio scheduled the hops). :class:`MarketBooks` keeps its own L2 books:
every frame a transport hands to the client is applied here at once (instrument frames give
the precisions, book snapshots and updates change the books, anything else is ignored), so at
any instant the books hold exactly the frames received up to that instant, in the order they
were received. The replay transport feeds it directly; :class:`TappedTransport` feeds it from
any other transport (the paper run on the simulator).

A book whose checksum fails keeps its last good top until a fresh snapshot arrives (the feed
resubscribes); a frame that does not decode changes nothing. The top a venue reads has the same
shape as the feed's (:class:`~arbitrade.messages.BookTop`, ``top_levels`` levels a side, books
kept at the subscribed ``depth``), built lazily when asked for after a change.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio
import trio.testing

from arbitrade.kraken import (
    BookBatch,
    BookMessage,
    Connection,
    Decoder,
    InstrumentMessage,
    Transport,
)
from arbitrade.market.book import OrderBook
from arbitrade.messages import BookTop

__all__ = ["MarketBooks", "TappedTransport"]

Listener = Callable[[str], None]
"""Called with a symbol after a frame changed its book."""


class MarketBooks:
    """Books of every frame handed over so far; see the module docstring.

    Args:
        depth: the subscribed book depth (levels kept a side; Kraken's truncation rule).
        top_levels: levels a side in each :class:`BookTop` (the feed's ``top_levels``).

    Raises:
        ValueError: ``depth`` is not one Kraken offers, or ``top_levels`` is below 1.
    """

    def __init__(self, *, depth: int, top_levels: int) -> None:
        if top_levels < 1:
            raise ValueError(f"top_levels must be >= 1, got {top_levels}")
        OrderBook("?", price_precision=0, qty_precision=0, depth=depth)  # validates depth
        self.depth = depth
        self.top_levels = top_levels
        self._decoder = Decoder()
        self._books: dict[str, OrderBook] = {}
        self._tops: dict[str, BookTop] = {}
        self._changed: dict[str, float] = {}
        self._sequence: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self.frames = 0
        """Frames handed over (all channels)."""
        self.applied = 0
        """Book snapshots and updates applied."""

    def listen(self, listener: Listener) -> None:
        """Call ``listener(symbol)`` after every frame that changed a book (in frame order)."""
        self._listeners.append(listener)

    def on_frame(self, frame: str | bytes) -> None:
        """Apply one frame, as it is handed to the client (receive time: Trio's clock now)."""
        self.frames += 1
        head = frame[:40]
        if isinstance(head, bytes):
            head = head.decode("utf-8", "replace")
        if '"book"' not in head and '"instrument"' not in head:
            return
        message = self._decoder.decode(frame)
        if isinstance(message, BookMessage):
            self._apply(message)
        elif isinstance(message, BookBatch):
            for item in message.messages:
                self._apply(item)
        elif isinstance(message, InstrumentMessage):
            for pair in message.pairs:
                book = self._books.get(pair.symbol)
                precisions = (pair.price_precision, pair.qty_precision)
                if book is None or (book.price_precision, book.qty_precision) != precisions:
                    self._books[pair.symbol] = OrderBook(
                        pair.symbol,
                        price_precision=pair.price_precision,
                        qty_precision=pair.qty_precision,
                        depth=self.depth,
                    )

    def top(self, symbol: str) -> BookTop | None:
        """The book of ``symbol`` as of the last frame handed over; None before its snapshot."""
        changed_at = self._changed.pop(symbol, None)
        if changed_at is not None:
            book = self._books[symbol]
            levels = self.top_levels
            self._tops[symbol] = BookTop(
                symbol,
                tuple(itertools.islice(book.bids(), levels)),
                tuple(itertools.islice(book.asks(), levels)),
                book.price_precision,
                book.qty_precision,
                changed_at,
                self._sequence[symbol],
            )
        return self._tops.get(symbol)

    def symbols(self) -> list[str]:
        """Symbols with a book top, sorted."""
        return sorted(set(self._tops) | set(self._changed))

    def _apply(self, message: BookMessage) -> None:
        symbol = message.symbol
        book = self._books.get(symbol)
        if book is None or book.apply(message) is not None:
            return  # unknown precision, not synced, or a checksum mismatch: keep the last top
        self.applied += 1
        self._sequence[symbol] = 0 if message.is_snapshot else self._sequence.get(symbol, 0) + 1
        self._changed[symbol] = trio.current_time()
        for listener in self._listeners:
            listener(symbol)


class _TappedConnection:
    __slots__ = ("_inner", "_lockstep", "_on_frame")

    def __init__(
        self, inner: Connection, on_frame: Callable[[str | bytes], None], lockstep: bool
    ) -> None:
        self._inner = inner
        self._on_frame = on_frame
        self._lockstep = lockstep

    async def receive(self) -> str | bytes:
        if self._lockstep:
            await trio.testing.wait_all_tasks_blocked()
        frame = await self._inner.receive()
        self._on_frame(frame)
        return frame

    def receive_nowait(self) -> str | bytes:
        """The inner connection's ready frame, tapped (``trio.WouldBlock`` if it has none
        or cannot say, and always in lockstep: each frame waits for the last to settle)."""
        take = getattr(self._inner, "receive_nowait", None)
        if take is None or self._lockstep:
            raise trio.WouldBlock
        frame: str | bytes = take()
        self._on_frame(frame)
        return frame

    async def send(self, frame: str | bytes) -> None:
        await self._inner.send(frame)


class TappedTransport:
    """A :class:`~arbitrade.kraken.Transport` that gives every frame its connections receive
    to ``on_frame`` (e.g. :meth:`MarketBooks.on_frame`) just before the client gets it.

    Errors of the inner transport pass through unchanged; an exception from ``on_frame``
    propagates to the client's ``receive`` (the connection fails).

    ``lockstep`` (virtual clock only) makes each ``receive`` wait until everything the last
    frame caused has settled (``trio.testing.wait_all_tasks_blocked``) before it takes the
    next frame: the bot then handles one frame at a time, as in a replay, even when a burst
    of frames shares one instant.
    """

    def __init__(
        self, inner: Transport, on_frame: Callable[[str | bytes], None], *, lockstep: bool = False
    ) -> None:
        self.inner = inner
        self._on_frame = on_frame
        self._lockstep = lockstep

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Open ``url`` on the inner transport and tap its frames."""
        async with self.inner.connect(url) as connection:
            yield _TappedConnection(connection, self._on_frame, self._lockstep)
