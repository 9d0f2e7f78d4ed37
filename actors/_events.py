"""The restart log: one immutable event per child start, crash, restart, stop and escalation.

Each event is logged as one structlog line and published on ``RESTART_LOG_TOPIC``.
"""

from __future__ import annotations

import collections
from typing import Any

import attrs
import structlog
import trio

RESTART_LOG_TOPIC = "supervisor.events"
"""The bus topic on which every ``SupervisorEvent`` is published."""

_log = structlog.get_logger("actors")


@attrs.frozen
class SupervisorEvent:
    """Common fields of restart-log events."""

    path: str
    """Where in the tree, e.g. ``root/feeds/book``."""
    name: str
    """The child's own name (last path segment)."""
    at: float
    """Trio clock time of the event."""

    event = "actor.event"
    level = "info"


@attrs.frozen
class ChildStarted(SupervisorEvent):
    """A child finished its start hook for the first time in this supervisor run."""

    kind: str = "actor"
    """``actor``, ``thread`` or ``supervisor``."""
    event = "actor.started"


@attrs.frozen
class ChildCrashed(SupervisorEvent):
    """A child raised, while running or while (re)starting (``phase``)."""

    error_type: str = ""
    error_message: str = ""
    restart_count: int = 0
    """Restarts of this child so far (before any restart this crash causes)."""
    phase: str = "run"
    """``run`` or ``start``."""
    location: str = ""
    """Where it was raised: ``file:line in function`` of the innermost frame."""
    event = "actor.crashed"
    level = "warning"


@attrs.frozen
class ChildRestarted(SupervisorEvent):
    """A child was started again after a crash or exit (it recovered)."""

    restart_count: int = 0
    backoff: float = 0.0
    """Seconds waited before this restart."""
    event = "actor.restarted"


@attrs.frozen
class ChildStopped(SupervisorEvent):
    """A child stopped: ``reason`` is ``shutdown``, ``restart`` (a sibling's restart),
    ``exited`` (returned or crashed and is not restarted)."""

    reason: str = "shutdown"
    forced: bool = False
    """It did not stop within its shutdown timeout and was cancelled."""
    abandoned_thread: bool = False
    """A thread actor that did not stop in time was abandoned (still running)."""
    event = "actor.stopped"


@attrs.frozen
class SupervisorEscalated(SupervisorEvent):
    """A supervisor exceeded its restart intensity, stopped its children and gave up."""

    max_restarts: int = 0
    within: float = 0.0
    error_type: str = ""
    error_message: str = ""
    event = "supervisor.escalated"
    level = "error"


def error_location(error: BaseException) -> str:
    """``file:line in function`` of the frame that raised ``error`` ("" if unknown)."""
    tb = error.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"


def event_fields(event: SupervisorEvent) -> dict[str, Any]:
    """The event's fields as a flat dict (for logging and persistence)."""
    return attrs.asdict(event)


class RestartLog:
    """In-memory tail of the restart log (the newest ``capacity`` events) with waiting."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._events: collections.deque[SupervisorEvent] = collections.deque(maxlen=capacity)
        self._lot = trio.lowlevel.ParkingLot()
        self.total = 0
        """Events recorded since the system started (including ones fallen off the tail)."""

    def record(self, event: SupervisorEvent) -> None:
        """Log the event as one structlog line and remember it."""
        getattr(_log, event.level)(event.event, **event_fields(event))
        self._events.append(event)
        self.total += 1
        self._lot.unpark_all()

    def events(self) -> tuple[SupervisorEvent, ...]:
        """The remembered events, oldest first."""
        return tuple(self._events)

    async def wait_for_more(self, seen: int) -> None:
        """Wait until more than ``seen`` events have been recorded in total."""
        while self.total <= seen:
            await self._lot.park()
