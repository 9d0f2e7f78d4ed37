"""Reading the restart log back: what crashed, why, how often, and whether it recovered.

The restart log is written twice by the running bot (``actors._events``): as structlog JSON
lines (``LOG_JSON=true``) and as rows of the ``supervisor_events`` table. Both readers here
produce the same :class:`RestartEvent` values; :func:`summarise` folds them into one
:class:`ActorRestarts` per actor path, the rows of ``arbitrade ops restarts``.

Times differ by source. Log lines carry a wall-clock ``timestamp`` (UTC), so a window is
measured back from now. Table rows carry only the Trio clock (``at_monotonic``, meaningful
within one run of the bot), so a window is measured back from the newest row.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import duckdb
import orjson

STARTED = "actor.started"
CRASHED = "actor.crashed"
RESTARTED = "actor.restarted"
STOPPED = "actor.stopped"
ESCALATED = "supervisor.escalated"
RESTART_EVENTS = frozenset({STARTED, CRASHED, RESTARTED, STOPPED, ESCALATED})
"""The event names of the restart log (``actors._events``)."""


class RestartLogError(Exception):
    """The restart log cannot be read.

    Exception tree::

        RestartLogError(Exception)
        ├── LogFileUnreadable     the JSON log file is missing or unreadable
        └── DatabaseUnreadable    the DuckDB file cannot be opened or has no restart log
    """


class LogFileUnreadable(RestartLogError):
    """The JSON log file is missing or unreadable."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read the log file {path}: {reason}")
        self.path = path


class DatabaseUnreadable(RestartLogError):
    """The DuckDB file cannot be opened (missing, locked by the running bot) or has no
    ``supervisor_events`` table."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read the restart log in {path}: {reason}")
        self.path = path


class Clock(enum.Enum):
    """What a :class:`RestartEvent`'s ``at`` is measured on."""

    WALL = "wall"
    """Unix seconds (log lines' ``timestamp``)."""
    TRIO = "trio"
    """The bot's Trio clock in one run (table rows' ``at_monotonic``)."""


class Recovery(enum.StrEnum):
    """What became of an actor after its last crash."""

    RECOVERED = "recovered"
    """It was started again after the crash."""
    GAVE_UP = "gave up"
    """Its supervisor (or an ancestor) escalated after the crash: nothing restarted it."""
    NOT_RESTARTED = "not restarted"
    """It stopped for good (temporary or transient child), no restart followed."""
    PENDING = "no restart yet"
    """Nothing followed the crash in the log (backing off, or the log ends there)."""
    NO_CRASH = "-"
    """It did not crash in the window (a supervisor that escalated, say)."""


@attrs.frozen
class RestartEvent:
    """One restart-log event, from a log line or a table row."""

    event: str
    path: str
    at: float
    clock: Clock
    error_type: str = ""
    error_message: str = ""
    restart_count: int = 0
    reason: str = ""


@attrs.frozen
class ActorRestarts:
    """The restart history of one actor path within the window."""

    path: str
    crashes: int
    restarts: int
    escalations: int
    """Times this path (a supervisor) gave up."""
    errors: tuple[tuple[str, int], ...]
    """Crash causes (``Type: message``) with their counts, most frequent first."""
    first_crash: float | None
    last_crash: float | None
    last_error: str
    recovery: Recovery


@attrs.frozen
class RestartReport:
    """What ``arbitrade ops restarts`` prints: one row per actor that crashed or gave up."""

    rows: tuple[ActorRestarts, ...]
    clock: Clock
    reference: float
    """The time the window ends at: now (wall clock) or the newest event (Trio clock)."""
    events: int
    """Restart-log events read in the window (all kinds)."""
    skipped_lines: int = 0
    """Log lines that were not JSON objects (console output, tracebacks)."""


def _event_from_fields(fields: dict[str, Any], at: float, clock: Clock) -> RestartEvent:
    return RestartEvent(
        event=str(fields["event"]),
        path=str(fields.get("path", "?")),
        at=at,
        clock=clock,
        error_type=str(fields.get("error_type", "")),
        error_message=str(fields.get("error_message", "")),
        restart_count=int(fields.get("restart_count", 0) or 0),
        reason=str(fields.get("reason", "")),
    )


def _wall_time(fields: dict[str, Any]) -> float | None:
    stamp = fields.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def read_log_file(path: Path) -> tuple[list[RestartEvent], int]:
    """The restart-log events of a structlog JSON log file, and the count of skipped lines.

    Lines that are not JSON objects (console lines, stray output) are skipped and counted;
    JSON lines of other events are ignored. A restart-log line without a parseable
    ``timestamp`` is placed on the Trio clock by its ``at`` field (all lines then are, so one
    report never mixes clocks).

    Raises:
        LogFileUnreadable: the file does not exist or cannot be read.
    """
    try:
        text = path.read_bytes()
    except OSError as error:
        raise LogFileUnreadable(path, error.strerror or str(error)) from error
    found: list[tuple[dict[str, Any], float | None]] = []
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            fields = orjson.loads(line)
        except orjson.JSONDecodeError:
            skipped += 1
            continue
        if not isinstance(fields, dict):
            skipped += 1
            continue
        if fields.get("event") in RESTART_EVENTS:
            found.append((fields, _wall_time(fields)))
    if all(wall is not None for _, wall in found):
        return [_event_from_fields(f, w, Clock.WALL) for f, w in found if w is not None], skipped
    events = [_event_from_fields(f, float(f.get("at", 0.0)), Clock.TRIO) for f, _ in found]
    return events, skipped


