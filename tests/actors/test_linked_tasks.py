"""Linked tasks (Context.start_soon) and bus forwarding (Context.forward)."""

from __future__ import annotations

import attrs
import trio
import trio.testing

import actors
from actors.testing import open_harness


@attrs.frozen
class Tick:
    n: int


class Ticker(actors.Actor[object]):
    """Publishes a Tick every second from a linked task; fails on tick ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.stopped = False

    async def on_start(self) -> None:
        self.context.start_soon(self._tick)

    async def _tick(self) -> None:
        n = 0
        while True:
            await trio.sleep(1.0)
            n += 1
            if n == self.fail_at:
                raise ValueError(f"tick {n} failed")
            await self.context.bus.publish("ticks", Tick(n))

    async def receive(self, message: object) -> object:
        return message


class Collector(actors.Actor[object]):
    def __init__(self) -> None:
        self.seen: list[object] = []

    async def on_start(self) -> None:
        self.context.forward("ticks", actors.Lossless(10))

    async def receive(self, message: object) -> object:
        if message == "seen":
            return tuple(self.seen)
        self.seen.append(message)
        return None


async def test_linked_task_when_it_raises_crashes_the_actor_which_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A failing linked task crashes its incarnation with that error; the supervisor restarts it."""
    async with open_harness() as harness:
        await harness.start(lambda: Ticker(fail_at=2), name="ticker")
        crash = await harness.expect_event(actors.ChildCrashed, within=5.0)
        assert crash.error_type == "ValueError"
        assert crash.error_message == "tick 2 failed"
        await harness.expect_event(actors.ChildRestarted, within=5.0)


async def test_linked_task_is_cancelled_when_the_actor_stops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """After the tree stops, a linked task publishes nothing more."""
    async with open_harness() as harness:
        with harness.bus.subscribe("ticks", actors.Lossless(100)) as ticks:
            await harness.start(lambda: Ticker(), name="ticker")
            await trio.sleep(3.5)
            await harness.stop()
            await trio.sleep(10)
            count = ticks.statistics().queued
    assert 2 <= count <= 4


async def test_forward_delivers_bus_events_to_the_mailbox_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Context.forward turns a topic into ordinary messages for the actor."""
    async with open_harness() as harness:
        collector = await harness.start(Collector, name="collector")
        for n in range(5):
            await harness.bus.publish("ticks", Tick(n))
        await trio.sleep(0.1)
        assert await collector.ask("seen") == tuple(Tick(n) for n in range(5))
