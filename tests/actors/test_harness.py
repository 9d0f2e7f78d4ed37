"""actors.testing: the harness must pass what is right and fail readably what is not."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
import actors.testing

from .conftest import Echo, Ping, Pong


class Forwarder(actors.Actor[Any]):
    """Looks up its peer by path at start (the registry way) and forwards Pings as Pongs."""

    async def on_start(self) -> None:
        self.peer = self.context.lookup("root/peer")

    async def receive(self, message: Any) -> object:
        if isinstance(message, Ping):
            await self.peer.send(Pong(message.n))
            return None
        raise ValueError(f"unexpected {message!r}")


class TestProbes:
    async def test_expect_when_message_arrives_in_time_returns_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """expect returns the first matching message, skipping others."""
        async with actors.testing.open_harness() as harness:
            peer = harness.probe("root/peer")
            ref = await harness.start(Forwarder, name="fwd")
            for n in range(3):
                await ref.send(Ping(n))
            assert await peer.expect(Pong, lambda m: m.n == 2, within=1.0) == Pong(2)
            assert peer.received == (Pong(0), Pong(1), Pong(2))

    async def test_expect_when_nothing_matches_fails_with_readable_message(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An unmet expectation fails naming the probe, the expectation and what arrived."""
        async with actors.testing.open_harness() as harness:
            peer = harness.probe("root/peer")
            ref = await harness.start(Forwarder, name="fwd")
            await ref.send(Ping(1))
            with pytest.raises(actors.testing.ExpectationFailed) as caught:
                await peer.expect(Pong, lambda m: m.n == 99, within=2.0)
        text = str(caught.value)
        assert "probe 'root/peer' expected a message Pong matching <lambda>" in text
        assert "within 2s; got 1 other: Pong(n=1)" in text
        assert isinstance(caught.value, AssertionError)

    async def test_expect_when_nothing_arrives_waits_virtual_time_only(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A failing expect costs virtual time, and says nothing arrived."""
        async with actors.testing.open_harness() as harness:
            peer = harness.probe("root/peer")
            start = trio.current_time()
            with pytest.raises(actors.testing.ExpectationFailed, match="nothing arrived"):
                await peer.expect(Pong, within=30.0)
            assert trio.current_time() - start == pytest.approx(30.0)

    async def test_expect_no_message_when_one_arrives_fails_naming_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """expect_no_message fails with the message that arrived."""
        async with actors.testing.open_harness() as harness:
            peer = harness.probe("root/peer")
            ref = await harness.start(Forwarder, name="fwd")
            await peer.expect_no_message(for_=5.0)
            await ref.send(Ping(4))
            with pytest.raises(
                actors.testing.ExpectationFailed,
                match=r"expected no message for 5s; got Pong\(n=4\)",
            ):
                await peer.expect_no_message(for_=5.0)

    async def test_probe_when_asked_replies_with_its_reply_function(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A probe answers asks with ``reply(message)`` and records the message."""
        async with actors.testing.open_harness() as harness:
            risk = harness.probe("root/risk", reply=lambda m: Pong(m.n * 10))
            assert await risk.ref.ask(Ping(3)) == Pong(30)
            assert await risk.expect(Ping) == Ping(3)


class TestCrashAndRestartLog:
    async def test_crash_when_injected_actor_restarts_and_log_shows_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An injected crash goes through the supervisor; the restart log records it."""
        async with actors.testing.open_harness() as harness:
            ref = await harness.start(actors.ChildSpec("echo", factory=Echo))
            await harness.crash(ref)
            crashed = await harness.expect_event(actors.ChildCrashed)
            assert crashed.error_type == "InjectedCrash"
            restarted = await harness.expect_event(
                actors.ChildRestarted, lambda e: e.path == "root/echo"
            )
            assert restarted.restart_count == 1
            assert await ref.ask(Ping(1)) == Pong(1)
            assert [type(e).__name__ for e in harness.restart_log] == [
                "ChildStarted",
                "ChildCrashed",
                "ChildRestarted",
            ]

    async def test_expect_event_when_absent_fails_listing_events_seen(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """expect_event fails readably when the event never comes."""
        async with actors.testing.open_harness() as harness:
            await harness.start(actors.ChildSpec("echo", factory=Echo))
            with pytest.raises(
                actors.testing.ExpectationFailed,
                match=r"restart log expected an event ChildCrashed within 1s; "
                r"got 1 other: ChildStarted",
            ):
                await harness.expect_event(actors.ChildCrashed, within=1.0)

    async def test_crash_when_intensity_exceeded_escalation_is_in_the_log(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The harness records a give-up instead of raising it into the test."""
        async with actors.testing.open_harness() as harness:
            ref = await harness.start(
                actors.ChildSpec("echo", factory=Echo), intensity=actors.Intensity(1, 10.0)
            )
            await harness.crash(ref)
            await harness.crash(ref)
            escalated = await harness.expect_event(actors.SupervisorEscalated)
            assert (escalated.path, escalated.error_type) == ("root", "InjectedCrash")

    async def test_start_when_on_start_raises_raises_child_start_failed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A failing start surfaces as ChildStartFailed from ``start``."""

        class Broken(actors.Actor[Any]):
            async def on_start(self) -> None:
                raise OSError("no network")

        async with actors.testing.open_harness() as harness:
            with pytest.raises(
                actors.ChildStartFailed, match="'root/broken' failed to start: OSError"
            ):
                await harness.start(Broken, name="broken")


async def test_crash_when_actor_is_stuck_fails_readably(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Injecting a crash into an actor stuck on an earlier message fails after ``within``."""

    class Stuck(actors.Actor[Any]):
        async def receive(self, message: Any) -> object:
            await trio.sleep_forever()
            return None

    async with actors.testing.open_harness() as harness:
        ref = await harness.start(actors.ChildSpec("stuck", factory=Stuck, shutdown_timeout=1.0))
        await ref.send("hang")
        with pytest.raises(
            actors.testing.ExpectationFailed, match="'root/stuck' was not logged within 2s"
        ):
            await harness.crash(ref, within=2.0)
