"""A WebSocket transport that reads every frame the socket holds in one go (wsproto on Trio).

trio-websocket hands over one message per turn of the scheduler: its reader task waits on a
channel send after each message. On a loaded event loop (the simulator, the graph and the
strategies in one process) a turn takes milliseconds, so a feed reads a few hundred frames a
second however many wait in the socket. :class:`WsprotoTransport` parses everything one socket
read returns (up to ``receive_bytes``) and offers it through ``receive_nowait``, so a reader
behind a backlog takes hundreds of frames per turn.

The market feeds' default (``MarketSettings.ws_transport``, ADR 0013). It speaks plain
``ws://`` and ``wss://`` with the default TLS context, answers pings, and closes on a close
frame or on a message over ``max_message_size``. Errors are our own
:class:`~arbitrade.kraken.KrakenTransportError` subclasses, as for every transport.
"""

from __future__ import annotations

import collections
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from arbitrade.kraken._errors import KrakenConnectError, KrakenConnectionClosed
from arbitrade.kraken._transport import Connection

__all__ = ["WsprotoTransport"]


class _WsprotoConnection:
    def __init__(
        self, stream: trio.abc.Stream, ws: WSConnection, url: str, size: int, max_message: int
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._url = url
        self._size = size
        self._max_message = max_message
        self._message_size = 0
        self._ready: collections.deque[str | bytes] = collections.deque()
        self._parts: list[str] = []
        self._bytes: list[bytes] = []
        self._send_lock = trio.Lock()
        self._closed: str | None = None

    def receive_nowait(self) -> str | bytes:
        if self._ready:
            return self._ready.popleft()
        raise trio.WouldBlock

    async def receive(self) -> str | bytes:
        while not self._ready:
            if self._closed is not None:
                raise KrakenConnectionClosed(self._url, self._closed)
            try:
                data = await self._stream.receive_some(self._size)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._closed = f"closed: {exc!r}"
                raise KrakenConnectionClosed(self._url, self._closed) from exc
            if not data:
                self._closed = "closed: end of stream"
                continue
            try:
                self._ws.receive_data(bytes(data))
                await self._handle_events()
            except RemoteProtocolError as exc:
                self._closed = f"closed: protocol error {exc}"
        return self._ready.popleft()

    async def _handle_events(self) -> None:
        for event in self._ws.events():
            if isinstance(event, TextMessage | BytesMessage):
                self._message_size += len(event.data)
                if self._message_size > self._max_message:
                    await self._refuse_oversized()
                    return
            if isinstance(event, TextMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    self._ready.append("".join(self._parts))
                    self._parts.clear()
                    self._message_size = 0
            elif isinstance(event, BytesMessage):
                self._bytes.append(bytes(event.data))
                if event.message_finished:
                    self._ready.append(b"".join(self._bytes))
                    self._bytes.clear()
                    self._message_size = 0
            elif isinstance(event, Ping):
                await self._send_raw(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._closed = f"closed: {event.code} {event.reason}"
                with suppress(KrakenConnectionClosed):
                    await self._send_raw(self._ws.send(event.response()))

    async def _refuse_oversized(self) -> None:
        """Close with 1009 (message too big), as trio-websocket does; what was ready stays."""
        self._parts.clear()
        self._bytes.clear()
        self._closed = f"closed: message over {self._max_message} bytes"
        with suppress(KrakenConnectionClosed, LocalProtocolError):
            await self._send_raw(self._ws.send(CloseConnection(code=1009)))

    async def _send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise KrakenConnectionClosed(self._url, f"closed: {exc!r}") from exc

    async def send(self, frame: str | bytes) -> None:
        if self._closed is not None:
            raise KrakenConnectionClosed(self._url, self._closed)
        message = TextMessage(frame) if isinstance(frame, str) else BytesMessage(frame)
        try:
            data = self._ws.send(message)
        except LocalProtocolError as exc:
            raise KrakenConnectionClosed(self._url, f"closed: {exc}") from exc
        await self._send_raw(data)


class WsprotoTransport:
    """WebSocket connections read in whole socket reads (see the module docstring).

    Args:
        connect_timeout: seconds for TCP, TLS and the handshake together.
        ssl_context: for ``wss://`` (default: the system's trusted roots).
        receive_bytes: most bytes taken from the socket per read (each read is parsed whole).
        max_message_size: a longer message closes the connection (1009) instead of growing
            without bound.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        receive_bytes: int = 1 << 18,
        max_message_size: int = 2**24,
    ) -> None:
        self._max_message_size = max_message_size
        self._connect_timeout = connect_timeout
        self._ssl_context = ssl_context
        self._receive_bytes = receive_bytes

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Open ``url``; the connection closes when the block exits.

        Raises:
            KrakenConnectError: TCP, TLS or the handshake failed or timed out.
        """
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        host = parts.hostname or "localhost"
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        ws = WSConnection(ConnectionType.CLIENT)
        try:
            with trio.fail_after(self._connect_timeout):
                stream: trio.abc.Stream
                if secure:
                    context = self._ssl_context or ssl.create_default_context()
                    stream = await trio.open_ssl_over_tcp_stream(host, port, ssl_context=context)
                else:
                    stream = await trio.open_tcp_stream(host, port)
                connection = _WsprotoConnection(
                    stream, ws, url, self._receive_bytes, self._max_message_size
                )
                await stream.send_all(ws.send(Request(host=parts.netloc, target=target)))
                await self._handshake(stream, ws, connection, url)
        except (OSError, trio.TooSlowError, trio.BrokenResourceError, RemoteProtocolError) as exc:
            raise KrakenConnectError(url, f"could not connect: {exc!r}") from exc
        try:
            yield connection
        finally:
            with trio.move_on_after(1.0) as cleanup:
                cleanup.shield = True
                with suppress(OSError, trio.BrokenResourceError):
                    await stream.aclose()

    @staticmethod
    async def _handshake(
        stream: trio.abc.Stream, ws: WSConnection, connection: _WsprotoConnection, url: str
    ) -> None:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise KrakenConnectError(url, "could not connect: closed during the handshake")
            ws.receive_data(bytes(data))
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    # frames that came with the handshake's answer are kept
                    await connection._handle_events()
                    return
                if isinstance(event, RejectConnection):
                    raise KrakenConnectError(
                        url, f"could not connect: rejected ({event.status_code})"
                    )
