"""Fault knobs: ways the simulator misbehaves on purpose, settable at start and while running.

Counters (``corrupt_checksums``, ``garbage_frames``, ...) count down as faults are delivered,
so a test can ask for exactly one and see exactly one. The server reads these settings on every
frame; :meth:`arbitrade.sim.Simulator.set_faults` changes them and broadcasts status changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from arbitrade.sim._errors import SimConfigError

SYSTEM_STATES = ("online", "maintenance", "cancel_only", "post_only")
STALLABLE_CHANNELS = frozenset(
    {"book", "ticker", "trade", "ohlc", "instrument", "executions", "heartbeat", "status"}
)


@attrs.define
class FaultSettings:
    """The current faults. Every field's default means "behave"."""

    stalled_channels: frozenset[str] = frozenset()
    """Channels whose messages are withheld (connections stay open; acks still flow)."""
    corrupt_checksums: int = 0
    """The next N book messages (snapshot or update) carry a wrong checksum."""
    garbage_frames: int = 0
    """The next N outgoing frames are preceded by a frame of non-JSON garbage."""
    truncated_frames: int = 0
    """The next N outgoing channel messages are cut in half (invalid JSON)."""
    ack_delay_seconds: float = 0.0
    """Delay before every WebSocket acknowledgement and every REST answer."""
    rate_limit_errors: int = 0
    """The next N private REST calls answer ``EAPI:Rate limit exceeded``."""
    nonce_errors: int = 0
    """The next N private REST calls answer ``EAPI:Invalid nonce``."""
    system_status: str = "online"
    """Engine state: online, maintenance, cancel_only or post_only (REST, WS status, trading)."""
    drop_every_seconds: float = 0.0
    """Close every WebSocket connection this often (0: never)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for GET /sim/faults)."""
        data = attrs.asdict(self)
        data["stalled_channels"] = sorted(self.stalled_channels)
        return data


_INT_FIELDS = (
    "corrupt_checksums",
    "garbage_frames",
    "truncated_frames",
    "rate_limit_errors",
    "nonce_errors",
)
_FLOAT_FIELDS = ("ack_delay_seconds", "drop_every_seconds")


def apply_fault_changes(current: FaultSettings, changes: Mapping[str, Any]) -> FaultSettings:
    """Validate ``changes`` (field name to new value) and return the updated settings.

    ``drop_connections`` is not a setting but an action and is ignored here.

    Raises:
        SimConfigError: an unknown field, a value of the wrong type or out of range; nothing
            is changed then.
    """
    updated = attrs.evolve(current)
    for name, value in changes.items():
        if name == "drop_connections":
            continue
        if name in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SimConfigError(name, f"expected a whole number >= 0, got {value!r}")
            setattr(updated, name, value)
        elif name in _FLOAT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise SimConfigError(name, f"expected a number >= 0, got {value!r}")
            setattr(updated, name, float(value))
        elif name == "system_status":
            if value not in SYSTEM_STATES:
                raise SimConfigError(name, f"expected one of {', '.join(SYSTEM_STATES)}")
            updated.system_status = value
        elif name == "stalled_channels":
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise SimConfigError(name, "expected a list of channel names")
            unknown = sorted(set(value) - STALLABLE_CHANNELS)
            if unknown:
                raise SimConfigError(name, f"unknown channel {unknown[0]!r}")
            updated.stalled_channels = frozenset(value)
        else:
            raise SimConfigError(name, "no such fault knob")
    return updated
