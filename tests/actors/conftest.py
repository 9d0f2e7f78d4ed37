"""Shared message types and actors for the runtime's tests."""

from __future__ import annotations

from typing import Any

import attrs

import actors


@attrs.frozen
class Ping:
    n: int = 0


@attrs.frozen
class Pong:
    n: int = 0


@attrs.frozen
class Boom:
    reason: str = "boom"


class Echo(actors.Actor[Any]):
    """Replies to Ping with Pong; raises on Boom; forwards Pong to peer ``target`` if set."""

    def __init__(self, target: actors.Ref[Any] | None = None) -> None:
        self.target = target

    async def receive(self, message: Any) -> object:
        if isinstance(message, Boom):
            raise RuntimeError(message.reason)
        if isinstance(message, Ping):
            if self.target is not None:
                await self.target.send(Pong(message.n))
            return Pong(message.n)
        return None


class Recorder(actors.Actor[Any]):
    """Appends ("start"|"stop", name) to a shared journal; optional failing start or slow stop."""

    def __init__(
        self,
        journal: list[tuple[str, str]],
        name: str,
        *,
        fail_start: bool = False,
        stop_delay: float = 0.0,
    ) -> None:
        self.journal = journal
        self.name = name
        self.fail_start = fail_start
        self.stop_delay = stop_delay

    async def on_start(self) -> None:
        if self.fail_start:
            raise ValueError(f"{self.name} cannot start")
        self.journal.append(("start", self.name))

    async def receive(self, message: Any) -> object:
        if isinstance(message, Boom):
            raise RuntimeError(message.reason)
        if isinstance(message, Ping):
            return Pong(message.n)
        return None

    async def on_stop(self) -> None:
        self.journal.append(("stop", self.name))
        if self.stop_delay:
            import trio

            await trio.sleep(self.stop_delay)
            self.journal.append(("stopped", self.name))


def recorder_spec(journal: list[tuple[str, str]], name: str, **kwargs: Any) -> actors.ChildSpec:
    """A child spec of a Recorder named ``name``; spec options go in kwargs."""
    actor_options = {k: kwargs.pop(k) for k in ("fail_start", "stop_delay") if k in kwargs}
    return actors.ChildSpec(
        name, factory=lambda: Recorder(journal, name, **actor_options), **kwargs
    )


def kinds(events: tuple[actors.SupervisorEvent, ...]) -> list[tuple[str, str]]:
    """(event name, path) pairs of restart-log events, for order assertions."""
    return [(type(e).__name__, e.path) for e in events]
