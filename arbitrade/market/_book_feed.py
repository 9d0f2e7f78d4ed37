"""The book feed: instruments and L2 books from one connection, verified and published.

Each ``book`` frame is decoded, applied and checksum-verified in place (no extra hop on the hot
path). What the connection has ready is taken as one batch (``MarketSettings.conflate``): every
frame is applied and verified, then each changed book's latest top goes out once on the bus as a
:class:`~arbitrade.messages.BookTop`, so a feed catching up on a backlog does not make the graph,
the strategies and the risk gate replay stale intermediate tops. Every instrument snapshot or
update goes out as the whole universe (:class:`~arbitrade.messages.InstrumentsLoaded`).

Lag: the exchange's stamp of the latest frame is read against the wall clock. Past
``max_lag`` the feed is lagging: every book it keeps is announced ``STALE`` (the graph suspends
them), ``feed.lagging`` is audited, and tops are held (still applied and verified) until the
lag is back within ``caught_up_lag``; then ``feed.caught_up`` is audited and every synced book
is announced ``LIVE`` with its current top. See :mod:`arbitrade.market.feeds` for failures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs
import trio

from arbitrade.kraken import (
    BookBatch,
    BookMessage,
    DecodeError,
    InstrumentMessage,
    KrakenConnectionClosed,
    KrakenError,
    KrakenTransportError,
    KrakenWsClient,
    RequestTimedOut,
    Status,
    Transport,
)
from arbitrade.market._audit import AUDIT_CHECKSUM_MISMATCH, AUDIT_SLOW_ACK
from arbitrade.market._connected import ConnectedFeed
from arbitrade.market._errors import FeedDisconnected
from arbitrade.market._lag import LagChange
from arbitrade.market._settings import MarketSettings
from arbitrade.market._statistics import (
    FeedLag,
    FeedStatistics,
    GetFeedLag,
    GetFeedStatistics,
    GetMarketState,
    MarketState,
    instrument_from,
)
from arbitrade.market.book import ChecksumMismatch, OrderBook
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

__all__ = ["BookFeed"]

_STOP_ANNOUNCE_TIMEOUT: Final = 0.5
"""Seconds a stopping book feed waits for room to say its books are resyncing (the child's
shutdown timeout is 2 s)."""
_RESYNC_ATTEMPTS: Final = 3
"""Tries at a fresh snapshot of one book before the feed restarts to resubscribe them all."""
_NO_BOOK: Final = OrderBook("?", price_precision=0, qty_precision=0, depth=10)
"""Stands in for a book not kept (never synced)."""


class BookFeed(ConnectedFeed):
    """Instruments and L2 books from one connection; see the module docstring.

    Args:
        url: the public WebSocket v2 URL.
        settings: symbols, depth, heartbeat timeout, lag thresholds, conflation.
        transport: the network seam (None: trio-websocket; a replay in backtests).
        connection_timers: run the connection watch (every 50 ms) and the ack probe (a ping
            every second). False only for a replay transport: its connection never drops on
            its own and its pongs measure nothing, while the timers' wake-ups cost a replay
            about a tenth of its time. With them off, a dropped connection is not noticed
            (the client's own reconnects continue; the feed is not restarted) and no
            ``slow_ack`` is ever audited.
        wall_clock: Unix time now, for the lag (None: the lag is not measured; see
            :class:`~arbitrade.market._connected.ConnectedFeed`).
    """

    channel = "book"

    def __init__(
        self,
        url: str,
        settings: MarketSettings,
        *,
        transport: Transport | None = None,
        connection_timers: bool = True,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            url,
            settings,
            transport=transport,
            connection_timers=connection_timers,
            wall_clock=wall_clock,
        )
        self.books: dict[str, OrderBook] = {}
        self.instruments: dict[str, Instrument] = {}
        """The universe as of the last snapshot and the updates since."""
        self.symbols: tuple[str, ...] = ()
        self._sequence: dict[str, int] = {}
        self._loaded: InstrumentsLoaded | None = None
        self._live_tops: dict[str, BookTop] = {}
        self._book_messages = 0
        self._tops = 0
        self._mismatches = 0
        self._subscribed = False
        self._changed: dict[str, float] = {}
        """Books changed since their top last went out: symbol -> receive time of the change."""
        self._stamp: str | None = None
        """The exchange stamp of the latest frame of the batch being read."""
        self._batches = 0
        self._largest_batch = 0
        self._conflated = 0

    async def on_start(self) -> None:
        self.client = client = self.make_client()
        self.context.start_soon(self._run, client)

    async def on_stop(self) -> None:
        await super().on_stop()  # the audit events the throttle held
        # Whatever happens next, these books are not current any more. Wait (briefly) for
        # room: publish_nowait would deliver to nobody while one lossless subscriber is full.
        if not self.books:
            return
        now = trio.current_time()
        publish = self.context.bus.publish
        with trio.move_on_after(_STOP_ANNOUNCE_TIMEOUT) as waited:
            for symbol in self.symbols:
                await publish(
                    TOPIC_BOOK_STATE,
                    BookStateChanged(symbol, BookHealth.RESYNCING, "feed stopped", now),
                )
        if waited.cancelled_caught:
            self.context.log.warning("feed.stop_unannounced", books=len(self.symbols))

    async def receive(self, message: Any) -> object:
        if isinstance(message, GetFeedStatistics):
            return self.statistics()
        if isinstance(message, GetFeedLag):
            return self.lag_statistics()
        if isinstance(message, GetMarketState):
            # a lagging feed's books are stale: a catching-up consumer waits for caught up
            tops = () if self._lagging() else tuple(self._live_tops.values())
            return MarketState(self._loaded, tops)
        return None

    def statistics(self) -> FeedStatistics:
        """The counters of this incarnation."""
        client = self.client
        frames = client.statistics().frames if client is not None else 0
        decode_errors = client.statistics().decode_errors if client is not None else 0
        return FeedStatistics(
            frames,
            self._book_messages,
            self._tops,
            self._mismatches,
            decode_errors,
            len(self.books),
        )

    def lag_statistics(self) -> FeedLag:
        """How far behind this incarnation reads, and its batches."""
        batches = FeedLag(
            batches=self._batches, largest_batch=self._largest_batch, conflated=self._conflated
        )
        lag = self.lag
        if lag is None:
            return batches
        return attrs.evolve(
            batches,
            lag=lag.lag,
            lagging=lag.lagging,
            lag_episodes=lag.episodes,
            worst_lag=lag.worst,
            clock_offset=lag.offset or 0.0,
        )

    async def _run(self, client: KrakenWsClient) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(client.run)
            if self.connection_timers:
                nursery.start_soon(self.watch_connection, client)
            nursery.start_soon(self.watch_health, client)
            nursery.start_soon(self.subscribe_instruments, client)
            await self._consume(client, nursery)

    async def _subscribe_books(self, client: KrakenWsClient, symbols: Sequence[str]) -> None:
        """Subscribe every book at once: all batches go out together, acks are awaited after.

        Waiting for each batch's acknowledgements before sending the next made a resubscription
        as slow as the number of batches times the round trip behind the update backlog (15 s
        and more for 356 books on a busy machine). Each book goes live on its own snapshot,
        whatever the acknowledgements are doing.

        Raises:
            FeedDisconnected: a batch failed in transport (one error, naming the first such
                batch). A rejected symbol is logged and the others are kept; acknowledgements
                that time out are logged and audited (``feed.slow_ack``), not fatal, since the
                connection is still up; a connection that dropped returns quietly (the watcher
                crashes the incarnation, naming the cause).
        """
        batch = self.settings.subscribe_batch
        chunks = [list(symbols[start : start + batch]) for start in range(0, len(symbols), batch)]
        # Judged from the first data on, not from the last acknowledgement (late under load).
        self._data_symbols = len(symbols)
        failures: list[str] = []
        closed: list[bool] = []
        async with trio.open_nursery() as nursery:
            for chunk in chunks:
                nursery.start_soon(self._subscribe_chunk, client, chunk, failures, closed)
        if closed:
            return  # the watcher crashes this incarnation, naming the cause
        if failures:
            raise FeedDisconnected(self.channel, f"book subscription failed: {failures[0]}")
        await self.publish_feed_state("subscribed", f"{len(symbols)} books")
        self.context.log.info(
            "feed.subscribed", books=len(symbols), depth=self.settings.depth, batches=len(chunks)
        )

    async def _subscribe_chunk(
        self,
        client: KrakenWsClient,
        chunk: list[str],
        failures: list[str],
        closed: list[bool],
    ) -> None:
        try:
            acks = await client.subscribe("book", chunk, depth=self.settings.depth)
        except KrakenError as error:  # a rejected symbol: keep the others
            self.context.log.warning("feed.subscribe_rejected", symbols=chunk, error=str(error))
        except KrakenConnectionClosed:
            closed.append(True)
        except RequestTimedOut as error:
            # The connection is up (a drop fails the request with KrakenConnectionClosed), so
            # the answers are late, not lost: a restart would only ask for all of it again.
            # Each book goes live on its snapshot whenever it comes; the health says which not.
            missing = [s for s in chunk if not self.books.get(s, _NO_BOOK).is_synced]
            self.context.log.warning(
                "feed.subscribe_slow", channel=self.channel, missing=len(missing), error=str(error)
            )
            await self.audit(AUDIT_SLOW_ACK, "subscribe", symbols=len(chunk), missing=len(missing))
        except KrakenTransportError as error:
            failures.append(str(error))
        else:
            if acks:
                await self.check_ack_time("subscribe", acks[-1].time_in, acks[-1].time_out)

    # -- reading: batches of ready frames --------------------------------------------------

    async def _consume(self, client: KrakenWsClient, nursery: trio.Nursery) -> None:
        """Handle what the client decodes, a batch at a time, until cancelled.

        A batch is the first message plus whatever else is ready at once (at most
        ``max_batch``; one message when ``conflate`` is off); its tops go out at its end.
        """
        messages = client.messages
        take = messages.receive_nowait
        limit = self.settings.max_batch if self.settings.conflate else 1
        handle = self._handle
        async for message in messages:
            await handle(message, client, nursery)
            taken = 1
            while taken < limit:
                try:
                    message = take()
                except trio.WouldBlock:
                    break
                taken += 1
                await handle(message, client, nursery)
            self._batches += 1
            if taken > self._largest_batch:
                self._largest_batch = taken
            await self._end_batch(
                backlog=taken > 1 or messages.statistics().current_buffer_used > 0
            )

    async def _handle(self, message: Any, client: KrakenWsClient, nursery: trio.Nursery) -> None:
        if isinstance(message, BookMessage):
            await self._apply(message, nursery)
        elif isinstance(message, BookBatch):
            for item in message.messages:
                await self._apply(item, nursery)
        elif isinstance(message, InstrumentMessage):
            # books may be replaced: what changed before goes out first
            await self._end_batch()
            await self._on_instruments(message, client, nursery)
        elif isinstance(message, DecodeError):
            await self.on_bad_frame(message)
        elif isinstance(message, Status):
            await self.on_status(message)

    async def _apply(self, message: BookMessage, nursery: trio.Nursery) -> None:
        """Apply one book message and verify its checksum; the top waits for the batch's end."""
        received_at = trio.current_time()
        self._last_data_at = received_at
        self._book_messages += 1
        if message.timestamp is not None:
            self._stamp = message.timestamp
        symbol = message.symbol
        book = self.books.get(symbol)
        if book is None:
            return
        was_synced = book.is_synced
        outcome = book.apply(message)
        if outcome is None:
            sequence = 0 if message.is_snapshot else self._sequence.get(symbol, 0) + 1
            self._sequence[symbol] = sequence
            if symbol in self._changed:
                self._conflated += 1
            self._changed[symbol] = received_at
            if message.is_snapshot and not was_synced and not self._lagging():
                await self.context.bus.publish(
                    TOPIC_BOOK_STATE,
                    BookStateChanged(symbol, BookHealth.LIVE, "snapshot", received_at),
                )
        elif isinstance(outcome, ChecksumMismatch):
            await self._on_mismatch(symbol, outcome, received_at, nursery)

    async def _on_mismatch(
        self, symbol: str, outcome: ChecksumMismatch, received_at: float, nursery: trio.Nursery
    ) -> None:
        self._changed.pop(symbol, None)
        self._live_tops.pop(symbol, None)
        self._mismatches += 1
        self.context.log.warning(
            "feed.checksum_mismatch",
            symbol=symbol,
            expected=outcome.expected,
            computed=outcome.computed,
        )
        await self.audit(
            AUDIT_CHECKSUM_MISMATCH, symbol, expected=outcome.expected, computed=outcome.computed
        )
        await self.context.bus.publish(
            TOPIC_BOOK_STATE,
            BookStateChanged(symbol, BookHealth.RESYNCING, "checksum mismatch", received_at, False),
        )
        nursery.start_soon(self._resync, symbol)

    def _lagging(self) -> bool:
        lag = self.lag
        return lag is not None and lag.lagging

    async def _end_batch(self, *, backlog: bool = True) -> None:
        """Judge the lag on the batch's latest stamp, then publish (or hold) its tops.

        ``backlog``: the batch was more than one message, or more were waiting after it.
        """
        stamp, self._stamp = self._stamp, None
        if stamp is not None and await self._judge_lag(stamp, backlog=backlog):
            return
        if self._lagging() or not self._changed:
            return  # held: every frame applied and verified, the tops go out once caught up
        changed, self._changed = self._changed, {}
        for symbol, received_at in changed.items():
            book = self.books.get(symbol)
            if book is not None and book.is_synced:
                await self._publish_top(symbol, book, received_at)

    async def check_lag(self) -> None:
        """The pings alone, between frames: a pipe that stops answering makes books stale
        even when no frame comes to judge."""
        await self._judge_lag(None)

    async def _judge_lag(self, stamp: str | None, *, backlog: bool = True) -> bool:
        """Observe the lag and announce a change; True when it ended (tops went out)."""
        change = await self.observe_lag(stamp, backlog=backlog)
        if change is LagChange.STARTED:
            await self._announce(BookHealth.STALE, "feed lagging")
        elif change is LagChange.ENDED:
            await self._announce(BookHealth.LIVE, "caught up")
            return True
        return False

    async def _announce(self, health: BookHealth, reason: str) -> None:
        """Say every synced book is ``health`` now; when live again, send each one's top."""
        now = trio.current_time()
        publish = self.context.bus.publish
        synced = [(s, b) for s, b in self.books.items() if b.is_synced]
        for symbol, _ in synced:
            await publish(TOPIC_BOOK_STATE, BookStateChanged(symbol, health, reason, now))
        if health is BookHealth.LIVE:
            changed, self._changed = self._changed, {}
            for symbol, book in synced:
                # a book unchanged while lagging keeps its last change's time (its age)
                last = self._live_tops.get(symbol)
                at = changed.get(symbol, last.received_at if last is not None else now)
                await self._publish_top(symbol, book, at)

    async def _publish_top(self, symbol: str, book: OrderBook, received_at: float) -> None:
        levels = self.settings.top_levels
        top = BookTop(
            symbol,
            tuple(itertools.islice(book.bids(), levels)),
            tuple(itertools.islice(book.asks(), levels)),
            book.price_precision,
            book.qty_precision,
            received_at,
            self._sequence.get(symbol, 0),
        )
        self._tops += 1
        self._live_tops[symbol] = top
        await self.context.bus.publish(TOPIC_BOOK_TOP, top)

    def _choose_symbols(self, instruments: Sequence[Instrument]) -> tuple[str, ...]:
        wanted = self.settings.symbols
        online = sorted(i.symbol for i in instruments if i.online)
        if wanted:
            known = set(online)
            return tuple(symbol for symbol in wanted if symbol in known)
        return tuple(online[: self.settings.max_symbols])

    async def _on_instruments(
        self, message: InstrumentMessage, client: KrakenWsClient, nursery: trio.Nursery
    ) -> None:
        instruments = tuple(instrument_from(pair) for pair in message.pairs)
        if message.type == "snapshot":
            self.instruments.clear()
            self.symbols = self._choose_symbols(instruments)
        # An update names only the pairs that changed; the graph needs the whole universe.
        self.instruments.update((instrument.symbol, instrument) for instrument in instruments)
        depth = self.settings.depth
        for instrument in instruments:
            known = self.books.get(instrument.symbol)
            precisions = (instrument.price_precision, instrument.qty_precision)
            if known is None or (known.price_precision, known.qty_precision) != precisions:
                self.books[instrument.symbol] = OrderBook(
                    instrument.symbol,
                    price_precision=instrument.price_precision,
                    qty_precision=instrument.qty_precision,
                    depth=depth,
                )
        self._loaded = loaded = InstrumentsLoaded(
            tuple(self.instruments.values()), trio.current_time()
        )
        await self.context.bus.publish(TOPIC_INSTRUMENTS, loaded)
        if message.type == "snapshot" and not self._subscribed:
            self._subscribed = True
            nursery.start_soon(self._subscribe_books, client, self.symbols)

    async def _resync(self, symbol: str) -> None:
        """Unsubscribe and subscribe ``symbol`` again until its fresh snapshot is in.

        A resync that failed once used to leave the book resyncing for good. Now a failed or
        timed-out attempt is retried (a late snapshot counts: the book is then synced and
        nothing more is asked); after ``_RESYNC_ATTEMPTS`` the feed restarts, which
        resubscribes every book from scratch.

        Raises:
            FeedDisconnected: the book is still not synced after every attempt.
        """
        client = self.client
        if client is None:
            return
        book = self.books.get(symbol)
        for attempt in range(1, _RESYNC_ATTEMPTS + 1):
            if book is None or book.is_synced:
                return
            try:
                await client.resubscribe("book", [symbol], depth=self.settings.depth)
                return
            except KrakenConnectionClosed:
                return  # the watcher crashes this incarnation, naming the cause
            except (KrakenError, KrakenTransportError, RequestTimedOut) as error:
                self.context.log.warning(
                    "feed.resync_failed", symbol=symbol, attempt=attempt, error=str(error)
                )
            book = self.books.get(symbol)
        if book is not None and not book.is_synced:
            raise FeedDisconnected(self.channel, f"{symbol} did not resync")
