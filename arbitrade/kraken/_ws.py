"""Kraken's WebSocket v2 client: subscriptions that survive reconnects, and trading requests.

:meth:`KrakenWsClient.run` keeps one connection up until cancelled: it reconnects with
exponential backoff and jitter (at least 5 s after the exchange said ``maintenance``),
resubscribes everything after each reconnect, and treats a silent connection as dead (after
half the heartbeat timeout it pings; after the other half without any frame it reconnects).
Behind a backlog the reader takes every frame the connection already holds (up to
``READY_BATCH``) in one go, so a consumer can take them as one batch too. Frames are decoded
by a :class:`~arbitrade.kraken.Decoder`; responses go to the request that waits for them,
everything else to ``on_message`` or the :attr:`KrakenWsClient.messages` channel. The network
sits behind a :class:`~arbitrade.kraken.Transport`, so tests and backtests substitute
:class:`~arbitrade.kraken.ReplayTransport`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import attrs
import structlog
import trio

from arbitrade.kraken._codec import Decoder, Message, encode_request
from arbitrade.kraken._errors import (
    KrakenConnectionClosed,
    KrakenError,
    KrakenTransportError,
    RequestTimedOut,
    error_from_kraken,
)
from arbitrade.kraken._messages import (
    BookBatch,
    BookMessage,
    Pong,
    RequestRejected,
    Status,
    SubscriptionAck,
)
from arbitrade.kraken._trading_messages import (
    AddOrder,
    AddOrderAck,
    BatchAddAck,
    CancelAfterAck,
    CancelAllAck,
    CancelOrder,
    CancelOrderAck,
)
from arbitrade.kraken._transport import Connection, Transport, TrioWebsocketTransport

__all__ = ["Backoff", "KrakenWsClient", "WsStatistics"]

log = structlog.get_logger("arbitrade.kraken.ws")

MAINTENANCE_RECONNECT_DELAY: Final = 5.0
"""Kraken asks for at least this many seconds between attempts after maintenance."""
READY_BATCH: Final = 256
"""Frames the reader takes from what the connection already holds before it lets other tasks
run (see :meth:`KrakenWsClient.run`)."""


@attrs.frozen
class Backoff:
    """Reconnection delays: ``initial * multiplier**(n-1)`` capped at ``maximum``, jittered."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    """The delay is reduced by a random fraction up to this (0.5: between 50% and 100%)."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before reconnection ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1))
        return base * (1.0 - self.jitter * rng.random())


@attrs.frozen
class WsStatistics:
    """Counters of one :class:`KrakenWsClient`."""

    connects: int
    """Connections opened (the first one included)."""
    disconnects: int
    """Connections lost or closed, whatever the reason."""
    heartbeat_losses: int
    """Connections dropped by the watchdog because nothing arrived in time."""
    frames: int
    """Frames received."""
    decode_errors: int
    """Frames that decoded to DecodeError."""
    pending_requests: int
    """Requests waiting for their responses now."""


@attrs.define
class _Pending:
    method: str
    expected: int
    responses: list[Message] = attrs.Factory(list)
    error: KrakenTransportError | None = None
    done: trio.Event = attrs.Factory(trio.Event)

    def add(self, message: Message) -> None:
        self.responses.append(message)
        if len(self.responses) >= self.expected:
            self.done.set()

    def fail(self, error: KrakenTransportError) -> None:
        self.error = error
        self.done.set()


class _HeartbeatLost(Exception):
    pass


_Key = tuple[str, tuple[tuple[str, Any], ...]]


