"""The channel feed: one further public channel (ticker, trade, ohlc) relayed to the bus."""

from __future__ import annotations

from typing import Any, Final

import trio

from arbitrade.kraken import (
    DecodeError,
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
from arbitrade.market._audit import AUDIT_SLOW_ACK
from arbitrade.market._connected import ConnectedFeed
from arbitrade.market._errors import FeedDisconnected
from arbitrade.market._settings import MarketSettings
from arbitrade.market._statistics import FeedStatistics, GetFeedStatistics

__all__ = ["TOPIC_MARKET_CHANNEL", "ChannelFeed"]

TOPIC_MARKET_CHANNEL: Final = "market.channel"
"""Where :class:`ChannelFeed` publishes decoded ticker/trade messages."""

_CHANNEL_DATA: Final = (TickerMessage, TradeMessage, OhlcMessage)
"""What a channel feed relays; heartbeats, status and acknowledgements stay in the feed."""


class ChannelFeed(ConnectedFeed):
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
