"""A first end-to-end check of the harness: start, probe, crash, restart log."""

from __future__ import annotations

import trio

import actors
import actors.testing

from .conftest import Echo, Ping, Pong


async def test_harness_when_actor_forwards_then_probe_sees_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A probe given at construction receives what the actor sends it."""
    async with actors.testing.open_harness() as harness:
        peer = harness.probe("root/peer")
        ref = await harness.start(lambda: Echo(peer.ref), name="echo")
        assert await ref.ask(Ping(1)) == Pong(1)
        assert await peer.expect(Pong, lambda m: m.n == 1, within=1.0) == Pong(1)
        await harness.crash("root/echo")
        await harness.expect_event(actors.ChildRestarted, within=1.0)
        assert await ref.ask(Ping(2)) == Pong(2)