class KrakenWsClient:
    """One Kraken WebSocket v2 connection, kept alive, with request/response matching.

    For the private endpoint pass ``token_provider`` (an async callable returning a fresh
    token from REST ``GetWebSocketsToken``); it is called on every (re)connect and the token is
    added to private subscriptions and trading requests.
    """

    def __init__(
        self,
        url: str,
        *,
        transport: Transport | None = None,
        decoder: Decoder | None = None,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        on_message: Callable[[Message], None] | None = None,
        message_buffer: int = 10_000,
        heartbeat_timeout: float = 10.0,
        request_timeout: float = 10.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._transport: Transport = transport or TrioWebsocketTransport()
        self.decoder = decoder or Decoder()
        self._token_provider = token_provider
        self._token: str | None = None
        self._on_message = on_message
        send, receive = trio.open_memory_channel[Message](message_buffer)
        self._outbox = send
        self.messages = receive
        """Messages that answer no request (channel data, status...), when no ``on_message``."""
        self._heartbeat_timeout = heartbeat_timeout
        self._request_timeout = request_timeout
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._connection: Connection | None = None
        self._connected = trio.Event()
        self._req_ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._subscriptions: dict[_Key, list[str] | None] = {}
        self._system: str | None = None
        self._connects = 0
        self._disconnects = 0
        self._heartbeat_losses = 0
        self._frames = 0
        self._read_scope = trio.CancelScope()
        self._reconnect_reason: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, and reconnect forever, until cancelled.

        Reports started at once (use :meth:`wait_connected` to wait for the link). Connection
        failures never escape: they are logged and retried with backoff. Requests pending
        when a connection drops fail with :class:`~arbitrade.kraken.KrakenConnectionClosed`.
        """
        task_status.started()
        attempt = 0
        while True:
            try:
                async with self._transport.connect(self._url) as connection:
                    if self._token_provider is not None:
                        self._token = await self._token_provider()
                    attempt = 0
                    self._connects += 1
                    log.info("kraken.ws.connected", url=self._url, connects=self._connects)
                    async with trio.open_nursery() as nursery:
                        self._connection = connection
                        self._connected.set()
                        self._reconnect_reason = None
                        nursery.start_soon(self._resubscribe_all)
                        # Returns rather than raises: errors in a nursery body come out as
                        # exception groups, and a lost connection is routine here.
                        with trio.CancelScope() as self._read_scope:
                            lost = await self._read_until_lost(connection)
                        if self._read_scope.cancelled_caught:
                            reason = self._reconnect_reason or "reconnect requested"
                            lost = KrakenConnectionClosed(self._url, reason)
                        nursery.cancel_scope.cancel()
                    if isinstance(lost, _HeartbeatLost):
                        self._heartbeat_losses += 1
                        log.warning("kraken.ws.heartbeat_lost", url=self._url)
                    else:
                        log.warning("kraken.ws.disconnected", url=self._url, error=str(lost))
            except (KrakenTransportError, KrakenError) as exc:
                log.warning("kraken.ws.disconnected", url=self._url, error=str(exc))
            finally:
                self._drop_connection()
            attempt += 1
            delay = self._backoff.delay(attempt, self._rng)
            if self._system == "maintenance":
                delay = max(delay, MAINTENANCE_RECONNECT_DELAY)
            log.info("kraken.ws.reconnect_wait", url=self._url, attempt=attempt, delay=delay)
            await trio.sleep(delay)

    def reconnect(self, reason: str) -> None:
        """Close the current connection and open a new one after the first backoff delay.

        For a reader that can no longer trust what it was told (an undecodable frame may have
        been an execution): the new connection resubscribes, and its snapshots rebuild the
        reader's view. Safe to call from ``on_message``; without a connection it does nothing.
        """
        if self._connection is None or self._reconnect_reason is not None:
            return
        self._reconnect_reason = reason
        log.warning("kraken.ws.reconnect_requested", url=self._url, reason=reason)
        self._read_scope.cancel()

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._disconnects += 1
        self._connection = None
        self._connected = trio.Event()
        for pending in self._pending.values():
            pending.fail(KrakenConnectionClosed(self._url, "connection lost before the response"))

    async def wait_connected(self) -> None:
        """Return once a connection is up (at once if it already is)."""
        await self._connected.wait()

    @property
    def is_connected(self) -> bool:
        """True while a connection is up."""
        return self._connection is not None

    def statistics(self) -> WsStatistics:
        """A snapshot of the counters."""
        return WsStatistics(
            connects=self._connects,
            disconnects=self._disconnects,
            heartbeat_losses=self._heartbeat_losses,
            frames=self._frames,
            decode_errors=self.decoder.statistics().decode_errors,
            pending_requests=len(self._pending),
        )

    # -- reading ----------------------------------------------------------------------------

    async def _read_until_lost(
        self, connection: Connection
    ) -> _HeartbeatLost | KrakenTransportError:
        try:
            await self._read(connection)
        except (_HeartbeatLost, KrakenTransportError) as exc:
            return exc
        raise AssertionError("unreachable: _read only ends by raising")  # pragma: no cover

    async def _read(self, connection: Connection) -> None:
        half = self._heartbeat_timeout / 2
        take = getattr(connection, "receive_nowait", None)
        decode = self.decoder.decode
        route = self._route
        while True:
            with trio.move_on_after(half) as quiet:
                raw = await connection.receive()
            if quiet.cancelled_caught:
                # Quiet for half the timeout: a ping must get some frame back in the other half.
                await connection.send(encode_request("ping", None, next(self._req_ids)))
                with trio.move_on_after(half) as silent:
                    raw = await connection.receive()
                if silent.cancelled_caught:
                    raise _HeartbeatLost
            self._frames += 1
            await route(decode(raw))
            if take is None:
                continue
            # what the connection already holds, without a trip through the scheduler each
            for _ in range(READY_BATCH):
                try:
                    raw = take()
                except trio.WouldBlock:
                    break
                self._frames += 1
                await route(decode(raw))

    async def _route(self, message: Message) -> None:
        if type(message) not in (BookMessage, BookBatch):
            req_id = getattr(message, "req_id", None)
            pending = self._pending.get(req_id) if req_id is not None else None
            if pending is not None:
                pending.add(message)
                return
            if isinstance(message, Status):
                self._system = message.system
                log.info("kraken.ws.status", system=message.system, url=self._url)
            if isinstance(message, Pong):
                return  # our own watchdog pings
        if self._on_message is not None:
            self._on_message(message)
            return
        try:
            self._outbox.send_nowait(message)  # no checkpoint: a ready batch goes out whole
        except trio.WouldBlock:
            await self._outbox.send(message)

    # -- requests ---------------------------------------------------------------------------

    async def _request(
        self, method: str, params: dict[str, Any] | None, *, expected: int = 1, private: bool
    ) -> list[Message]:
        req_id = next(self._req_ids)
        pending = _Pending(method, expected)
        self._pending[req_id] = pending
        try:
            with trio.fail_after(self._request_timeout):
                while self._connection is None:
                    await self._connected.wait()
                connection = self._connection
                if private:
                    if self._token is None:
                        raise RuntimeError(f"{method} needs a token_provider (private endpoint)")
                    params = {**(params or {}), "token": self._token}
                await connection.send(encode_request(method, params, req_id))
                await pending.done.wait()
        except trio.TooSlowError:
            raise RequestTimedOut(method, req_id, self._request_timeout) from None
        finally:
            del self._pending[req_id]
        if pending.error is not None:
            raise pending.error
        return pending.responses

    @staticmethod
    def _raise_rejection(responses: Sequence[Message], endpoint: str) -> None:
        for response in responses:
            if isinstance(response, RequestRejected):
                raise error_from_kraken(response.error, endpoint)

    async def subscribe(
        self, channel: str, symbols: Sequence[str] | None = None, **params: Any
    ) -> list[SubscriptionAck]:
        """Subscribe and wait for Kraken's acknowledgement (one per symbol).

        What Kraken accepts is remembered and renewed after every reconnect. ``params`` are
        channel options (``depth=10``, ``snapshot=True``).

        Raises:
            KrakenError: Kraken rejected a symbol (after all acknowledgements arrived).
            RequestTimedOut: not every acknowledgement came within the request timeout.
            KrakenConnectionClosed: the connection dropped first (nothing is remembered: call
                again once reconnected).
        """
        responses = await self._send_subscribe(channel, symbols, params)
        # Remember what Kraken accepted, so a reconnect renews it (and only it).
        key = _key(channel, params)
        accepted = [r.symbol for r in responses if isinstance(r, SubscriptionAck) and r.symbol]
        if symbols is None:
            if any(isinstance(r, SubscriptionAck) for r in responses):
                self._subscriptions[key] = None
        elif accepted:
            self._subscriptions[key] = sorted({*(self._subscriptions.get(key) or []), *accepted})
        self._raise_rejection(responses, f"subscribe {channel}")
        return [r for r in responses if isinstance(r, SubscriptionAck)]

    async def _send_subscribe(
        self, channel: str, symbols: Sequence[str] | None, params: dict[str, Any]
    ) -> list[Message]:
        body: dict[str, Any] = {"channel": channel, **params}
        if symbols is not None:
            body["symbol"] = list(symbols)
        private = self._token_provider is not None
        expected = max(1, len(symbols or ()))
        return await self._request("subscribe", body, expected=expected, private=private)

    async def unsubscribe(
        self, channel: str, symbols: Sequence[str] | None = None, **params: Any
    ) -> list[SubscriptionAck]:
        """Unsubscribe (and stop renewing) ``symbols`` of ``channel``; waits for the acks.

        Raises:
            KrakenError, RequestTimedOut, KrakenConnectionClosed: as :meth:`subscribe`.
        """
        key = _key(channel, params)
        if symbols is None:
            self._subscriptions.pop(key, None)
        elif key in self._subscriptions:
            left = [s for s in self._subscriptions[key] or [] if s not in set(symbols)]
            if left:
                self._subscriptions[key] = left
            else:
                del self._subscriptions[key]
        body: dict[str, Any] = {"channel": channel, **params}
        if symbols is not None:
            body["symbol"] = list(symbols)
        private = self._token_provider is not None
        responses = await self._request(
            "unsubscribe", body, expected=max(1, len(symbols or ())), private=private
        )
        self._raise_rejection(responses, f"unsubscribe {channel}")
        return [r for r in responses if isinstance(r, SubscriptionAck)]

    async def resubscribe(self, channel: str, symbols: Sequence[str], **params: Any) -> None:
        """Unsubscribe then subscribe again: a fresh snapshot after a checksum mismatch."""
        await self.unsubscribe(channel, symbols, **params)
        await self.subscribe(channel, symbols, **params)

    async def _resubscribe_all(self) -> None:
        # instrument first: book levels cannot be decoded before their precisions are known.
        ordered = sorted(self._subscriptions.items(), key=lambda item: item[0][0] != "instrument")
        for (channel, frozen), symbols in ordered:
            try:
                await self._send_subscribe(channel, symbols, dict(frozen))
            except (KrakenTransportError, RequestTimedOut) as exc:
                log.warning("kraken.ws.resubscribe_failed", channel=channel, error=str(exc))
                return
            log.info("kraken.ws.resubscribed", channel=channel, symbols=symbols)

    async def ping(self) -> Pong:
        """Ping and wait for the pong."""
        (response,) = await self._request("ping", None, private=False)
        if not isinstance(response, Pong):  # pragma: no cover - routed by req_id
            raise TypeError(f"ping answered by {response!r}")
        return response

    # -- trading (private endpoint) -----------------------------------------------------------

    async def add_order(self, order: AddOrder) -> AddOrderAck:
        """Place one order and wait for Kraken's acknowledgement.

        Never retried: on :class:`~arbitrade.kraken.RequestTimedOut` or a dropped connection
        the outcome is unknown; look the order up by ``cl_ord_id`` before placing it again.

        Raises:
            KrakenError: Kraken refused the order (typed: InsufficientFunds, ...).
        """
        (response,) = await self._request("add_order", order.to_params(), private=True)
        self._raise_rejection([response], "add_order")
        if not isinstance(response, AddOrderAck):  # pragma: no cover - routed by req_id
            raise TypeError(f"add_order answered by {response!r}")
        return response

    async def cancel_order(self, cancel: CancelOrder) -> list[CancelOrderAck | RequestRejected]:
        """Cancel orders; Kraken answers once per order, accepted or rejected (in that list)."""
        count = len(cancel.order_id) + len(cancel.cl_ord_id) + len(cancel.order_userref)
        responses = await self._request(
            "cancel_order", cancel.to_params(), expected=count, private=True
        )
        return [r for r in responses if isinstance(r, CancelOrderAck | RequestRejected)]

    async def batch_add(
        self,
        symbol: str,
        orders: Sequence[AddOrder],
        *,
        deadline: str | None = None,
        validate: bool | None = None,
    ) -> BatchAddAck:
        """Place 2 to 15 orders on one symbol at once.

        Raises:
            ValueError: fewer than 2 or more than 15 orders.
            KrakenError: the whole batch was rejected (validation fails the batch).
        """
        if not 2 <= len(orders) <= 15:
            raise ValueError(f"batch_add takes 2 to 15 orders, got {len(orders)}")
        params: dict[str, Any] = {
            "symbol": symbol,
            "orders": [o.to_params(include_symbol=False) for o in orders],
        }
        if deadline is not None:
            params["deadline"] = deadline
        if validate is not None:
            params["validate"] = validate
        (response,) = await self._request("batch_add", params, private=True)
        self._raise_rejection([response], "batch_add")
        if not isinstance(response, BatchAddAck):  # pragma: no cover - routed by req_id
            raise TypeError(f"batch_add answered by {response!r}")
        return response

    async def cancel_all(self) -> CancelAllAck:
        """Cancel every open order. Raises KrakenError if Kraken refuses."""
        (response,) = await self._request("cancel_all", {}, private=True)
        self._raise_rejection([response], "cancel_all")
        if not isinstance(response, CancelAllAck):  # pragma: no cover - routed by req_id
            raise TypeError(f"cancel_all answered by {response!r}")
        return response

    async def cancel_all_orders_after(self, seconds: int) -> CancelAfterAck:
        """Arm the dead man's switch: cancel everything in ``seconds`` (0 disarms it).

        Raises:
            ValueError: ``seconds`` outside 0..86399.
            KrakenError: Kraken refused.
        """
        if not 0 <= seconds < 86400:
            raise ValueError(f"seconds must be 0..86399, got {seconds}")
        (response,) = await self._request(
            "cancel_all_orders_after", {"timeout": seconds}, private=True
        )
        self._raise_rejection([response], "cancel_all_orders_after")
        if not isinstance(response, CancelAfterAck):  # pragma: no cover - routed by req_id
            raise TypeError(f"cancel_all_orders_after answered by {response!r}")
        return response


def _key(channel: str, params: dict[str, Any]) -> _Key:
    return channel, tuple(sorted(params.items()))
