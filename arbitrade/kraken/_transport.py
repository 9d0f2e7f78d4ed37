"""The seam between the WebSocket client and the network: frames in, frames out.

A :class:`Transport` has one method, :meth:`~Transport.connect`, giving a
:class:`Connection` (receive a raw text frame, send one, close). A connection may also offer
``receive_nowait`` (:class:`ReadyConnection`): the next frame already received, without
waiting, so a reader behind a backlog takes every ready frame in one go.
:class:`TrioWebsocketTransport` is the real one; :class:`ReplayTransport` plays recorded
frames for tests and backtests. Every transport raises only our own
:class:`~arbitrade.kraken.KrakenTransportError` subclasses, translated here from
trio-websocket's and the OS's exceptions.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final, Protocol

import orjson
import trio
import trio_websocket

from arbitrade.kraken._errors import KrakenConnectError, KrakenConnectionClosed

__all__ = [
    "Connection",
    "ReadyConnection",
    "ReplayTransport",
    "Transport",
    "TrioWebsocketTransport",
]

MESSAGE_QUEUE: Final = 1024
"""Frames trio-websocket may hold received but not yet read (its default is 1). A reader that
fell behind then finds a backlog ready in memory and takes it at once (``receive_nowait``),
instead of one frame per turn of the scheduler; the kernel's socket buffer holds the rest."""


class Connection(Protocol):
    """One open WebSocket: a stream of raw text frames plus send."""

    async def receive(self) -> str | bytes:
        """The next frame. Raises KrakenConnectionClosed when the connection is gone."""
        ...

    async def send(self, frame: str | bytes) -> None:
        """Send one frame. Raises KrakenConnectionClosed when the connection is gone."""
        ...


class ReadyConnection(Connection, Protocol):
    """A connection that can also hand over a frame it already holds, without waiting."""

    def receive_nowait(self) -> str | bytes:
        """The next frame if one is ready.

        Raises:
            trio.WouldBlock: nothing is ready (the caller awaits :meth:`receive`).
            KrakenConnectionClosed: the connection is gone and nothing is left to read.
        """
        ...


class Transport(Protocol):
    """Opens connections; closing the context closes the connection."""

    def connect(self, url: str) -> AbstractAsyncContextManager[Connection]:
        """Open ``url``. Raises KrakenConnectError when that fails (nothing was sent)."""
        ...


class _TrioWebsocketConnection:
    def __init__(self, socket: trio_websocket.WebSocketConnection, url: str) -> None:
        self._socket = socket
        self._url = url
        # trio-websocket has no non-blocking get_message: its received-message queue is
        # read directly (a private attribute; pinned by uv.lock). Without it every
        # receive_nowait says WouldBlock, and the reader goes one frame at a time as before.
        self._ready: trio.MemoryReceiveChannel[str | bytes] | None = getattr(
            socket, "_recv_channel", None
        )

    def receive_nowait(self) -> str | bytes:
        ready = self._ready
        if ready is None:
            raise trio.WouldBlock
        try:
            return ready.receive_nowait()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            # what is left is for receive(), which raises the close with its reason
            raise trio.WouldBlock from None

    async def receive(self) -> str | bytes:
        try:
            return await self._socket.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise KrakenConnectionClosed(self._url, f"closed: {exc.reason}") from exc

    async def send(self, frame: str | bytes) -> None:
        try:
            await self._socket.send_message(frame)
        except trio_websocket.ConnectionClosed as exc:
            raise KrakenConnectionClosed(self._url, f"closed: {exc.reason}") from exc


