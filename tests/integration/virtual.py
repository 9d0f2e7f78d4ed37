"""The app's tree on a virtual clock: the simulator in-process, frames through memory channels.

Everything the real run has, minus what cannot run on ``MockClock(autojump_threshold=0)``:
no sockets (the feeds reach the simulator's WebSocket handler through
:class:`SimulatorTransport`), no writer thread (the same :class:`DuckDBWriter` runs inline in a
Trio actor, so a thread's timing cannot reorder the loop), no dashboard. Trio's deterministic
scheduling (the one it keeps for Hypothesis) is switched on and seeded, as the backtest does.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

from actors import Actor, ChildSpec, SupervisorSpec, run_system
from arbitrade.app import ROOT, build_tree, make_venue
from arbitrade.components import Components
from arbitrade.config import Settings
from arbitrade.execution import Venue, run_trading_io
from arbitrade.graph import load_taker_fees
from arbitrade.kraken import KrakenConnectionClosed
from arbitrade.market.wiring import market_supervisor
from arbitrade.persistence import Batch, DuckDBWriter
from arbitrade.sim import Simulator
from arbitrade.sim._ws import Connection as SimConnection
from tests.integration import scenario

START_WALL = 1_717_754_400.0  # 2024-06-07T10:00:00Z


class _MemoryConnection:
    def __init__(
        self,
        inbound: trio.MemoryReceiveChannel[str],
        outbound: trio.MemorySendChannel[str],
    ) -> None:
        self._inbound = inbound
        self._outbound = outbound

    async def receive(self) -> str:
        try:
            return await self._inbound.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise KrakenConnectionClosed("memory", "simulator closed") from None

    async def send(self, frame: str | bytes) -> None:
        text = frame if isinstance(frame, str) else frame.decode()
        try:
            self._outbound.send_nowait(text)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise KrakenConnectionClosed("memory", "simulator closed") from None
        await trio.lowlevel.checkpoint()


class SimulatorTransport:
    """A :class:`~arbitrade.kraken.Transport` whose connections are the simulator's own
    WebSocket v2 handler, joined by memory channels (no socket, no hypercorn)."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._ids = itertools.count(1)

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[_MemoryConnection]:
        to_client, from_server = trio.open_memory_channel[str](math.inf)
        to_server, from_client = trio.open_memory_channel[str](math.inf)
        handler = SimConnection(
            self.simulator, private=url.endswith("-auth"), connection_id=next(self._ids)
        )

        async def send_text(text: str) -> None:
            to_client.send_nowait(text)
            await trio.lowlevel.checkpoint()

        async def receive_text() -> str | None:
            try:
                return await from_client.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return None

        async with trio.open_nursery() as nursery:
            nursery.start_soon(handler.run, send_text, receive_text)
            try:
                yield _MemoryConnection(from_server, to_server)
            finally:
                to_server.close()
                nursery.cancel_scope.cancel()


class InlineWriter(Actor[Any]):
    """The DuckDB writer as a Trio actor: the same :class:`DuckDBWriter`, no thread."""

    def __init__(self, path: Path) -> None:
        self._writer = DuckDBWriter(path)

    async def on_start(self) -> None:
        self._writer.open()

    async def receive(self, message: Any) -> object:
        if isinstance(message, Batch):
            return self._writer.write(message)
        return None

    async def on_stop(self) -> None:
        self._writer.close()


def _swap(tree: SupervisorSpec, name: str, replacement: SupervisorSpec) -> SupervisorSpec:
    children = [replacement if child.name == name else child for child in tree.children]
    return attrs.evolve(tree, children=children)


def virtual_tree(
    settings: Settings,
    components: Components,
    venue: Venue,
    simulator: Simulator,
    database: Path,
) -> SupervisorSpec:
    """The app's tree with the writer inline (no thread) and the feeds on ``simulator``
    in memory, so the whole tree runs on a virtual clock."""
    tree = build_tree(settings, components, venue)
    persistence = next(c for c in tree.children if c.name == "persistence")
    assert isinstance(persistence, SupervisorSpec)
    writer = ChildSpec(persistence.children[0].name, factory=InlineWriter, args=(database,))
    tree = _swap(
        tree, "persistence", attrs.evolve(persistence, children=[writer, *persistence.children[1:]])
    )
    market = market_supervisor(
        "memory://sim/v2",
        components.market,
        components.graph,
        load_taker_fees(components.graph),
        transport=SimulatorTransport(simulator),
    )
    return _swap(tree, "market", market)


async def _tick(simulator: Simulator) -> None:
    while True:
        await trio.sleep(simulator.model.settings.tick_seconds)
        simulator.step()


async def _run(database: Path, seconds: float) -> None:
    components: Components = scenario.components()
    components = attrs.evolve(
        components,
        # a real-time work budget would make the sink's slices (and so the schedule) vary
        sink=attrs.evolve(components.sink, pump_budget=3600.0),
    )
    simulator = Simulator(
        scenario.sim_config(start_time=START_WALL),
        clock=lambda: START_WALL + trio.current_time(),
    )
    settings = scenario.settings(database)
    venue = make_venue(settings, components)
    tree = virtual_tree(settings, components, venue, simulator, database)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_tick, simulator)
        await nursery.start(venue.run)
        system: Any = await nursery.start(partial(run_system, tree, seed=scenario.SEED))
        await nursery.start(
            run_trading_io,
            system.bus,
            system.registry.lookup,
            venue,
            components.execution,
            f"{ROOT}/trading",
        )
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()


def run_virtual(database: Path, seconds: float) -> None:
    """Run the tree for ``seconds`` of virtual time, deterministically; the file is closed."""
    core: Any = trio._core._run
    scheduler: random.Random = core._r
    saved = scheduler.getstate(), core._ALLOW_DETERMINISTIC_SCHEDULING
    scheduler.seed(scenario.SEED)
    core._ALLOW_DETERMINISTIC_SCHEDULING = True
    try:
        trio.run(_run, database, seconds, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        scheduler.setstate(saved[0])
        core._ALLOW_DETERMINISTIC_SCHEDULING = saved[1]
