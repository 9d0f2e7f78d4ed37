"""Server-sent event streams of bus topics, one lossy-latest subscription per browser tab.

The subscription is made when the stream starts and closed when it ends, whether the client
went away (Hypercorn cancels the response) or the server stops, so a closed tab leaves
nothing behind and a stalled tab only loses its own oldest events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import trio

from actors import Bus, LossyLatest

KEEPALIVE_SECONDS = 15.0
"""A comment line is sent after this long without events, so proxies keep the stream open."""

type Render = Callable[[object], Awaitable[tuple[str, str] | None]]
"""Turns a bus message into ``(event name, HTML)``, or None to skip it."""


def sse_event(event: str, data: str) -> bytes:
    """One SSE frame: ``event:`` then a ``data:`` line per line of ``data``."""
    lines = [f"event: {event}"]
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


async def topic_stream(
    bus: Bus,
    topic: str,
    render: Render,
    *,
    capacity: int,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """Yield SSE frames for messages on ``topic`` as they arrive.

    The first frame is a ``retry`` hint, sent once subscribed. ``capacity`` bounds the
    events queued for a slow client (the oldest are dropped; 1 keeps only the latest).
    """
    subscription = bus.subscribe(topic, LossyLatest(capacity))
    try:
        yield b"retry: 3000\n\n"
        while True:
            message: object = None
            with trio.move_on_after(keepalive):
                message = await subscription.receive()
            if message is None:
                yield b": keepalive\n\n"
                continue
            rendered = await render(message)
            if rendered is not None:
                yield sse_event(*rendered)
    finally:
        subscription.close()
