"""The feed actors: a Kraken WebSocket v2 connection per channel, supervised.

:class:`BookFeed` owns the ``instrument`` and ``book`` channels and the L2 books they keep: each
frame is decoded, applied and checksum-verified in place (no extra hop on the hot path), and a
change goes out on the bus as a :class:`~arbitrade.messages.BookTop` stamped with the frame's
receive time. Every instrument snapshot or update goes out as the whole universe
(:class:`~arbitrade.messages.InstrumentsLoaded`: an update's changed pairs merged into the
last snapshot). :class:`ChannelFeed` relays another public channel (ticker, trade) to the bus.

Failure handling, and why:

- A checksum mismatch marks that book ``resyncing`` (the graph suspends it) and resubscribes
  that symbol for a fresh snapshot; it is logged (``feed.checksum_mismatch``) and counted.
- A dropped connection or a heartbeat loss crashes the feed actor (:class:`FeedDisconnected`):
  the supervisor restarts it with backoff, the restart log says what happened, and the new
  incarnation reconnects and resubscribes, so every book starts again from a snapshot. Before
  it goes, the feed marks its books ``resyncing`` so no decision is taken on them meanwhile.
- A subscription cut short by the connection dropping leaves the crash to the connection
  watcher, so the restart log names the cause (``connection dropped``, ``heartbeat lost``)
  rather than the request that happened to be waiting.
- A garbage or truncated frame decodes to a typed ``DecodeError``: counted and logged
  (``feed.bad_frame``), never a crash.
- What the exchange does wrong without breaking the connection also goes to the audit log
  (``TOPIC_AUDIT``, kinds in :mod:`arbitrade.market._audit`, at most one per kind and subject
  every 5 s with a count): bad frames, checksum mismatches, a change of the exchange's engine
  state, a request Kraken held too long (a ping every second measures it with Kraken's own
  ``time_in``/``time_out``), and a subscribed channel gone quiet while the connection is up.
- Subscriptions go out all at once (every batch of ``subscribe_batch`` symbols without
  waiting for the previous acknowledgements), and each book is live as soon as its snapshot
  is in: after a reconnect the books come back in one round trip, not one per batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import trio

from actors import Actor
from arbitrade.kraken import Backoff as WsBackoff
from arbitrade.kraken import (
    BookBatch,
    BookMessage,
    DecodeError,
    Decoder,
    Heartbeat,
    InstrumentMessage,
    KrakenConnectionClosed,
    KrakenError,
    KrakenTransportError,
    KrakenWsClient,
    OhlcMessage,
    RequestTimedOut,
    Status,
    TickerMessage,
    TradeMessage,
    Transport,
)
from arbitrade.market._audit import (
    AUDIT_BAD_FRAME,
    AUDIT_CHECKSUM_MISMATCH,
    AUDIT_EXCHANGE_STATUS,
    AUDIT_SLOW_ACK,
    AUDIT_STALL_ENDED,
    AUDIT_STALLED,
    AuditThrottle,
    exchange_seconds,
    feed_audit,
)
from arbitrade.market._settings import MarketSettings
from arbitrade.market.book import ChecksumMismatch, OrderBook
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_FEED_STATE,
    TOPIC_INSTRUMENTS,
    BookHealth,
    BookStateChanged,
    BookTop,
    FeedStateChanged,
    Instrument,
    InstrumentsLoaded,
)

TOPIC_MARKET_CHANNEL: Final = "market.channel"
"""Where :class:`ChannelFeed` publishes decoded ticker/trade messages."""

_CHANNEL_DATA: Final = (TickerMessage, TradeMessage, OhlcMessage)
"""What a channel feed relays; heartbeats, status and acknowledgements stay in the feed."""

_WATCH_INTERVAL: Final = 0.05
_STOP_ANNOUNCE_TIMEOUT: Final = 0.5
"""Seconds a stopping book feed waits for room to say its books are resyncing (the child's
shutdown timeout is 2 s)."""
_MESSAGE_BUFFER: Final = 1_000
"""Decoded messages the client may hold for the feed. Small on purpose: a feed that falls
behind should make the exchange side wait (the simulator then merges book changes) rather
than read seconds-old frames, statuses and acknowledgements out of a deep queue."""
_PROBE_INTERVAL: Final = 1.0
"""Seconds between the pings that measure how long Kraken holds a request."""
_RESYNC_ATTEMPTS: Final = 3
"""Tries at a fresh snapshot of one book before the feed restarts to resubscribe them all."""
_PROBE_MAX_OUTSTANDING: Final = 30
"""Pings in flight at most (a connection that answers none is the watchdog's business)."""
_SLOW_ACK: Final = 0.1
"""Seconds Kraken may hold a request (``time_out - time_in``) before it is audited as slow."""
_STALL_AFTER: Final = 1.0
"""Seconds without channel data, the connection up, before a channel counts as stalled."""
_STALL_MIN_SYMBOLS: Final = 50
"""Stalls are judged only with at least this many symbols subscribed: on a handful of quiet
markets a second without an update is normal (Kraken then sends heartbeats)."""


_NO_BOOK: Final = OrderBook("?", price_precision=0, qty_precision=0, depth=10)
"""Stands in for a book not kept (never synced)."""


class FeedDisconnected(ConnectionError):
    """The feed's connection dropped or went silent; the feed restarts to reconnect."""

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel} feed: {reason}")


