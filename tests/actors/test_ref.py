"""Refs: send with backpressure, send_nowait overflow policies, ask, and debug checks."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors

from .conftest import Boom, Echo, Ping, Pong


def one(spec: actors.ChildSpec, **options: Any) -> actors.SupervisorSpec:
    return actors.SupervisorSpec("root", [spec], **options)


class Gate(actors.Actor[Any]):
    """Handles nothing until its gate opens (keeps its mailbox filling up)."""

    gate: trio.Event

    async def on_start(self) -> None:
        self.handled: list[Any] = []

    async def receive(self, message: Any) -> object:
        await Gate.gate.wait()
        return message


@pytest.fixture
def gate() -> trio.Event:
    Gate.gate = trio.Event()
    return Gate.gate


def gated(
    capacity: int, overflow: actors.Overflow = actors.Overflow.RAISE
) -> actors.SupervisorSpec:
    return one(actors.ChildSpec("g", factory=Gate, mailbox=actors.Mailbox(capacity, overflow)))


class TestSend:
    async def test_send_when_mailbox_full_waits_for_room(
        self, autojump_clock: trio.testing.MockClock, gate: trio.Event
    ) -> None:
        """``send`` blocks while the mailbox is full and resumes when there is room."""
        async with actors.open_system(gated(2)) as system:
            ref = system.registry.lookup("root/g")
            for n in range(3):  # one in hand, two queued
                await ref.send(n)
            with trio.move_on_after(1.0) as blocked:
                await ref.send(3)
            assert blocked.cancelled_caught
            assert ref.statistics().queued == 2
            gate.set()
            with trio.fail_after(1.0):
                await ref.send(3)

    async def test_send_nowait_when_mailbox_full_raises_mailbox_full(
        self, autojump_clock: trio.testing.MockClock, gate: trio.Event
    ) -> None:
        """With Overflow.RAISE, send_nowait on a full mailbox raises MailboxFull (a WouldBlock)."""
        async with actors.open_system(gated(1)) as system:
            ref = system.registry.lookup("root/g")
            ref.send_nowait(0)
            await trio.testing.wait_all_tasks_blocked()
            ref.send_nowait(1)
            with pytest.raises(actors.MailboxFull, match="root/g") as caught:
                ref.send_nowait(2)
            assert isinstance(caught.value, trio.WouldBlock)
            gate.set()

    async def test_send_nowait_when_drop_newest_drops_and_counts(
        self, autojump_clock: trio.testing.MockClock, gate: trio.Event
    ) -> None:
        """Overflow.DROP_NEWEST drops the new message and counts it; it never waits."""
        async with actors.open_system(gated(2, actors.Overflow.DROP_NEWEST)) as system:
            ref = system.registry.lookup("root/g")
            await ref.send(0)
            await trio.testing.wait_all_tasks_blocked()
            for n in range(1, 6):
                await ref.send(n)
            stats = ref.statistics()
            assert (stats.queued, stats.dropped) == (2, 3)
            gate.set()

    async def test_send_nowait_when_drop_oldest_keeps_the_latest(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Overflow.DROP_OLDEST keeps the newest messages and fails a dropped ask."""
        seen: list[int] = []
        gate = trio.Event()

        class Latest(actors.Actor[int]):
            async def receive(self, message: int) -> object:
                await gate.wait()
                seen.append(message)
                return None

        mailbox = actors.Mailbox(2, actors.Overflow.DROP_OLDEST)
        async with actors.open_system(
            one(actors.ChildSpec("l", factory=Latest, mailbox=mailbox))
        ) as system:
            ref = system.registry.lookup("root/l")
            ref.send_nowait(0)
            await trio.testing.wait_all_tasks_blocked()
            for n in range(1, 6):
                ref.send_nowait(n)
            assert ref.statistics().dropped == 3
            gate.set()
            await trio.testing.wait_all_tasks_blocked()
        assert seen == [0, 4, 5]


