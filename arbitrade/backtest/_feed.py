"""A market feed for backtests: WebSocket client -> L2 books -> book tops on the bus.

A stand-in until ``arbitrade.market`` ships its feed actors: it does what they are specified
to do (design.md, "Data flow") with the same parts (:class:`~arbitrade.kraken.KrakenWsClient`,
:class:`~arbitrade.market.OrderBook`) and publishes the same messages, so the rest of the
tree cannot tell. Instruments go out as :class:`~arbitrade.messages.InstrumentsLoaded`; every
book message that changes a synced book goes out as a :class:`~arbitrade.messages.BookTop`
stamped with the Trio time it was handled (the frame's receive time under replay); a checksum
mismatch publishes :class:`~arbitrade.messages.BookStateChanged` (resyncing) and asks for a
fresh snapshot.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

import attrs
import structlog
import trio

from actors import Bus
from arbitrade.kraken import (
    BookBatch,
    BookMessage,
    InstrumentMessage,
    KrakenError,
    KrakenTransportError,
    KrakenWsClient,
    RequestTimedOut,
)
from arbitrade.market import ChecksumMismatch, OrderBook
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_INSTRUMENTS,
    BookHealth,
    BookStateChanged,
    BookTop,
    Instrument,
    InstrumentsLoaded,
)

log = structlog.get_logger(__name__)


@attrs.frozen
class FeedStatistics:
    """Counters of one feed."""

    book_messages: int
    """Book snapshots and updates handled."""
    tops_published: int
    """Book tops published."""
    mismatches: int
    """Checksum mismatches (each starts a resync)."""


class MarketFeed:
    """Keeps one book per symbol from a client's messages and publishes their tops.

    Args:
        bus: where tops, instruments and book states go.
        client: the WebSocket client (its transport decides live, recorded or replayed).
        symbols: books to subscribe to.
        depth: book depth subscribed (10, 25, 100, 500 or 1000).
        top_levels: levels of each side carried by a ``BookTop``.
    """

    def __init__(
        self,
        bus: Bus,
        client: KrakenWsClient,
        symbols: Sequence[str],
        *,
        depth: int = 10,
        top_levels: int = 10,
    ) -> None:
        self.bus = bus
        self.client = client
        self.symbols = tuple(symbols)
        self.depth = depth
        self.top_levels = top_levels
        self._books: dict[str, OrderBook] = {}
        self._sequence: dict[str, int] = {}
        self._book_messages = 0
        self._tops = 0
        self._mismatches = 0

    def statistics(self) -> FeedStatistics:
        """A snapshot of the counters."""
        return FeedStatistics(self._book_messages, self._tops, self._mismatches)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe and publish until cancelled; reports started at once."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.client.run)
            nursery.start_soon(self._subscribe)
            task_status.started()
            await self._consume(nursery)

    async def _subscribe(self) -> None:
        try:
            await self.client.subscribe("instrument", snapshot=True)
            if self.symbols:
                await self.client.subscribe("book", self.symbols, depth=self.depth)
        except (KrakenError, KrakenTransportError, RequestTimedOut) as error:
            log.warning("feed.subscribe_failed", error=str(error))

    async def _consume(self, nursery: trio.Nursery) -> None:
        async for message in self.client.messages:
            kind = type(message)
            if kind is BookMessage:
                await self._on_book(message, nursery)  # type: ignore[arg-type]
            elif kind is BookBatch:
                for item in message.messages:  # type: ignore[union-attr]
                    await self._on_book(item, nursery)
            elif kind is InstrumentMessage:
                await self._on_instruments(message)  # type: ignore[arg-type]

    async def _on_instruments(self, message: InstrumentMessage) -> None:
        instruments = tuple(
            Instrument(
                symbol=pair.symbol,
                base=pair.base,
                quote=pair.quote,
                price_precision=pair.price_precision,
                qty_precision=pair.qty_precision,
                price_increment=pair.price_increment,
                qty_increment=pair.qty_increment,
                qty_min=pair.qty_min,
                cost_min=pair.cost_min if pair.cost_min is not None else Decimal(0),
                status=pair.status,
            )
            for pair in message.pairs
        )
        for instrument in instruments:
            known = self._books.get(instrument.symbol)
            if known is None or (known.price_precision, known.qty_precision) != (
                instrument.price_precision,
                instrument.qty_precision,
            ):
                self._books[instrument.symbol] = OrderBook(
                    instrument.symbol,
                    price_precision=instrument.price_precision,
                    qty_precision=instrument.qty_precision,
                    depth=self.depth,
                )
        await self.bus.publish(
            TOPIC_INSTRUMENTS, InstrumentsLoaded(instruments, trio.current_time())
        )

    def _book_for(self, symbol: str) -> OrderBook | None:
        book = self._books.get(symbol)
        if book is None:
            precision = self.client.decoder.precision(symbol)
            if precision is None:
                return None
            book = OrderBook(
                symbol, price_precision=precision[0], qty_precision=precision[1], depth=self.depth
            )
            self._books[symbol] = book
        return book

    async def _on_book(self, message: BookMessage, nursery: trio.Nursery) -> None:
        self._book_messages += 1
        book = self._book_for(message.symbol)
        if book is None:
            return
        was_synced = book.is_synced
        outcome = book.apply(message)
        now = trio.current_time()
        if outcome is None:
            symbol = message.symbol
            sequence = 0 if message.is_snapshot else self._sequence.get(symbol, 0) + 1
            self._sequence[symbol] = sequence
            levels = self.top_levels
            top = BookTop(
                symbol,
                tuple(itertools.islice(book.bids(), levels)),
                tuple(itertools.islice(book.asks(), levels)),
                book.price_precision,
                book.qty_precision,
                now,
                sequence,
            )
            self._tops += 1
            if message.is_snapshot and not was_synced:
                await self.bus.publish(
                    TOPIC_BOOK_STATE, BookStateChanged(symbol, BookHealth.LIVE, "snapshot", now)
                )
            await self.bus.publish(TOPIC_BOOK_TOP, top)
        elif isinstance(outcome, ChecksumMismatch):
            self._mismatches += 1
            log.warning(
                "feed.checksum_mismatch",
                symbol=message.symbol,
                expected=outcome.expected,
                computed=outcome.computed,
            )
            await self.bus.publish(
                TOPIC_BOOK_STATE,
                BookStateChanged(
                    message.symbol,
                    BookHealth.RESYNCING,
                    "checksum mismatch",
                    now,
                    checksum_ok=False,
                ),
            )
            nursery.start_soon(self._resync, message.symbol)

    async def _resync(self, symbol: str) -> None:
        try:
            await self.client.resubscribe("book", [symbol], depth=self.depth)
        except (KrakenError, KrakenTransportError, RequestTimedOut) as error:
            log.warning("feed.resync_failed", symbol=symbol, error=str(error))