@attrs.frozen
class GetFeedStatistics:
    """Ask a feed for its counters (replies :class:`FeedStatistics`)."""


@attrs.frozen
class GetMarketState:
    """Ask the book feed what a late (re)started consumer missed (replies :class:`MarketState`)."""


@attrs.frozen
class MarketState:
    """The universe and the live books, as the book feed last published them.

    The feed publishes instruments only on (re)connect or an instrument update, so a consumer
    that restarts in between (the pair graph after a crash) asks for this to catch up.
    """

    instruments: InstrumentsLoaded | None
    """The universe last published (None before the first instrument snapshot)."""
    tops: tuple[BookTop, ...]
    """The latest top of every book that is live now (resyncing books are left out)."""


@attrs.frozen
class FeedStatistics:
    """Counters of one feed incarnation (a channel feed has no books: those counters are 0)."""

    frames: int
    """Frames received on the connection."""
    book_messages: int
    """Book snapshots and updates applied."""
    tops_published: int
    """Book tops published on the bus."""
    mismatches: int
    """Checksum mismatches (each starts a resync of that book)."""
    decode_errors: int
    """Frames that were garbage, truncated or malformed."""
    books: int
    """Books kept."""
    relayed: int = 0
    """Channel messages relayed on ``TOPIC_MARKET_CHANNEL`` (channel feeds)."""


