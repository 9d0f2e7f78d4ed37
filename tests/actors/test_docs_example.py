"""The example in docs/runtime.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "runtime.md"


def test_docs_example_when_run_as_written_succeeds() -> None:
    """The first python block of docs/runtime.md (the supervised tree) runs to completion."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    example = blocks[0]
    assert "SupervisorSpec" in example
    assert 20 <= len(example.strip().splitlines()) <= 50
    exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})


def test_docs_harness_example_when_run_passes() -> None:
    """The harness example of docs/runtime.md passes against a small forwarding actor."""
    from typing import Any

    import trio
    import trio.testing

    import actors
    import actors.testing

    from .conftest import Ping, Pong

    class Forwarder(actors.Actor[Any]):
        def __init__(self, peer: actors.Ref[Any]) -> None:
            self.peer = peer

        async def receive(self, message: Any) -> object:
            await self.peer.send(Pong(message.n))
            return None

    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {
        "actors": actors,
        "Forwarder": Forwarder,
        "Ping": Ping,
        "Pong": Pong,
    }
    exec(compile(blocks[1], str(DOC), "exec"), namespace)
    test = namespace["test_forwarder_when_pinged_sends_pong"]
    trio.run(test, None, clock=trio.testing.MockClock(autojump_threshold=0))
