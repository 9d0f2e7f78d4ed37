"""The on-disk shape of a recording: one row per raw WebSocket frame, in Parquet.

Files live under ``DIR/day=YYYY-MM-DD/channel=NAME/`` (Hive partitions: DuckDB reads them with
``read_parquet('DIR/**/*.parquet', hive_partitioning = true)``), zstd-compressed, one file per
recording session, channel and day (rotated after a number of rows). Each row keeps the frame's
text exactly as received plus what replay needs to order it.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import pyarrow as pa

_FIELDS: list[pa.Field[Any]] = [
    pa.field("session", pa.string(), nullable=False),
    pa.field("seq", pa.int64(), nullable=False),
    pa.field("received_wall_ns", pa.int64(), nullable=False),
    pa.field("received_monotonic_ns", pa.int64(), nullable=False),
    pa.field("connection_id", pa.string(), nullable=False),
    pa.field("symbol", pa.string(), nullable=False),
    pa.field("payload", pa.string(), nullable=False),
]
SCHEMA: Final = pa.schema(
    _FIELDS,
    metadata={
        b"arbitrade.recording": b"1",
        b"session": b"recording session id: one recorder run (its monotonic clock)",
        b"seq": b"arrival order within the session: ties at equal times resolve by it",
        b"received_wall_ns": b"Unix time of receipt, ns",
        b"received_monotonic_ns": b"monotonic (Trio clock) time of receipt, ns",
    },
)
"""Columns of every recording file (the partition keys ``day`` and ``channel`` are in the path)."""

COMPRESSION: Final = "zstd"
METHOD_PREFIX: Final = "method-"
"""Channel name given to responses (``method-subscribe``, ``method-pong``): replay skips them
and answers the client's requests itself."""


def classify(payload: str | bytes) -> tuple[str, str]:
    """``(channel, symbol)`` of a raw frame: the Kraken channel (or ``method-<name>`` for a
    response, ``unknown`` for anything unreadable) and the symbol of its first data item
    (``""`` when it has none)."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return "unknown", ""
    if not isinstance(obj, dict):
        return "unknown", ""
    channel = obj.get("channel")
    if not isinstance(channel, str) or not channel:
        method = obj.get("method")
        return (f"{METHOD_PREFIX}{method}" if isinstance(method, str) else "unknown"), ""
    data = obj.get("data")
    symbol = ""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        found = data[0].get("symbol")
        symbol = found if isinstance(found, str) else ""
    return _safe(channel), symbol


def _safe(channel: str) -> str:
    """A channel name usable as a folder name."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in channel)[:40] or "unknown"