class TestAsk:
    async def test_ask_when_actor_replies_returns_receive_value(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The value returned by ``receive`` is the reply."""
        async with actors.open_system(one(actors.ChildSpec("e", factory=Echo))) as system:
            assert await system.registry.lookup("root/e").ask(Ping(5)) == Pong(5)

    async def test_ask_when_no_reply_in_time_raises_ask_timeout_naming_actor(
        self, autojump_clock: trio.testing.MockClock, gate: trio.Event
    ) -> None:
        """An ask without reply within its timeout raises AskTimeout (a TooSlowError)."""
        async with actors.open_system(gated(10)) as system:
            ref = system.registry.lookup("root/g")
            with pytest.raises(
                actors.AskTimeout, match=r"'root/g' did not reply to int within 0.5s"
            ) as caught:
                await ref.ask(1, timeout=0.5)
            assert isinstance(caught.value, trio.TooSlowError)
            gate.set()  # the late reply is dropped without error
            await trio.testing.wait_all_tasks_blocked()

    async def test_ask_when_actor_crashes_raises_actor_crashed_with_cause(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The asker of a message that crashes the actor gets ActorCrashed from the error."""
        async with actors.open_system(one(actors.ChildSpec("e", factory=Echo))) as system:
            ref = system.registry.lookup("root/e")
            with pytest.raises(actors.ActorCrashed, match="RuntimeError: kaput") as caught:
                await ref.ask(Boom("kaput"))
            assert isinstance(caught.value.__cause__, RuntimeError)
            assert await ref.ask(Ping(1)) == Pong(1)  # restarted

    async def test_ask_when_actor_stopped_raises_actor_stopped(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Asking a stopped actor fails at once."""
        async with actors.open_system(one(actors.ChildSpec("e", factory=Echo))) as system:
            ref = system.registry.lookup("root/e")
        with pytest.raises(actors.ActorStopped, match="root/e"):
            await ref.ask(Ping(1))


@attrs.define
class Mutable:
    items: list[int]


@attrs.frozen
class Wrapper:
    inner: Any


class TestDebugChecks:
    @pytest.mark.parametrize(
        ("message", "where"),
        [
            ([1, 2], "list"),
            (Mutable([1]), "Mutable"),
            (Wrapper(inner={"a": 1}), "Wrapper.inner"),
            (Wrapper(inner=(1, [2])), "Wrapper.inner[1]"),
        ],
    )
    async def test_send_when_debug_and_message_mutable_raises_naming_the_field(
        self, autojump_clock: trio.testing.MockClock, message: object, where: str
    ) -> None:
        """In debug mode a mutable message is rejected, naming where it is mutable."""
        async with actors.open_system(
            one(actors.ChildSpec("e", factory=Echo)), debug=True
        ) as system:
            with pytest.raises(actors.MutableMessage) as caught:
                await system.registry.lookup("root/e").send(message)
        assert caught.value.where == where

    async def test_send_when_debug_and_message_frozen_is_accepted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Frozen attrs values, tuples and scalars pass the debug check."""
        async with actors.open_system(
            one(actors.ChildSpec("e", factory=Echo)), debug=True
        ) as system:
            await system.registry.lookup("root/e").send(
                Wrapper(inner=(1, "a", Pong(2), frozenset({3})))
            )

    async def test_send_when_not_debug_skips_the_check(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without debug mode nothing is checked (the hot path stays lean)."""
        async with actors.open_system(
            one(actors.ChildSpec("e", factory=Echo)), debug=False
        ) as system:
            await system.registry.lookup("root/e").send([1, 2])


class TestContext:
    async def test_lookup_when_sibling_named_returns_its_ref(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An actor finds a sibling by name and any actor by path."""
        found: list[str] = []

        class Finder(actors.Actor[Any]):
            async def on_start(self) -> None:
                found.append(self.context.lookup("echo").path)
                found.append(self.context.lookup("root/echo").path)

        spec = actors.SupervisorSpec(
            "root",
            [actors.ChildSpec("finder", factory=Finder), actors.ChildSpec("echo", factory=Echo)],
        )
        async with actors.open_system(spec):
            pass
        assert found == ["root/echo", "root/echo"]

    async def test_lookup_when_unknown_raises_actor_not_found_listing_known(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """ActorNotFound names the missing path and the known ones."""
        async with actors.open_system(one(actors.ChildSpec("e", factory=Echo))) as system:
            with pytest.raises(actors.ActorNotFound, match=r"'root/nope'; known: root/e"):
                system.registry.lookup("root/nope")
