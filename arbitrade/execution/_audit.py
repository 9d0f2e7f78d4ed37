"""What the live venue writes to the audit log: REST errors, private-connection stalls and
reconnects, so every fault the exchange throws at the venue is visible after the fact.

:class:`VenueAuditor` turns each occurrence into an :class:`~arbitrade.messages.AuditEvent`
(kind ``venue.<what>``) on a bounded channel that the wiring publishes on ``TOPIC_AUDIT``.
A storm (a rate-limit burst, a flapping connection) is throttled to one event per kind and
subject every :data:`THROTTLE_SECONDS`, carrying how many occurrences it stands for; held-back
occurrences go out when their period is over (:meth:`VenueAuditor.flush_due`), never lost.
Details never hold secrets: endpoints, Kraken's error strings, counts and seconds only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, Protocol, runtime_checkable

import orjson
import structlog
import trio

from actors import Bus
from arbitrade.kraken import RestErrorSeen
from arbitrade.messages import TOPIC_AUDIT, AuditEvent

log = structlog.get_logger(__name__)

VENUE_REST_ERROR: Final = "venue.rest_error"
"""Kraken (or the network) refused a REST call (subject: the error string, such as
``EAPI:Rate limit exceeded``; detail: endpoint, ``retry`` or ``give_up``, attempt, count)."""
VENUE_PRIVATE_STALLED: Final = "venue.private_stalled"
"""The private connection went quiet while up (subject ``heartbeat``: no frame at all;
``executions``: an acknowledged order heard nothing on the executions channel)."""
VENUE_PRIVATE_STALL_ENDED: Final = "venue.private_stall_ended"
"""Frames (or executions) flow again after a stall (subject as for the stall)."""
VENUE_CONNECTION: Final = "venue.connection"
"""The private connection went down or came back (subject ``down`` or ``up``, with why)."""
VENUE_BAD_FRAME: Final = "venue.bad_frame"
"""A frame on the private connection did not decode (subject ``private``; detail: the
reason and the frame's length, never its text). It may have been an execution, so the venue
reconnects: the executions snapshot and the executor's reconciliation rebuild the orders."""
VENUE_KINDS: Final = frozenset(
    {
        VENUE_REST_ERROR,
        VENUE_PRIVATE_STALLED,
        VENUE_PRIVATE_STALL_ENDED,
        VENUE_CONNECTION,
        VENUE_BAD_FRAME,
    }
)
THROTTLE_SECONDS: Final = 5.0
"""At most one audit event per kind and subject in this many seconds."""
ACTOR: Final = "venue.live"
AUDIT_BUFFER: Final = 1000
"""Audit events waiting to be published; more are dropped and counted (never blocks)."""


class VenueAuditor:
    """Throttled audit events of one venue, read from :attr:`events`.

    Args:
        period: the throttle (see the module docstring).
        wall_clock: Unix time, for ``at_wall``.
        buffer: room on the channel (``math.inf``: unbounded); when it is full (nobody
            publishes) events are dropped, counted in :attr:`dropped`, and logged as
            ``venue.audit_dropped``.
    """

    def __init__(
        self,
        *,
        period: float = THROTTLE_SECONDS,
        wall_clock: Callable[[], float] = time.time,
        buffer: float = AUDIT_BUFFER,
    ) -> None:
        self._period = period
        self._wall_clock = wall_clock
        self._send, self.events = trio.open_memory_channel[AuditEvent](buffer)
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.dropped = 0
        """Events lost because the channel was full."""

    def record(self, kind: str, subject: str, now: float, **detail: Any) -> None:
        """One occurrence: published now, or held back and counted (throttle)."""
        key = (kind, subject)
        last = self._last.get(key)
        if last is not None and now - last < self._period:
            held, _ = self._held.get(key, (0, detail))
            self._held[key] = (held + 1, detail)
            return
        self._last[key] = now
        held, _ = self._held.pop(key, (0, detail))
        self._publish(kind, subject, now, 1 + held, detail)

    def rest_error(self, seen: RestErrorSeen, now: float) -> None:
        """A failed REST attempt from :class:`~arbitrade.kraken.KrakenRestClient`."""
        self.record(
            VENUE_REST_ERROR,
            seen.error,
            now,
            endpoint=seen.endpoint,
            action=seen.action,
            attempt=seen.attempt,
            delay=round(seen.delay, 3),
        )

    def flush_due(self, now: float) -> None:
        """Publish held-back occurrences whose period is over (call a few times a second)."""
        ready = [key for key in self._held if now - self._last[key] >= self._period]
        for key in ready:
            count, detail = self._held.pop(key)
            self._last[key] = now
            self._publish(key[0], key[1], now, count, detail)

    def _publish(
        self, kind: str, subject: str, now: float, count: int, detail: dict[str, Any]
    ) -> None:
        text = orjson.dumps({**detail, "count": count}, option=orjson.OPT_SORT_KEYS).decode()
        event = AuditEvent(kind, ACTOR, subject, text, now, self._wall_clock())
        log.info(kind, subject=subject, count=count, **detail)
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self.dropped += 1
            log.warning("venue.audit_dropped", kind=kind, subject=subject, dropped=self.dropped)


@runtime_checkable
class AuditingVenue(Protocol):
    """A venue that audits what it meets (the live venue): the wiring publishes its events."""

    @property
    def audit_events(self) -> trio.MemoryReceiveChannel[AuditEvent]: ...


async def publish_venue_audit(events: trio.MemoryReceiveChannel[AuditEvent], bus: Bus) -> None:
    """Publish every venue audit event on ``TOPIC_AUDIT`` (persisted, and seen by the soak)
    until cancelled or the channel closes; waits when a lossless subscriber is full."""
    async for event in events:
        await bus.publish(TOPIC_AUDIT, event)