class TrioWebsocketTransport:
    """The network, through trio-websocket (``ws://`` and ``wss://``)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        max_message_size: int = 2**24,
        message_queue_size: int = MESSAGE_QUEUE,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._ssl_context = ssl_context
        self._max_message_size = max_message_size
        self._message_queue_size = message_queue_size

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Open ``url``; the connection closes when the block exits.

        Raises:
            KrakenConnectError: the handshake failed or timed out (``from`` the cause).
        """
        entered = False
        try:
            async with trio_websocket.open_websocket_url(
                url,
                ssl_context=self._ssl_context,
                connect_timeout=self._connect_timeout,
                disconnect_timeout=1.0,
                max_message_size=self._max_message_size,
                message_queue_size=self._message_queue_size,
            ) as socket:
                entered = True
                yield _TrioWebsocketConnection(socket, url)
        except (
            trio_websocket.HandshakeError,
            trio_websocket.ConnectionClosed,
            OSError,
            trio.TooSlowError,
        ) as exc:
            if not entered:
                raise KrakenConnectError(url, f"could not connect: {exc!r}") from exc
            raise KrakenConnectionClosed(url, f"closed: {exc!r}") from exc


class _ReplayConnection:
    def __init__(self, transport: ReplayTransport) -> None:
        self._transport = transport

    async def receive(self) -> str | bytes:
        await trio.lowlevel.checkpoint()
        transport = self._transport
        while True:
            if transport._replies:
                return transport._replies.pop(0)
            if transport._queue:
                return transport._queue.pop(0)
            if transport.close_at_end:
                raise KrakenConnectionClosed("replay", "end of the recording")
            await transport._more.wait()  # an answer to what was sent, or extend()

    def receive_nowait(self) -> str | bytes:
        if self._transport._replies:
            return self._transport._replies.pop(0)
        if self._transport._queue:
            return self._transport._queue.pop(0)
        raise trio.WouldBlock

    async def send(self, frame: str | bytes) -> None:
        await trio.lowlevel.checkpoint()
        self._transport.sent.append(frame)
        if self._transport.acknowledge:
            self._transport._acknowledge(frame)


class ReplayTransport:
    """Plays ``frames`` in order on the first connection (later ones get what is left).

    With ``acknowledge`` (the default) it answers what the client sends the way Kraken would,
    ahead of the remaining frames: one successful ack per symbol of a ``subscribe`` or
    ``unsubscribe``, and a ``pong`` per ``ping``; so the client's "send and wait for the
    acknowledgement" works unchanged in backtests. Frames sent are kept in :attr:`sent`.
    At the end of the frames the connection closes (``close_at_end``) or stays silent but for
    its answers (and frames added by :meth:`extend`).
    """

    def __init__(
        self,
        frames: Iterable[str | bytes],
        *,
        acknowledge: bool = True,
        close_at_end: bool = False,
    ) -> None:
        self._queue: list[str | bytes] = list(frames)
        self._replies: list[bytes] = []
        self.acknowledge = acknowledge
        self.close_at_end = close_at_end
        self.sent: list[str | bytes] = []
        self.connections = 0
        self._more = trio.Event()

    def extend(self, frames: Iterable[str | bytes]) -> None:
        """Queue ``frames`` behind those not yet played (a test answering what was sent).

        A connection waiting at the end of the frames gets them at once.
        """
        self._queue.extend(frames)
        self._wake()

    def _wake(self) -> None:
        self._more.set()
        self._more = trio.Event()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """A connection to the recording (``url`` is ignored)."""
        self.connections += 1
        await trio.lowlevel.checkpoint()
        yield _ReplayConnection(self)

    def _acknowledge(self, frame: str | bytes) -> None:
        try:
            request = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return
        method = request.get("method")
        req_id = request.get("req_id")
        replies: list[bytes] = []
        if method == "ping":
            replies.append(orjson.dumps({"method": "pong", "req_id": req_id}))
        elif method in ("subscribe", "unsubscribe"):
            params = request.get("params") or {}
            for symbol in params.get("symbol") or [None]:
                result = {"channel": params.get("channel")}
                if symbol is not None:
                    result["symbol"] = symbol
                replies.append(
                    orjson.dumps(
                        {"method": method, "req_id": req_id, "success": True, "result": result}
                    )
                )
        self._replies.extend(replies)
        if replies:
            self._wake()
