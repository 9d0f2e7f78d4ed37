"""The part every feed actor shares: one supervised WebSocket client and its watchers.

:class:`ConnectedFeed` runs a :class:`~arbitrade.kraken.KrakenWsClient` as a linked task and
watches it: a lost connection crashes the incarnation (the supervisor reconnects), and what the
exchange does wrong while the connection stays up (bad frames, a change of engine state, slow
acknowledgements, a stalled channel, a feed reading behind the exchange's stamps) goes to the
log and, throttled, to the audit log. The book and channel feeds build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import trio

from actors import Actor
from arbitrade.kraken import Backoff as WsBackoff
from arbitrade.kraken import (
    DecodeError,
    Decoder,
    KrakenConnectionClosed,
    KrakenError,
    KrakenTransportError,
    KrakenWsClient,
    RequestTimedOut,
    Status,
    Transport,
)
from arbitrade.kraken._wsproto_transport import WsprotoTransport
from arbitrade.market._audit import (
    AUDIT_BAD_FRAME,
    AUDIT_CAUGHT_UP,
    AUDIT_EXCHANGE_STATUS,
    AUDIT_LAGGING,
    AUDIT_SLOW_ACK,
    AUDIT_STALL_ENDED,
    AUDIT_STALLED,
    AuditThrottle,
    exchange_seconds,
    feed_audit,
)
from arbitrade.market._errors import FeedDisconnected
from arbitrade.market._lag import LagChange, LagMonitor
from arbitrade.market._settings import MarketSettings
from arbitrade.messages import TOPIC_AUDIT, TOPIC_FEED_STATE, FeedStateChanged

__all__ = ["ConnectedFeed"]

WATCH_INTERVAL: Final = 0.05
"""Seconds between looks at the connection's counters (a drop crashes the feed this fast)."""
MESSAGE_BUFFER: Final = 1_000
"""Decoded messages the client may hold for the feed. Small on purpose: a feed that falls
behind should make the exchange side wait (the simulator then merges book changes) rather
than read seconds-old frames, statuses and acknowledgements out of a deep queue."""
_PROBE_INTERVAL: Final = 1.0
"""Seconds between the pings that measure how long Kraken holds a request."""
_PROBE_MAX_OUTSTANDING: Final = 30
"""Pings in flight at most (a connection that answers none is the watchdog's business)."""
_SLOW_ACK: Final = 0.1
"""Seconds Kraken may hold a request (``time_out - time_in``) before it is audited as slow."""
_STALL_AFTER: Final = 1.0
"""Seconds without channel data, the connection up, before a channel counts as stalled."""
_STALL_MIN_SYMBOLS: Final = 50
"""Stalls are judged only with at least this many symbols subscribed: on a handful of quiet
markets a second without an update is normal (Kraken then sends heartbeats)."""


STOP_AUDIT_TIMEOUT: Final = 0.5
"""Seconds a stopping feed waits for room to publish the audit events its throttle held."""


