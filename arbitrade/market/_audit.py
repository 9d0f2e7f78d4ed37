"""What a feed writes to the audit log when the exchange misbehaves, and how often.

A feed detects bad frames, checksum mismatches, exchange status changes, slow
acknowledgements, stalled channels and reading behind the exchange (lag); each becomes an
:class:`~arbitrade.messages.AuditEvent` (kind ``feed.<what>``) so an operator and the fault
soak can see it after the fact, not only in the log. :class:`AuditThrottle` keeps a flood
(a burst of garbage frames) to one event per kind and subject every few seconds, carrying how
many occurrences it stands for (a lag episode's start and end are not throttled: the lag's
own hysteresis keeps them apart).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Final

import attrs
import orjson

from arbitrade.messages import AuditEvent

AUDIT_BAD_FRAME: Final = "feed.bad_frame"
"""A frame that was garbage, truncated or malformed (subject: the feed's channel)."""
AUDIT_CHECKSUM_MISMATCH: Final = "feed.checksum_mismatch"
"""A book failed its checksum and is resubscribed (subject: the symbol)."""
AUDIT_EXCHANGE_STATUS: Final = "feed.exchange_status"
"""The exchange's engine state changed (subject: ``maintenance``, ``cancel_only``, ...)."""
AUDIT_SLOW_ACK: Final = "feed.slow_ack"
"""Kraken held a request longer than allowed before answering (subject: the method)."""
AUDIT_STALLED: Final = "feed.stalled"
"""A subscribed channel went quiet while the connection stayed up (subject: the channel)."""
AUDIT_STALL_ENDED: Final = "feed.stall_ended"
"""Data flows again on a channel that was stalled (subject: the channel)."""
AUDIT_LAGGING: Final = "feed.lagging"
"""The feed reads frames further behind the exchange's stamps than ``max_lag`` (subject: the
channel; ``lag_seconds``). The book feed's books are stale until ``feed.caught_up``."""
AUDIT_CAUGHT_UP: Final = "feed.caught_up"
"""A lagging feed is back within ``caught_up_lag`` (subject: the channel; ``lag_seconds``,
``worst_lag_seconds``, ``lagged_seconds``, and ``exchange_clock_behind``: true when the lag
was the exchange's clock falling behind, seen as a lag with no backlog to read)."""

THROTTLE_SECONDS: Final = 5.0
"""At most one audit event per kind and subject in this many seconds."""


@attrs.define
class AuditThrottle:
    """One audit event per ``(kind, subject)`` per ``period`` seconds; the rest are counted.

    :meth:`admit` answers how many occurrences the event about to be published stands for
    (this one plus those held back since the last), or 0 when it must be held back. Held-back
    occurrences are not lost when no further one comes: :meth:`due` hands them out once their
    period is over (the feed calls it a few times a second).
    """

    period: float = THROTTLE_SECONDS
    _last: dict[tuple[str, str], float] = attrs.field(factory=dict)
    _held: dict[tuple[str, str], tuple[int, dict[str, Any]]] = attrs.field(factory=dict)

    def admit(self, kind: str, subject: str, now: float, detail: dict[str, Any]) -> int:
        """Occurrences to report now, or 0 if the event is held back (counted, with the
        latest ``detail``)."""
        key = (kind, subject)
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            held, _ = self._held.get(key, (0, detail))
            self._held[key] = (held + 1, detail)
            return 0
        self._last[key] = now
        held, _ = self._held.pop(key, (0, detail))
        return 1 + held

    def drain(self) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Every held-back event now, due or not (the feed is stopping: its throttle dies
        with this incarnation, and what it held must not die with it)."""
        out = [(key[0], key[1], count, detail) for key, (count, detail) in self._held.items()]
        self._held.clear()
        return out

    def due(self, now: float) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Held-back events whose period is over: ``(kind, subject, count, detail)`` each."""
        ready = [key for key in self._held if now - self._last[key] >= self.period]
        out = []
        for key in ready:
            count, detail = self._held.pop(key)
            self._last[key] = now
            out.append((key[0], key[1], count, detail))
        return out


def feed_audit(kind: str, actor: str, subject: str, now: float, **detail: Any) -> AuditEvent:
    """An audit event of a feed, ``detail`` as sorted JSON (values must be JSON-able)."""
    text = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
    return AuditEvent(kind, actor, subject, text, now, time.time())


def exchange_seconds(time_in: str | None, time_out: str | None) -> float | None:
    """Seconds Kraken held a request (``time_out - time_in``, both RFC 3339), None if unknown.

    Kraken stamps ``time_in`` when the request arrived and ``time_out`` when it answered, so
    this is the exchange's own delay, free of our network and of our own backlog. An
    unparsable stamp gives None (never an error: these stamps are informational).
    """
    if not time_in or not time_out:
        return None
    try:
        began = dt.datetime.fromisoformat(time_in)
        ended = dt.datetime.fromisoformat(time_out)
    except ValueError:
        return None
    return (ended - began).total_seconds()
