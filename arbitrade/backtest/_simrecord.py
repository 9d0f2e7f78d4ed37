"""Recording the simulator in-process, on a virtual clock: fixtures and benchmarks in seconds.

:class:`AsgiWebSocketTransport` is a :class:`~arbitrade.kraken.Transport` that talks to an ASGI
app's WebSocket endpoint in memory (as httpx's ``ASGITransport`` does for HTTP), so the
simulator's own WebSocket code produces the frames, unchanged, without a socket.
:func:`record_simulator` runs the simulator's market and our client through
:class:`RecordingTransport` under ``MockClock(autojump_threshold=0)``: an hour of market
takes as long as the CPU needs to produce it, and the same seed gives the same frames.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, MutableMapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio
import trio.testing

from arbitrade.backtest._recorder import FrameRecorder, RecorderStatistics, RecordingTransport
from arbitrade.kraken import Connection, KrakenConnectError, KrakenConnectionClosed, KrakenWsClient
from arbitrade.sim import MarketSettings, SimConfig, Simulator
from arbitrade.sim._server import SimulatorApp  # not exported yet: see the report

_Message = MutableMapping[str, Any]


class _AsgiConnection:
    def __init__(
        self,
        to_app: trio.MemorySendChannel[_Message],
        from_app: trio.MemoryReceiveChannel[_Message],
        url: str,
    ) -> None:
        self._to_app = to_app
        self._from_app = from_app
        self._url = url

    async def receive(self) -> str | bytes:
        try:
            message = await self._from_app.receive()
        except trio.EndOfChannel:
            raise KrakenConnectionClosed(self._url, "closed by the app") from None
        if message["type"] == "websocket.close":
            raise KrakenConnectionClosed(self._url, f"closed: {message.get('code')}")
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def send(self, frame: str | bytes) -> None:
        key = "text" if isinstance(frame, str) else "bytes"
        try:
            await self._to_app.send({"type": "websocket.receive", key: frame})
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise KrakenConnectionClosed(self._url, "closed by the app") from None


class AsgiWebSocketTransport:
    """WebSocket connections to an ASGI app in the same Trio run (no socket)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Run the app's WebSocket handler for ``url``'s path; closing disconnects it.

        Raises:
            KrakenConnectError: the app did not accept the connection.
        """
        to_app, app_receive = trio.open_memory_channel[_Message](math.inf)
        app_send, from_app = trio.open_memory_channel[_Message](math.inf)
        scope = {"type": "websocket", "path": urlsplit(url).path or "/", "headers": []}

        async def receive() -> _Message:
            return await app_receive.receive()

        async def send(message: _Message) -> None:
            await app_send.send(message)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.app, scope, receive, send)
            await to_app.send({"type": "websocket.connect"})
            first = await from_app.receive()
            if first["type"] != "websocket.accept":
                nursery.cancel_scope.cancel()
                raise KrakenConnectError(url, f"the app refused: {first}")
            try:
                yield _AsgiConnection(to_app, from_app, url)
            finally:
                await to_app.send({"type": "websocket.disconnect", "code": 1000})
                nursery.cancel_scope.cancel()


@attrs.frozen
class SimRecording:
    """What :func:`record_simulator` wrote."""

    out_dir: Path
    statistics: RecorderStatistics
    simulated_seconds: float


async def _tick(sim: Simulator, seconds: float) -> None:
    interval = sim.model.settings.tick_seconds
    next_at = trio.current_time()
    while True:
        next_at += interval
        await trio.sleep_until(next_at)
        sim.step()


async def _record(
    out_dir: Path,
    symbols: Sequence[str],
    seconds: float,
    seed: int,
    depth: int,
    channels: Sequence[str],
    start_wall: float,
    market: MarketSettings,
) -> RecorderStatistics:
    origin = trio.current_time()

    def wall() -> float:
        return start_wall + (trio.current_time() - origin)

    sim = Simulator(
        SimConfig(
            seed=seed, symbols=tuple(symbols), market=attrs.evolve(market, start_time=start_wall)
        ),
        clock=wall,
    )
    recorder = FrameRecorder(out_dir, session=f"sim-seed{seed}")
    transport = RecordingTransport(
        AsgiWebSocketTransport(SimulatorApp(sim)),
        recorder,
        wall_clock_ns=lambda: round(wall() * 1e9),
    )
    client = KrakenWsClient("ws://simulator/v2", transport=transport)
    async with trio.open_nursery() as nursery:
        await nursery.start(client.run)
        await client.subscribe("instrument", snapshot=True)
        for channel in channels:
            params = {"depth": depth} if channel == "book" else {}
            await client.subscribe(channel, list(symbols), **params)
        nursery.start_soon(_tick, sim, seconds)

        async def drain() -> None:
            async for _ in client.messages:
                pass

        nursery.start_soon(drain)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    recorder.close()
    return recorder.statistics()


def record_simulator(
    out_dir: Path,
    *,
    symbols: Sequence[str],
    seconds: float,
    seed: int = 7,
    depth: int = 10,
    channels: Sequence[str] = ("book",),
    start_wall: float = 1_714_557_600.0,
    market: MarketSettings | None = None,
) -> SimRecording:
    """Record ``seconds`` of the simulator's market over ``symbols`` into ``out_dir``.

    Runs its own ``trio.run`` on a virtual clock (do not call it from inside a Trio run).
    ``start_wall`` is the recording's wall time at its start (default 2024-05-01T10:00Z).

    Raises:
        SimConfigError, UnknownSymbol: the simulator refuses the configuration.
    """
    statistics = trio.run(
        _record,
        out_dir,
        symbols,
        seconds,
        seed,
        depth,
        channels,
        start_wall,
        market or MarketSettings(),
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    return SimRecording(Path(out_dir), statistics, seconds)
