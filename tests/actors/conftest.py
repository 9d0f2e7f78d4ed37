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
