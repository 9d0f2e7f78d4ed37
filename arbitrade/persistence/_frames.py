"""Recorded raw market frames: what the recorder publishes and the sink stores for backtests."""

from __future__ import annotations

from typing import Final

import attrs

TOPIC_RECORDED_FRAMES: Final = "market.frames.recorded"
"""Bus topic of :class:`RecordedFrame` (published by the recorder when recording is on)."""


@attrs.frozen
class RecordedFrame:
    """One raw WebSocket frame as it arrived, with both clocks, for exact replay.

    ``received_wall_ns`` is Unix time in nanoseconds (``time.time_ns()``), for humans and
    archiving; ``received_monotonic_ns`` is the monotonic receive time in nanoseconds (the
    Trio clock, ``received_at`` of the messages it caused times 1e9), for replay timing.
    """

    received_wall_ns: int
    received_monotonic_ns: int
    connection_id: str
    """Which connection carried it (a feed may reconnect; replay keeps them apart)."""
    channel: str
    """Kraken channel name (``book``, ``ticker``, ``status``...) or ``""`` if unknown."""
    payload: str
    """The frame's text exactly as received."""
