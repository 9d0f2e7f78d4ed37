"""The pykka bridge: a ThreadingActor as a supervised child, reached by an ordinary Ref.

These tests run on the real clock: a virtual clock would jump ahead while a thread works.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest
import trio

import actors

from .conftest import Echo, Ping, Pong


class Store(pykka.ThreadingActor):
    """A blocking actor: waits on ``gate`` for "wait", raises for "boom", else echoes."""

    use_daemon_thread = True

    def __init__(self, gate: threading.Event | None = None, fail_start: bool = False) -> None:
        super().__init__()
        self.gate = gate
        self.fail_start = fail_start

    def on_start(self) -> None:
        if self.fail_start:
            raise OSError("cannot open the database")

    def on_receive(self, message: Any) -> Any:
        if message == "wait":
            assert self.gate is not None
            self.gate.wait()
            return "done"
        if message == "boom":
            raise RuntimeError("disk on fire")
        if message == "urn":
            return self.actor_urn
        return ("stored", message)


def tree(*children: actors.ChildSpec) -> actors.SupervisorSpec:
    return actors.SupervisorSpec("root", children)


async def test_thread_child_when_asked_replies_through_the_ref() -> None:
    """A Trio caller asks the pykka actor through a Ref and gets its reply."""
    async with actors.open_system(tree(actors.ThreadChild("db", Store))) as system:
        db = system.registry.lookup("root/db")
        assert await db.ask("x", timeout=5.0) == ("stored", "x")
        await db.send("y")
        assert system.registry.snapshot()[-1].kind == "thread"


async def test_thread_child_when_blocked_does_not_stall_trio_actors() -> None:
    """While the pykka actor blocks in a call, Trio actors keep answering."""
    gate = threading.Event()
    spec = tree(
        actors.ThreadChild("db", Store, kwargs={"gate": gate}),
        actors.ChildSpec("echo", factory=Echo),
    )
    async with actors.open_system(spec) as system, trio.open_nursery() as nursery:
        db, echo = system.registry.lookup("root/db"), system.registry.lookup("root/echo")
        replies: list[object] = []

        async def slow() -> None:
            replies.append(await db.ask("wait", timeout=10.0))

        nursery.start_soon(slow)
        for n in range(20):
            assert await echo.ask(Ping(n), timeout=1.0) == Pong(n)
        assert replies == []
        gate.set()
    assert replies == ["done"]


async def test_thread_child_when_it_raises_is_restarted_with_a_new_thread_actor() -> None:
    """A pykka exception is a crash: the caller gets ActorCrashed and a new actor starts."""
    async with actors.open_system(tree(actors.ThreadChild("db", Store))) as system:
        db = system.registry.lookup("root/db")
        first = await db.ask("urn")
        with pytest.raises(actors.ActorCrashed, match="disk on fire"):
            await db.ask("boom")
        with trio.fail_after(5.0):
            second = await db.ask("urn")
        assert first != second
    names = [(type(e).__name__, getattr(e, "kind", "")) for e in system.restart_log.events()]
    assert names[:3] == [("ChildStarted", "thread"), ("ChildCrashed", ""), ("ChildRestarted", "")]


async def test_thread_child_when_on_start_fails_raises_child_start_failed() -> None:
    """A pykka actor whose on_start raises fails the start of the tree."""
    with pytest.raises(actors.ChildStartFailed, match=r"root/db.*OSError") as caught:
        async with actors.open_system(
            tree(actors.ThreadChild("db", Store, kwargs={"fail_start": True}))
        ):
            pass
    assert isinstance(caught.value.__cause__, OSError)


async def test_thread_child_when_it_will_not_stop_is_abandoned_and_logged() -> None:
    """A thread stuck past its shutdown timeout is abandoned; the restart log says so."""
    gate = threading.Event()
    spec = tree(actors.ThreadChild("db", Store, kwargs={"gate": gate}, shutdown_timeout=0.2))
    try:
        async with actors.open_system(spec) as system:
            await system.registry.lookup("root/db").send("wait")
            await trio.sleep(0.05)
        stopped = [e for e in system.restart_log.events() if isinstance(e, actors.ChildStopped)]
        assert stopped[-1].forced
        assert stopped[-1].abandoned_thread
    finally:
        gate.set()