def read_database(path: Path) -> list[RestartEvent]:
    """The events of the ``supervisor_events`` table, oldest first, read-only.

    Raises:
        DatabaseUnreadable: the file is missing, cannot be opened (the running bot holds
            DuckDB's lock: read the JSON log instead, or a backup) or has no restart log.
    """
    if not path.exists():
        raise DatabaseUnreadable(path, "no such file")
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            rows = connection.execute(
                "SELECT event, path, at_monotonic, fields FROM supervisor_events "
                "ORDER BY at_monotonic"
            ).fetchall()
    except duckdb.CatalogException as error:
        raise DatabaseUnreadable(path, "it has no supervisor_events table") from error
    except duckdb.Error as error:
        raise DatabaseUnreadable(path, str(error).splitlines()[0]) from error
    events = []
    for event, actor_path, at, extra in rows:
        fields: dict[str, Any] = orjson.loads(extra) if extra else {}
        fields.update(event=event, path=actor_path)
        events.append(_event_from_fields(fields, float(at), Clock.TRIO))
    return events


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + "/")


def _cause(event: RestartEvent) -> str:
    if event.error_type and event.error_message:
        return f"{event.error_type}: {event.error_message}"
    return event.error_type or event.error_message or "(no message)"


def _recovery(path: str, after: Sequence[RestartEvent]) -> Recovery:
    """The actor's state after its last crash: the last transition among ``after`` wins (a
    supervisor that gave up may itself be restarted by its parent, restarting the actor)."""
    state = Recovery.PENDING
    for event in after:
        if event.event == ESCALATED and _within(path, event.path):
            state = Recovery.GAVE_UP
        elif event.path != path:
            continue
        elif event.event in (RESTARTED, STARTED):
            state = Recovery.RECOVERED
        elif event.event == STOPPED and event.reason == "exited":
            state = Recovery.NOT_RESTARTED
    return state


def summarise(
    events: Iterable[RestartEvent],
    *,
    since: float | None = None,
    actor: str | None = None,
    now: float | None = None,
    skipped_lines: int = 0,
) -> RestartReport:
    """Fold events into one row per actor that crashed or escalated, worst first.

    Args:
        since: keep events at most this many seconds before the reference (now for wall-clock
            events, the newest event for Trio-clock ones); None keeps all.
        actor: keep actors whose path is this path, lies under it, or whose last segment
            (the child's name) equals it.
        now: the wall-clock reference (defaults to the current time).

    Rows are ordered by crashes, then escalations, most first. Recovery looks at everything
    after the last crash in the window, including events of ancestors (an escalation).
    """
    ordered = sorted(events, key=lambda e: e.at)
    clock = ordered[0].clock if ordered else Clock.WALL
    if clock is Clock.WALL:
        reference = now if now is not None else dt.datetime.now(dt.UTC).timestamp()
    else:
        reference = ordered[-1].at if ordered else 0.0
    if since is not None:
        ordered = [e for e in ordered if e.at >= reference - since]

    def wanted(path: str) -> bool:
        return actor is None or _within(path, actor) or path.rsplit("/", 1)[-1] == actor

    rows: list[ActorRestarts] = []
    paths = dict.fromkeys(e.path for e in ordered if e.event in (CRASHED, ESCALATED))
    for path in paths:
        if not wanted(path):
            continue
        mine = [e for e in ordered if e.path == path]
        crashes = [e for e in mine if e.event == CRASHED]
        causes = Counter(_cause(e) for e in crashes)
        if crashes:
            last = crashes[-1]
            after = ordered[ordered.index(last) + 1 :]
            recovery = _recovery(path, after)
        else:
            recovery = Recovery.NO_CRASH
        rows.append(
            ActorRestarts(
                path=path,
                crashes=len(crashes),
                restarts=sum(1 for e in mine if e.event == RESTARTED),
                escalations=sum(1 for e in mine if e.event == ESCALATED),
                errors=tuple(causes.most_common()),
                first_crash=crashes[0].at if crashes else None,
                last_crash=crashes[-1].at if crashes else None,
                last_error=_cause(crashes[-1]) if crashes else _cause(mine[-1]),
                recovery=recovery,
            )
        )
    rows.sort(key=lambda r: (-r.crashes, -r.escalations, r.path))
    return RestartReport(tuple(rows), clock, reference, len(ordered), skipped_lines)