class ConnectedFeed(Actor[Any]):
    """A supervised actor that runs one WebSocket client as a linked task.

    Args:
        url: the public WebSocket v2 URL.
        settings: the market settings.
        transport: the network seam (None: trio-websocket; a replay in tests and backtests).
        connection_timers: run the connection watch and the ack probe (see ``BookFeed``).
        wall_clock: Unix time now, to read the exchange's stamps against (``time.time``; a
            backtest passes the recording's time). None: the lag is not measured (a replay
            of old frames on a clock of its own would read as years behind).
    """

    channel = "?"

    def __init__(
        self,
        url: str,
        settings: MarketSettings,
        *,
        transport: Transport | None = None,
        connection_timers: bool = True,
        wall_clock: Callable[[], float] | None = None,
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
        self.lag: LagMonitor | None = None
        """The lag against the exchange's stamps (None without a wall clock)."""
        if wall_clock is not None:
            self.lag = LagMonitor(
                wall_clock, settings.max_lag, settings.caught_up_lag, trio.current_time
            )

    def make_client(self, on_message: Callable[[Any], None] | None = None) -> KrakenWsClient:
        transport = self.transport
        if transport is None and self.settings.ws_transport == "wsproto":
            transport = WsprotoTransport()
        return KrakenWsClient(
            self.url,
            transport=transport,
            decoder=Decoder(),
            message_buffer=MESSAGE_BUFFER,
            heartbeat_timeout=self.settings.heartbeat_timeout,
            request_timeout=self.settings.request_timeout,
            backoff=WsBackoff(initial=0.2, maximum=5.0),
        )

    async def watch_connection(self, client: KrakenWsClient) -> None:
        """Crash this incarnation when the connection is lost (the supervisor reconnects)."""
        while True:
            await trio.sleep(WATCH_INTERVAL)
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

    async def on_stop(self) -> None:
        """Publish the audit events the throttle still holds (a crash, a dropped connection
        or a stop must not lose them); waits for room at most ``STOP_AUDIT_TIMEOUT``."""
        held = self._throttle.drain()
        if not held:
            return
        now = trio.current_time()
        with trio.move_on_after(STOP_AUDIT_TIMEOUT) as waited:
            for kind, subject, count, detail in held:
                event = feed_audit(kind, self.context.path, subject, now, count=count, **detail)
                await self.context.bus.publish(TOPIC_AUDIT, event)
        if waited.cancelled_caught:
            self.context.log.warning("feed.stop_audit_dropped", held=len(held))

    async def _flush_audits(self) -> None:
        now = trio.current_time()
        for kind, subject, count, detail in self._throttle.due(now):
            event = feed_audit(kind, self.context.path, subject, now, count=count, **detail)
            await self.context.bus.publish(TOPIC_AUDIT, event)

    def note_data(self) -> None:
        """Channel data arrived (a stalled channel flows again: see :meth:`watch_health`)."""
        self._last_data_at = trio.current_time()

    async def check_lag(self) -> None:
        """Judge the lag without a new frame (the pings alone), a few times a second."""
        await self.observe_lag(None)

    async def observe_lag(self, stamp: str | None, *, backlog: bool = True) -> LagChange:
        """Read the exchange stamp of the latest frame (None: none new, the pings alone are
        judged); log and audit a lag that starts
        (``feed.lagging``) or ends (``feed.caught_up``), and say which (the book feed then
        marks its books stale or live). ``backlog``: more frames were ready than were taken
        (see :class:`~arbitrade.market._lag.LagMonitor`). Without a wall clock nothing
        changes."""
        lag = self.lag
        if lag is None:
            return LagChange.NONE
        rebased = lag.rebased
        change = lag.observe(stamp, backlog=backlog)
        if change is LagChange.STARTED:
            self.context.log.warning(
                "feed.lagging", channel=self.channel, lag=lag.lag, max_lag=lag.max_lag
            )
            await self.audit_now(
                AUDIT_LAGGING,
                self.channel,
                lag_seconds=round(lag.lag, 3),
                max_lag_seconds=lag.max_lag,
            )
        elif change is LagChange.ENDED:
            clock_behind = lag.rebased > rebased
            self.context.log.info(
                "feed.caught_up",
                channel=self.channel,
                lag=lag.lag,
                worst=lag.worst,
                lagged_for=lag.last_episode,
                exchange_clock_behind=clock_behind,
            )
            await self.audit_now(
                AUDIT_CAUGHT_UP,
                self.channel,
                lag_seconds=round(lag.lag, 3),
                worst_lag_seconds=round(lag.worst, 3),
                lagged_seconds=round(lag.last_episode, 3),
                exchange_clock_behind=clock_behind,
            )
        return change

    async def audit_now(self, kind: str, subject: str, **detail: Any) -> None:
        """Publish an audit event unthrottled (episodes that start and end: each one counts)."""
        event = feed_audit(kind, self.context.path, subject, trio.current_time(), **detail)
        await self.context.bus.publish(TOPIC_AUDIT, event)

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
                await trio.sleep(WATCH_INTERVAL * 5)
                await self._check_stall()
                if self.lag is not None:
                    await self.check_lag()
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
        lag = self.lag
        token = lag.ping_sent() if lag is not None else 0.0
        try:
            # However late the pong reaches us, Kraken's stamps tell how long Kraken held
            # the ping; the request timeout bounds the wait.
            pong = await client.ping()
        except (KrakenError, KrakenTransportError, RequestTimedOut):
            return  # the watchdog judges the connection; the probe only times Kraken
        finally:
            outstanding[0] -= 1
            if lag is not None:
                lag.ping_answered(token)
        await self.check_ack_time("ping", pong.time_in, pong.time_out)

    async def check_ack_time(self, method: str, time_in: str | None, time_out: str | None) -> None:
        """Audit an answer Kraken held longer than ``_SLOW_ACK`` seconds."""
        held = exchange_seconds(time_in, time_out)
        if held is not None and held > _SLOW_ACK:
            self.context.log.warning(
                "feed.slow_ack", channel=self.channel, method=method, held=held
            )
            await self.audit(AUDIT_SLOW_ACK, method, held_seconds=round(held, 3))
