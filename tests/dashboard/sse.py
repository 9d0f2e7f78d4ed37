"""Drive an SSE route through the ASGI interface, as a browser tab would: read, stall, close.

Quart's test connection waits for the body's end on exit, which an endless stream never
sends; this helper instead disconnects like a closed tab and waits for the app to finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from quart import Quart


class Stream:
    """The client side of one streaming response."""

    def __init__(self, chunks: trio.MemoryReceiveChannel[dict[str, Any]]) -> None:
        self._chunks = chunks
        self.status: int | None = None

    async def receive(self) -> bytes:
        """The next body chunk (the response start is recorded on the way)."""
        while True:
            message = await self._chunks.receive()
            if message["type"] == "http.response.start":
                self.status = message["status"]
                continue
            body: bytes = message.get("body", b"")
            return body

    async def read_event(self, name: str) -> str:
        """Chunks until an SSE frame of event ``name``; that frame as text."""
        while True:
            chunk = (await self.receive()).decode()
            if f"event: {name}" in chunk:
                return chunk


@asynccontextmanager
async def open_stream(app: Quart, target: str, *, window: int = 4) -> AsyncIterator[Stream]:
    """GET ``target``; ``window`` chunks may wait unread before the app's writes block."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "asgi": {"spec_version": "2.1"},
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"dashboard.test"), (b"accept", b"text/event-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 9090),
        "extensions": {},
    }
    to_app, from_client = trio.open_memory_channel[dict[str, Any]](4)
    to_client, from_app = trio.open_memory_channel[dict[str, Any]](window)
    await to_app.send({"type": "http.request", "body": b"", "more_body": False})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, scope, from_client.receive, to_client.send)
        try:
            yield Stream(from_app)
        finally:
            await to_app.send({"type": "http.disconnect"})
