"""Context.publish and Context.tell: a handler's sends yield only to wait for room."""

from __future__ import annotations

import trio
import trio.testing

import actors
from actors._actor import Context
from actors._registry import Registry


def _context(bus: actors.Bus) -> Context:
    return Context(actors.Ref("root/me"), bus, Registry())


class TestPublish:
    async def test_publish_when_every_subscriber_has_room_delivers_without_a_schedule_point(
        self,
    ) -> None:
        """With room everywhere, publish delivers even inside a cancelled scope (no yield)."""
        bus = actors.Bus()
        with bus.subscribe("t", actors.Lossless(2)) as sub:
            with trio.CancelScope() as scope:
                scope.cancel()
                await _context(bus).publish("t", 1)
            assert sub.receive_nowait() == 1

    async def test_publish_when_a_subscriber_is_full_waits_for_room(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A full lossless subscriber makes publish wait, as Bus.publish does."""
        bus = actors.Bus()
        context = _context(bus)
        with bus.subscribe("t", actors.Lossless(1)) as sub:
            await context.publish("t", 1)
            with trio.move_on_after(1.0) as blocked:
                await context.publish("t", 2)
            assert blocked.cancelled_caught
            assert sub.receive_nowait() == 1
            with trio.fail_after(1.0):
                await context.publish("t", 2)
            assert sub.receive_nowait() == 2


class TestTell:
    async def test_tell_when_mailbox_has_room_queues_without_a_schedule_point(self) -> None:
        """With room, tell queues the message even inside a cancelled scope (no yield)."""
        ref: actors.Ref[object] = actors.Ref("root/peer", actors.Mailbox(capacity=1))
        with trio.CancelScope() as scope:
            scope.cancel()
            await _context(actors.Bus()).tell(ref, "hello")
        assert ref._receive.receive_nowait() == "hello"

    async def test_tell_when_mailbox_is_full_waits_for_room(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A full backpressure mailbox makes tell wait, as Ref.send does."""
        ref: actors.Ref[object] = actors.Ref("root/peer", actors.Mailbox(capacity=1))
        context = _context(actors.Bus())
        await context.tell(ref, 1)
        with trio.move_on_after(1.0) as blocked:
            await context.tell(ref, 2)
        assert blocked.cancelled_caught
        assert ref._receive.receive_nowait() == 1
        with trio.fail_after(1.0):
            await context.tell(ref, 2)
        assert ref._receive.receive_nowait() == 2