def instrument_from(pair: Any) -> Instrument:
    """The shared :class:`~arbitrade.messages.Instrument` of a decoded instrument pair."""
    return Instrument(
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


class _ConnectedFeed(Actor[Any]):
    """A supervised actor that runs one WebSocket client as a linked task."""

    channel = "?"

    def __init__(
        self,
        url: str,
        settings: MarketSettings,
        *,
        transport: Transport | None = None,
        connection_timers: bool = True,
    ) -> None:
        self.url = url
        self.settings = settings
        self.transport = transport
        self.connection_timers = connection_timers
        self.client: KrakenWsClient | None = None
        self._throttle = AuditThrottle()
        self._data_symbols = 0
        """Symbols whose channel data is subscribed (stalls are judged once there are enough)."""
        self._last_data_at: float | None = None
        self._stalled_since: float | None = None
        self._system: str | None = None

    def make_client(self, on_message: Callable[[Any], None] | None = None) -> KrakenWsClient:
        return KrakenWsClient(
            self.url,
            transport=self.transport,
            decoder=Decoder(),
            message_buffer=_MESSAGE_BUFFER,
            heartbeat_timeout=self.settings.heartbeat_timeout,
            request_timeout=self.settings.request_timeout,
            backoff=WsBackoff(initial=0.2, maximum=5.0),
        )

    async def watch_connection(self, client: KrakenWsClient) -> None:
        """Crash this incarnation when the connection is lost (the supervisor reconnects)."""
        while True:
            await trio.sleep(_WATCH_INTERVAL)
            stats = client.statistics()
            if stats.disconnects:
                reason = "heartbeat lost" if stats.heartbeat_losses else "connection dropped"
                await self.publish_feed_state("disconnected", reason)
                raise FeedDisconnected(self.channel, reason)

    async def publish_feed_state(self, state: str, reason: str) -> None:
        await self.context.bus.publish(
            TOPIC_FEED_STATE, FeedStateChanged(self.channel, state, reason, trio.current_time())
        )

    async def subscribe_instruments(self, client: KrakenWsClient) -> None:
        """Ask for the instrument snapshot once connected (both feeds pick symbols from it).

        Raises:
            FeedDisconnected: Kraken refused, or no answer came in time. A dropped connection
                returns quietly: the watcher crashes the incarnation with the reason.
        """
        await client.wait_connected()
        await self.publish_feed_state("connected", "")
        try:
            await client.subscribe("instrument", snapshot=True)
        except KrakenConnectionClosed:
            return
        except (KrakenError, KrakenTransportError, RequestTimedOut) as error:
            reason = f"instrument subscription failed: {error}"
            raise FeedDisconnected(self.channel, reason) from None

    async def on_bad_frame(self, error: DecodeError) -> None:
        """Log a frame that did not decode and audit it (throttled)."""
        self.context.log.warning(
            "feed.bad_frame", channel=self.channel, reason=error.reason, excerpt=error.excerpt
        )
        await self.audit(
            AUDIT_BAD_FRAME, self.channel, reason=error.reason[:200], excerpt=error.excerpt[:80]
        )

    async def on_status(self, status: Status) -> None:
        """Log the exchange's engine state; audit it when it changes (or starts not online)."""
        self.context.log.info("feed.exchange_status", system=status.system)
        before = self._system
        self._system = status.system
        if status.system != (before or "online"):
            await self.audit(AUDIT_EXCHANGE_STATUS, status.system, previous=before or "")

    async def audit(self, kind: str, subject: str, **detail: Any) -> None:
        """Publish an audit event of ``kind`` about ``subject``, at most one per kind and
        subject every few seconds (the event carries ``count``: occurrences it stands for)."""
        now = trio.current_time()
        count = self._throttle.admit(kind, subject, now, detail)
        if count:
            event = feed_audit(kind, self.context.path, subject, now, count=count, **detail)
            await self.context.bus.publish(TOPIC_AUDIT, event)

    async def _flush_audits(self) -> None:
        now = trio.current_time()
        for kind, subject, count, detail in self._throttle.due(now):
            event = feed_audit(kind, self.context.path, subject, now, count=count, **detail)
            await self.context.bus.publish(TOPIC_AUDIT, event)

    def note_data(self) -> None:
        """Channel data arrived (a stalled channel flows again: see :meth:`watch_health`)."""
        self._last_data_at = trio.current_time()

    async def watch_health(self, client: KrakenWsClient) -> None:
        """Audit what the exchange does wrong while the connection stays up: a channel gone
        quiet (and its end), and requests Kraken holds too long (a ping every second).

        Never raises for the exchange's faults: a ping that gets no answer is left to the
        connection's own watchdog (which drops the connection and crashes the feed).
        """
        async with trio.open_nursery() as nursery:
            if self.connection_timers:
                nursery.start_soon(self._probe_acks, client)
            while True:
                await trio.sleep(_WATCH_INTERVAL * 5)
                await self._check_stall()
                await self._flush_audits()

    async def _check_stall(self) -> None:
        now = trio.current_time()
        last = self._last_data_at
        if self._stalled_since is not None:
            if last is not None and last > self._stalled_since:
                quiet = last - self._stalled_since + _STALL_AFTER
                self._stalled_since = None
                self.context.log.warning("feed.stall_ended", channel=self.channel, quiet=quiet)
                await self.audit(AUDIT_STALL_ENDED, self.channel, quiet_seconds=round(quiet, 3))
            return
        if self._data_symbols < _STALL_MIN_SYMBOLS or last is None:
            return
        if now - last > _STALL_AFTER:
            self._stalled_since = last
            self.context.log.warning("feed.stalled", channel=self.channel, quiet=now - last)
            await self.audit(
                AUDIT_STALLED,
                self.channel,
                quiet_seconds=round(now - last, 3),
                symbols=self._data_symbols,
            )

    async def _probe_acks(self, client: KrakenWsClient) -> None:
        # A ping every interval, not one at a time: behind a backlog a pong may take longer
        # than a fault lasts, and a serial probe would send nothing while the fault is on.
        outstanding = [0]
        async with trio.open_nursery() as nursery:
            while True:
                await trio.sleep(_PROBE_INTERVAL)
                if client.is_connected and outstanding[0] < _PROBE_MAX_OUTSTANDING:
                    nursery.start_soon(self._probe_once, client, outstanding)

    async def _probe_once(self, client: KrakenWsClient, outstanding: list[int]) -> None:
        outstanding[0] += 1
        try:
            # However late the pong reaches us, Kraken's stamps tell how long Kraken held
            # the ping; the request timeout bounds the wait.
            pong = await client.ping()
        except (KrakenError, KrakenTransportError, RequestTimedOut):
            return  # the watchdog judges the connection; the probe only times Kraken
        finally:
            outstanding[0] -= 1
        await self.check_ack_time("ping", pong.time_in, pong.time_out)

    async def check_ack_time(self, method: str, time_in: str | None, time_out: str | None) -> None:
        """Audit an answer Kraken held longer than ``_SLOW_ACK`` seconds."""
        held = exchange_seconds(time_in, time_out)
        if held is not None and held > _SLOW_ACK:
            self.context.log.warning(
                "feed.slow_ack", channel=self.channel, method=method, held=held
            )
            await self.audit(AUDIT_SLOW_ACK, method, held_seconds=round(held, 3))


class BookFeed(_ConnectedFeed):
    """Instruments and L2 books from one connection; see the module docstring.

    Args:
        url: the public WebSocket v2 URL.
        settings: symbols, depth, heartbeat timeout.
        transport: the network seam (None: trio-websocket; a replay in backtests).
        connection_timers: run the connection watch (every 50 ms) and the ack probe (a ping
            every second). False only for a replay transport: its connection never drops on
            its own and its pongs measure nothing, while the timers' wake-ups cost a replay
            about a tenth of its time. With them off, a dropped connection is not noticed
            (the client's own reconnects continue; the feed is not restarted) and no
            ``slow_ack`` is ever audited.
    """

    channel = "book"

    def __init__(
        self,
        url: str,
        settings: MarketSettings,
        *,
        transport: Transport | None = None,
        connection_timers: bool = True,
    ) -> None:
        super().__init__(url, settings, transport=transport, connection_timers=connection_timers)
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

    async def on_start(self) -> None:
        self.client = client = self.make_client()
        self.context.start_soon(self._run, client)

    async def on_stop(self) -> None:
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
        if isinstance(message, GetMarketState):
            return MarketState(self._loaded, tuple(self._live_tops.values()))
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

    async def _consume(self, client: KrakenWsClient, nursery: trio.Nursery) -> None:
        on_book = self._on_book
        async for message in client.messages:
            if isinstance(message, BookMessage):
                await on_book(message, nursery)
            elif isinstance(message, BookBatch):
                for item in message.messages:
                    await on_book(item, nursery)
            elif isinstance(message, InstrumentMessage):
                await self._on_instruments(message, client, nursery)
            elif isinstance(message, DecodeError):
                await self.on_bad_frame(message)
            elif isinstance(message, Status):
                await self.on_status(message)

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

    async def _on_book(self, message: BookMessage, nursery: trio.Nursery) -> None:
        received_at = trio.current_time()
        self._last_data_at = received_at
        self._book_messages += 1
        book = self.books.get(message.symbol)
        if book is None:
            return
        was_synced = book.is_synced
        outcome = book.apply(message)
        symbol = message.symbol
        if outcome is None:
            sequence = 0 if message.is_snapshot else self._sequence.get(symbol, 0) + 1
            self._sequence[symbol] = sequence
            levels = self.settings.top_levels
            top = BookTop(
                symbol,
                tuple(itertools.islice(book.bids(), levels)),
                tuple(itertools.islice(book.asks(), levels)),
                book.price_precision,
                book.qty_precision,
                received_at,
                sequence,
            )
            self._tops += 1
            self._live_tops[symbol] = top
            if message.is_snapshot and not was_synced:
                await self.context.bus.publish(
                    TOPIC_BOOK_STATE,
                    BookStateChanged(symbol, BookHealth.LIVE, "snapshot", received_at),
                )
            await self.context.bus.publish(TOPIC_BOOK_TOP, top)
        elif isinstance(outcome, ChecksumMismatch):
            self._live_tops.pop(symbol, None)
            self._mismatches += 1
            self.context.log.warning(
                "feed.checksum_mismatch",
                symbol=symbol,
                expected=outcome.expected,
                computed=outcome.computed,
            )
            await self.audit(
                AUDIT_CHECKSUM_MISMATCH,
                symbol,
                expected=outcome.expected,
                computed=outcome.computed,
            )
            await self.context.bus.publish(
                TOPIC_BOOK_STATE,
                BookStateChanged(
                    symbol, BookHealth.RESYNCING, "checksum mismatch", received_at, False
                ),
            )
            nursery.start_soon(self._resync, symbol)

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


class ChannelFeed(_ConnectedFeed):
    """Relays one public channel (``ticker``, ``trade``, ``ohlc``) to ``TOPIC_MARKET_CHANNEL``.

    It subscribes the symbols of ``settings`` (or the first online ones) once the instrument
    snapshot is in, and publishes only that channel's data messages. Failures are handled as
    the book feed handles them (see the module docstring).

    Args:
        url: the public WebSocket v2 URL.
        settings: the market settings (symbols, heartbeat timeout).
        channel: the channel name.
    """

    def __init__(
        self,
        url: str,
        settings: MarketSettings,
        channel: str,
        *,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(url, settings, transport=transport)
        self.channel = channel
        self._relayed = 0

    async def on_start(self) -> None:
        self.client = client = self.make_client()
        self.context.start_soon(self._run, client)

    async def receive(self, message: Any) -> object:
        if isinstance(message, GetFeedStatistics):
            return self.statistics()
        return None

    def statistics(self) -> FeedStatistics:
        """The counters of this incarnation."""
        stats = self.client.statistics() if self.client is not None else None
        frames = stats.frames if stats is not None else 0
        decode_errors = stats.decode_errors if stats is not None else 0
        return FeedStatistics(frames, 0, 0, 0, decode_errors, 0, self._relayed)

    async def _run(self, client: KrakenWsClient) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(client.run)
            nursery.start_soon(self.watch_connection, client)
            nursery.start_soon(self.watch_health, client)
            nursery.start_soon(self.subscribe_instruments, client)
            subscribed = False
            publish = self.context.bus.publish
            async for message in client.messages:
                if isinstance(message, _CHANNEL_DATA):
                    self.note_data()
                    self._relayed += 1
                    await publish(TOPIC_MARKET_CHANNEL, message)
                elif isinstance(message, InstrumentMessage):
                    if not subscribed and message.type == "snapshot":
                        subscribed = True
                        online = sorted(p.symbol for p in message.pairs if p.status == "online")
                        wanted = self.settings.symbols or online[: self.settings.max_symbols]
                        nursery.start_soon(self._subscribe, client, list(wanted))
                elif isinstance(message, DecodeError):
                    await self.on_bad_frame(message)
                elif isinstance(message, Status):
                    await self.on_status(message)
                elif not isinstance(message, Heartbeat):
                    self.context.log.debug("feed.unexpected", message=type(message).__name__)

    async def _subscribe(self, client: KrakenWsClient, symbols: list[str]) -> None:
        """Subscribe every batch at once (see :meth:`BookFeed._subscribe_books`).

        ``trade`` is asked without its snapshot (the last 50 trades of every symbol): nothing
        here uses past trades, and after a reconnect they would queue ahead of live data. A
        timed-out acknowledgement is logged and audited; a transport failure crashes the feed.
        """
        batch = self.settings.subscribe_batch
        params: dict[str, Any] = {"snapshot": False} if self.channel == "trade" else {}
        failures: list[str] = []
        self._data_symbols = len(symbols)  # stalls are judged from the first data on

        async def one(chunk: list[str]) -> None:
            try:
                await client.subscribe(self.channel, chunk, **params)
            except KrakenError as error:
                self.context.log.warning(
                    "feed.subscribe_rejected", channel=self.channel, error=str(error)
                )
            except KrakenConnectionClosed:
                failures.append("")  # the watcher crashes this incarnation, naming the cause
            except RequestTimedOut as error:
                self.context.log.warning(
                    "feed.subscribe_slow", channel=self.channel, error=str(error)
                )
                await self.audit(AUDIT_SLOW_ACK, "subscribe", symbols=len(chunk))
            except KrakenTransportError as error:
                failures.append(str(error))

        async with trio.open_nursery() as nursery:
            for start in range(0, len(symbols), batch):
                nursery.start_soon(one, symbols[start : start + batch])
        if "" in failures:
            return
        if failures:
            raise FeedDisconnected(self.channel, f"subscription failed: {failures[0]}")
        await self.publish_feed_state("subscribed", f"{len(symbols)} symbols")
