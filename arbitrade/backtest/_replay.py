"""The replay transport: recorded frames handed to the WebSocket client at their recorded times.

:class:`TimedReplayTransport` is a :class:`~arbitrade.kraken.Transport`. Its connection gives
frame *k* once the Trio clock reaches the frame's replay time, so under a virtual clock
(``trio.testing.MockClock(autojump_threshold=0)``) the clock jumps from frame to frame, and
everything a frame causes happens before the next frame arrives. Requests the client sends
are answered at once, ahead of the next frame, the way Kraken answers them (a successful
acknowledgement per subscribed symbol, ``pong`` for ``ping``): the recording's own responses
were dropped when it was loaded.

The transport is also the replay's :class:`~arbitrade.backtest._timeline.Scheduler`: the
simulated venue's latencies and the report's samples are callbacks on the same time line as
the frames, run in (time, order) by the receiving task, so nothing depends on how Trio breaks
ties between equal deadlines. Frames are handed over in lockstep: each once everything the
last one caused has settled, even within one instant. Callbacks due at *t* run after every
frame due at *t*, once the instant has settled (``trio.testing.wait_all_tasks_blocked``:
every task has run out of work at *t*), back to back; so it runs on a virtual clock.
``on_handover`` sees each frame as it
is handed over (the venue's :class:`~arbitrade.backtest._market.MarketBooks`): a callback at
*t* meets the market of every frame up to *t* and nothing later (ADR 12).

Every connection continues where the previous one stopped (a reconnect does not replay the
recording again). When the frames run out, :attr:`TimedReplayTransport.finished` is set; the
connection then only runs the remaining callbacks.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import orjson
import trio
import trio.testing

from arbitrade.backtest._timeline import Callback
from arbitrade.kraken import Connection

__all__ = ["TimedReplayTransport"]


class _TimedConnection:
    __slots__ = ("_transport",)

    def __init__(self, transport: TimedReplayTransport) -> None:
        self._transport = transport

    async def receive(self) -> str | bytes:
        transport = self._transport
        replies = transport._replies
        timers = transport._timers
        times = transport._times
        settled = False  # True from the instant's settling until this task next yields
        while True:
            if replies:
                await trio.lowlevel.checkpoint()
                return replies.popleft()
            index = transport.position
            if index < transport._count:
                frame_at = times[index]
            else:
                frame_at = math.inf
                transport.finished.set()
            if timers and timers[0][0] < frame_at:  # equal times: the market moves first
                due = timers[0][0]
                now = trio.current_time()
                if due > now:
                    await transport._sleep_until(due)
                    settled = False
                    continue
                if not settled:
                    # the instant settles first: every task runs out of work at ``now``
                    await trio.testing.wait_all_tasks_blocked()
                    settled = True
                    continue
                heapq.heappop(timers)[2]()  # due timers run back to back, without yielding
                continue
            if frame_at == math.inf:
                await transport._sleep_until(math.inf)
                settled = False
                continue
            if frame_at > trio.current_time():
                await transport._sleep_until(frame_at)
                settled = False
                continue
            if not settled:
                # lockstep: what the last frame caused settles before the next is handed over
                await trio.testing.wait_all_tasks_blocked()
                settled = True
                continue
            transport.position = index + 1
            payload = transport._payloads[index]
            if transport._on_handover is not None:
                transport._on_handover(payload)
            if transport._on_frame is not None:
                transport._on_frame(index + 1)
            return payload

    async def send(self, frame: str | bytes) -> None:
        transport = self._transport
        transport.sent += 1
        transport._answer(frame)
        if transport._replies:
            transport._wake()
        await trio.lowlevel.checkpoint()


class TimedReplayTransport:
    """Plays ``payloads`` at ``times`` (Trio-clock seconds, non-decreasing) to the client.

    Args:
        times: when each frame is received, on the Trio clock.
        payloads: the frames' text, in replay order.
        on_frame: called with the count of frames delivered so far, after each one (progress).
        on_handover: called with each frame as it is handed to the client, before the client
            sees it (a simulated venue's :class:`~arbitrade.backtest._market.MarketBooks`).
    """

    def __init__(
        self,
        times: Sequence[float],
        payloads: Sequence[str | bytes],
        *,
        on_frame: Callable[[int], None] | None = None,
        on_handover: Callable[[str | bytes], None] | None = None,
    ) -> None:
        if len(times) != len(payloads):
            raise ValueError(f"{len(times)} times for {len(payloads)} frames")
        self._times = times
        self._payloads = payloads
        self._count = len(payloads)
        self._on_frame = on_frame
        self._on_handover = on_handover
        self._replies: collections.deque[bytes] = collections.deque()
        self._timers: list[tuple[float, int, Callback]] = []
        self._timer_order = itertools.count()
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
        self._wake()

    def call_at(self, at: float, callback: Callback) -> None:
        """Run ``callback`` at ``at`` on the replay's time line (a :class:`Scheduler`).

        Callbacks run in the connection's receive loop, in (time, scheduling order) order,
        before a frame due later and after a frame due at the same time. They keep running
        after the last frame, as long as the client keeps receiving.
        """
        heapq.heappush(self._timers, (at, next(self._timer_order), callback))
        waiting = self._waiting
        if waiting is not None and at < waiting.deadline:
            waiting.deadline = at

    def _wake(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()

    async def _sleep_until(self, at: float) -> None:
        with trio.CancelScope(deadline=at) as scope:
            self._waiting = scope
            await trio.sleep_forever()
        self._waiting = None

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
