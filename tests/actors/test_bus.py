"""The bus: lossless subscribers apply backpressure, lossy-latest ones drop oldest."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import actors


class TestLossless:
    async def test_publish_when_lossless_subscriber_full_waits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A full lossless subscription makes publish wait until it has room."""
        bus = actors.Bus()
        with bus.subscribe("t", actors.Lossless(capacity=2)) as sub:
            await bus.publish("t", 1)
            await bus.publish("t", 2)
            with trio.move_on_after(1.0) as blocked:
                await bus.publish("t", 3)
            assert blocked.cancelled_caught
            assert await sub.receive() == 1
            with trio.fail_after(1.0):
                await bus.publish("t", 3)
            assert [sub.receive_nowait(), sub.receive_nowait()] == [2, 3]
            assert sub.statistics().dropped == 0

    async def test_publish_nowait_when_lossless_full_raises_would_block_and_delivers_nothing(
        self,
    ) -> None:
        """publish_nowait is all-or-nothing when a lossless subscriber is full."""
        bus = actors.Bus()
        with (
            bus.subscribe("t", actors.Lossless(1)) as full,
            bus.subscribe("t", actors.LossyLatest(5)) as lossy,
        ):
            bus.publish_nowait("t", 1)
            with pytest.raises(trio.WouldBlock):
                bus.publish_nowait("t", 2)
            assert lossy.statistics().queued == 1
            assert full.statistics().queued == 1

    async def test_receive_when_cancelled_never_loses_an_event(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A receive cancelled at any point leaves every event for the next receive."""
        bus = actors.Bus()
        with bus.subscribe("t", actors.Lossless(capacity=100)) as sub:
            for n in range(50):
                await bus.publish("t", n)
            received: list[int] = []
            while len(received) < 50:
                with trio.CancelScope() as scope:
                    scope.cancel()  # already cancelled: the receive must not take an event
                    received.append(await sub.receive())
                with trio.move_on_after(0.001):
                    received.append(await sub.receive())
            assert received == list(range(50))


class TestLossyLatest:
    async def test_publish_when_lossy_subscriber_stalls_never_waits_and_counts_drops(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A stalled lossy subscriber keeps the newest events and counts the dropped ones."""
        bus = actors.Bus()
        with bus.subscribe("t", actors.LossyLatest(capacity=3)) as sub:
            start = trio.current_time()
            for n in range(10):
                await bus.publish("t", n)
            assert trio.current_time() == start
            stats = sub.statistics()
            assert (stats.queued, stats.dropped, stats.delivered) == (3, 7, 10)
            assert [sub.receive_nowait() for _ in range(3)] == [7, 8, 9]
        assert bus.statistics().dropped == 7


class TestSubscriptions:
    async def test_subscribe_when_late_gets_only_later_events(self) -> None:
        """A subscriber gets events published after it subscribed, not before."""
        bus = actors.Bus()
        await bus.publish("t", "early")
        with bus.subscribe("t") as sub:
            await bus.publish("t", "late")
            assert sub.receive_nowait() == "late"
            with pytest.raises(trio.WouldBlock):
                sub.receive_nowait()

    async def test_unsubscribe_when_closed_stops_delivery_and_ends_iteration(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Closing a subscription removes it; its iterator ends after the queued events."""
        bus = actors.Bus()
        received: list[int] = []
        async with trio.open_nursery() as nursery:
            sub = bus.subscribe("t")

            async def consume() -> None:
                async for event in sub:
                    received.append(event)

            nursery.start_soon(consume)
            await bus.publish("t", 1)
            await trio.testing.wait_all_tasks_blocked()
            sub.close()
            await bus.publish("t", 2)
        assert received == [1]
        assert bus.statistics().subscriptions == 0

    async def test_publish_when_several_subscribers_each_gets_every_event(self) -> None:
        """Each subscriber of a topic gets each event; other topics are not involved."""
        bus = actors.Bus()
        with (
            bus.subscribe("a") as a1,
            bus.subscribe("a", actors.LossyLatest()) as a2,
            bus.subscribe("b") as b,
        ):
            await bus.publish("a", "x")
            assert a1.receive_nowait() == a2.receive_nowait() == "x"
            assert b.statistics().queued == 0
            stats = bus.statistics()
            assert (stats.topics, stats.subscriptions, stats.published) == (2, 3, 1)
            assert [s.policy for s in bus.subscriptions("a")] == ["lossless", "lossy_latest"]


class TestForward:
    async def test_forward_when_topics_interleave_fills_the_mailbox_in_publish_order(
        self,
    ) -> None:
        """Forwarded events land in the mailbox at publish time, in publish order."""
        bus = actors.Bus()
        ref: actors.Ref[object] = actors.Ref("root/sink", actors.Mailbox(capacity=10))
        with bus.forward("a", ref) as first, bus.forward("b", ref):
            await bus.publish("a", 1)
            await bus.publish("b", 2)
            bus.publish_nowait("a", 3)
            assert [ref._receive.receive_nowait() for _ in range(3)] == [1, 2, 3]
            assert first.statistics().delivered == 2
            assert first.statistics().queued == 0

    async def test_publish_when_forwarded_mailbox_full_waits_for_room(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A full backpressure mailbox makes publish wait; publish_nowait raises."""
        bus = actors.Bus()
        ref: actors.Ref[object] = actors.Ref("root/sink", actors.Mailbox(capacity=1))
        with bus.forward("t", ref):
            await bus.publish("t", 1)
            with pytest.raises(trio.WouldBlock):
                bus.publish_nowait("t", 2)
            with trio.move_on_after(1.0) as blocked:
                await bus.publish("t", 2)
            assert blocked.cancelled_caught
            assert ref._receive.receive_nowait() == 1
            with trio.fail_after(1.0):
                await bus.publish("t", 2)
            assert ref._receive.receive_nowait() == 2

    async def test_publish_when_forwarding_closed_or_actor_stopped_delivers_nothing(
        self,
    ) -> None:
        """A closed forward gets nothing more; a stopped actor's events are dropped quietly."""
        bus = actors.Bus()
        ref: actors.Ref[object] = actors.Ref("root/sink", actors.Mailbox(capacity=10))
        stopped: actors.Ref[object] = actors.Ref("root/gone", actors.Mailbox(capacity=10))
        stopped._close()
        bus.forward("t", stopped)
        with bus.forward("t", ref):
            await bus.publish("t", 1)
        await bus.publish("t", 2)
        assert ref._receive.receive_nowait() == 1
        with pytest.raises(trio.WouldBlock):
            ref._receive.receive_nowait()
