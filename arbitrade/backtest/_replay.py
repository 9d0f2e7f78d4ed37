"""The replay transport: recorded frames handed to the WebSocket client at their recorded times.

:class:`TimedReplayTransport` is a :class:`~arbitrade.kraken.Transport`. Its connection gives
frame *k* once the Trio clock reaches the frame's replay time, so under a virtual clock
(``trio.testing.MockClock(autojump_threshold=0)``) the clock jumps from frame to frame, and
everything a frame causes happens before the next frame arrives. Requests the client sends
are answered at once, ahead of the next frame, the way Kraken answers them (a successful
acknowledgement per subscribed symbol, ``pong`` for ``ping``): the recording's own responses
were dropped when it was loaded.

Every connection continues where the previous one stopped (a reconnect does not replay the
recording again). When the frames run out, :attr:`TimedReplayTransport.finished` is set and the
connection stays silent.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import orjson
import trio

from arbitrade.kraken import Connection

__all__ = ["TimedReplayTransport"]


class _TimedConnection:
    __slots__ = ("_transport",)

    def __init__(self, transport: TimedReplayTransport) -> None:
        self._transport = transport

    async def receive(self) -> str | bytes:
        transport = self._transport
        replies = transport._replies
        while True:
            if replies:
                await trio.lowlevel.checkpoint()
                return replies.popleft()
            index = transport.position
            if index >= transport._count:
                transport.finished.set()
                with trio.CancelScope() as scope:
                    transport._waiting = scope
                    await trio.sleep_forever()
                transport._waiting = None
                continue
            at = transport._times[index]
            if at > trio.current_time():
                with trio.CancelScope(deadline=at) as scope:
                    transport._waiting = scope
                    await trio.sleep_forever()
                transport._waiting = None
                if not scope.cancelled_caught or trio.current_time() < at:
                    continue  # woken early by a reply to send
            else:
                await trio.lowlevel.checkpoint()
            transport.position = index + 1
            if transport._on_frame is not None:
                transport._on_frame(index + 1)
            return transport._payloads[index]

    async def send(self, frame: str | bytes) -> None:
        transport = self._transport
        transport.sent += 1
        transport._answer(frame)
        if transport._replies and transport._waiting is not None:
            transport._waiting.cancel()
        await trio.lowlevel.checkpoint()


class TimedReplayTransport:
    """Plays ``payloads`` at ``times`` (Trio-clock seconds, non-decreasing) to the client.

    Args:
        times: when each frame is received, on the Trio clock.
        payloads: the frames' text, in replay order.
        on_frame: called with the count of frames delivered so far, after each one (progress).
    """

    def __init__(
        self,
        times: Sequence[float],
        payloads: Sequence[str | bytes],
        *,
        on_frame: Callable[[int], None] | None = None,
    ) -> None:
        if len(times) != len(payloads):
            raise ValueError(f"{len(times)} times for {len(payloads)} frames")
        self._times = times
        self._payloads = payloads
        self._count = len(payloads)
        self._on_frame = on_frame
        self._replies: collections.deque[bytes] = collections.deque()
        self._waiting: trio.CancelScope | None = None
        self.position = 0
        """Frames delivered so far."""
        self.connections = 0
        """Connections opened (a reconnect continues where the last one stopped)."""
        self.sent = 0
        """Frames the client sent (requests)."""
        self.finished = trio.Event()
        """Set once every frame was delivered."""

    def stop(self) -> None:
        """Deliver no further frame: the replay finishes after the current one."""
        self._count = min(self._count, self.position)
        if self._waiting is not None:
            self._waiting.cancel()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """A connection to the recording (``url`` is ignored)."""
        self.connections += 1
        await trio.lowlevel.checkpoint()
        yield _TimedConnection(self)

    def _answer(self, frame: str | bytes) -> None:
        try:
            request = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return
        if not isinstance(request, dict):
            return
        method, req_id = request.get("method"), request.get("req_id")
        if method == "ping":
            self._replies.append(orjson.dumps({"method": "pong", "req_id": req_id}))
        elif method in ("subscribe", "unsubscribe"):
            params = request.get("params") or {}
            for symbol in params.get("symbol") or [None]:
                result = {"channel": params.get("channel")}
                if symbol is not None:
                    result["symbol"] = symbol
                self._replies.append(
                    orjson.dumps(
                        {"method": method, "req_id": req_id, "success": True, "result": result}
                    )
                )
