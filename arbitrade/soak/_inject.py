"""Firing one fault at the running bot and waiting until it has recovered.

Recovery, per kind (times on the Trio clock, measured from the end of the fault: the moment
the exchange behaves again, or the injection for instant faults):

* every fault: the bot is healthy again (:meth:`Observer.health`: every actor running, the
  venue connected, every feed and book that ever reported live), and in addition
* ``drop_connections``: the venue reconnected or a feed came back live;
* ``corrupt_checksums``: the corrupt books were delivered and a book resynced back to live;
* ``stalled_channel`` of ``book``: book tops flow again after the stall;
* ``garbage_frames``, ``truncated_frames``, ``rate_limit_errors``, ``nonce_errors``: every
  unit was delivered (the knob counted down to 0); one never delivered within the exercise
  window is reset and recorded as not exercised, not as recovered;
* actor crashes: the restart log shows the actor restarted after the crash.

A fault with nothing in the bot that could show its recovery (a crash of a feed actor when
there is none, a checksum fault without books) is recorded as not measurable, with why.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import trio

from actors import ChildCrashed, ChildRestarted, Ref, SupervisorEvent
from actors._ref import _Crash
from arbitrade.execution import (
    STALL_AFTER,
    VENUE_BAD_FRAME,
    VENUE_CONNECTION,
    VENUE_PRIVATE_STALLED,
    VENUE_REST_ERROR,
)
from arbitrade.messages import AuditEvent
from arbitrade.soak._bot import BotHandle
from arbitrade.soak._faults import FaultKind, FaultRecord, PlannedFault
from arbitrade.soak._observe import Observer

FEED_PATTERN = re.compile(r"feed")
"""Feed actors (``root/market/feed.book``); the first in sorted order is crashed."""
GRAPH_PATTERN = re.compile(r"graph|triangular")
WRITER_PATH = "root/persistence/db_writer"
COUNTED_KNOBS = {
    FaultKind.CORRUPT_CHECKSUMS: "corrupt_checksums",
    FaultKind.GARBAGE_FRAMES: "garbage_frames",
    FaultKind.TRUNCATED_FRAMES: "truncated_frames",
    FaultKind.RATE_LIMIT_ERRORS: "rate_limit_errors",
    FaultKind.NONCE_ERRORS: "nonce_errors",
}


class SoakCrash(RuntimeError):
    """The error a crash fault makes an actor raise."""


@attrs.frozen
class PoisonMessage:
    """A message the DuckDB writer thread refuses by raising (it expects batches only): the
    crash happens inside the pykka thread, as a real write failure would."""


def inject_crash(ref: Ref[Any], error: BaseException) -> None:
    """Make the actor behind ``ref`` raise ``error`` when it reaches this point in its
    mailbox (the harness's ``crash``, without a harness).

    Raises:
        MailboxFull: the mailbox is full.
        ActorStopped: the actor is stopped for good.
    """
    ref._inject(_Crash(error))


def find_actor(handle: BotHandle, pattern: re.Pattern[str]) -> str | None:
    """The first registered actor path matching ``pattern`` (sorted), or None."""
    for path in handle.system.registry.paths():
        if pattern.search(path.removeprefix("root/")):
            return path
    return None


@attrs.define
class Injector:
    """Fires faults at one bot and records their recovery."""

    handle: BotHandle
    observer: Observer
    recover_timeout: float = 30.0
    """A fault not recovered within this many seconds after it ended counts as not recovered."""
    exercise_timeout: float = 40.0
    """How long a counted knob may wait for traffic to deliver it."""
    visible_within: float = 30.0
    """Seconds after recovery an audit or restart-log entry still counts for the fault (a
    feed behind a backlog notices late; :func:`assign_traces` lets no entry count twice)."""
    loop_lag_max: float = 0.0
    """Largest Trio loop lateness seen while a slow dashboard client was connected."""

    async def fire(self, fault: PlannedFault) -> FaultRecord:
        """Inject ``fault``, wait until it is over and the bot recovered (or timed out)."""
        now = trio.current_time()
        kind = fault.kind
        if kind in COUNTED_KNOBS:
            return await self._counted(fault, COUNTED_KNOBS[kind])
        if kind is FaultKind.DROP_CONNECTIONS:
            return await self._drop(now)
        if kind is FaultKind.STALLED_CHANNEL:
            return await self._timed(
                fault,
                {"stalled_channels": [fault.channel]},
                {"stalled_channels": []},
                fault.channel,
            )
        if kind is FaultKind.ACK_DELAY:
            return await self._timed(
                fault,
                {"ack_delay_seconds": fault.delay},
                {"ack_delay_seconds": 0.0},
                f"{fault.delay:.2f}s",
            )
        if kind in (FaultKind.MAINTENANCE, FaultKind.CANCEL_ONLY):
            status = "maintenance" if kind is FaultKind.MAINTENANCE else "cancel_only"
            return await self._timed(
                fault, {"system_status": status}, {"system_status": "online"}, status
            )
        if kind is FaultKind.SLOW_DASHBOARD_CLIENT:
            return await self._slow_client(fault)
        return await self._crash(fault)

    # --- exchange faults -----------------------------------------------------------------------
    async def _drop(self, now: float) -> FaultRecord:
        record = FaultRecord(FaultKind.DROP_CONNECTIONS, now, now, "all connections")
        observer = self.observer
        venue_reports = observer.venue_connected is not None
        if not venue_reports and not observer.feeds:
            record.measurable = False
            record.note = "nothing holds a connection to drop (paper venue, no feeds)"
            await self.handle.simulator.drop_connections()
            return record
        venue_before, feeds_before = observer.venue_reconnects, observer.feed_relives

        def reacted() -> bool:
            return (venue_reports and observer.venue_reconnects > venue_before) or (
                observer.feed_relives > feeds_before
            )

        await self.handle.simulator.drop_connections()
        await self._await_recovery(record, reacted)
        return record

    async def _timed(
        self, fault: PlannedFault, on: dict[str, Any], off: dict[str, Any], target: str
    ) -> FaultRecord:
        sim = self.handle.simulator
        start = trio.current_time()
        await sim.set_faults(on)
        await trio.sleep(fault.seconds)
        await sim.set_faults(off)
        record = FaultRecord(fault.kind, start, trio.current_time(), target)
        tops_before = self.observer.book_tops
        reacted: Callable[[], bool] = lambda: True  # noqa: E731 - a default predicate
        book_stall = fault.kind is FaultKind.STALLED_CHANNEL and fault.channel == "book"
        if book_stall and self.observer.has_market:
            reacted = lambda: self.observer.book_tops > tops_before  # noqa: E731
        await self._await_recovery(record, reacted)
        return record

    async def _counted(self, fault: PlannedFault, knob: str) -> FaultRecord:
        sim = self.handle.simulator
        observer = self.observer
        start = trio.current_time()
        if fault.kind is FaultKind.CORRUPT_CHECKSUMS and not observer.books:
            record = FaultRecord(fault.kind, start, start, f"{fault.count} book messages")
            record.measurable = False
            record.note = "no book has reported yet: nothing reads checksums"
            return record
        resyncs_before = observer.book_resyncs
        await sim.set_faults({knob: fault.count})
        left = fault.count
        with trio.move_on_after(self.exercise_timeout):
            while left > 0:
                await trio.sleep(0.05)
                left = int(await sim.fault(knob))
        record = FaultRecord(fault.kind, start, trio.current_time(), f"{fault.count}x {knob}")
        if left:
            await sim.set_faults({knob: 0})
            record.measurable = False
            record.note = f"not exercised: {left} of {fault.count} never delivered (no traffic)"
            return record
        reacted: Callable[[], bool] = lambda: True  # noqa: E731 - a default predicate
        if fault.kind is FaultKind.CORRUPT_CHECKSUMS:
            reacted = lambda: observer.book_resyncs > resyncs_before  # noqa: E731
        await self._await_recovery(record, reacted)
        return record

    # --- faults inside the bot -----------------------------------------------------------------
    async def _crash(self, fault: PlannedFault) -> FaultRecord:
        now = trio.current_time()
        registry = self.handle.system.registry
        if fault.kind is FaultKind.PERSISTENCE_THREAD_CRASH:
            path: str | None = WRITER_PATH if registry.get(WRITER_PATH) else None
        elif fault.kind is FaultKind.FEED_ACTOR_CRASH:
            path = find_actor(self.handle, FEED_PATTERN)
        else:
            path = find_actor(self.handle, GRAPH_PATTERN)
        record = FaultRecord(fault.kind, now, now, path or "")
        if path is None:
            record.measurable = False
            record.note = "no such actor in the tree (not wired yet)"
            return record
        ref = registry.lookup(path)
        if fault.kind is FaultKind.PERSISTENCE_THREAD_CRASH:
            await ref.send(PoisonMessage())
        else:
            inject_crash(ref, SoakCrash(f"soak: crash injected into {path}"))
        log = self.observer.restart_log
        seen = len(log)

        def restarted() -> bool:
            return any(isinstance(e, ChildRestarted) and e.path == path for e in log[seen:])

        await self._await_recovery(record, restarted)
        return record

    async def _slow_client(self, fault: PlannedFault) -> FaultRecord:
        start = trio.current_time()
        url = self.handle.dashboard_url.removeprefix("http://")
        host, port = url.rsplit(":", 1)
        lag = 0.0
        sockets: list[trio.SocketStream] = []
        async with trio.open_nursery() as nursery:
            for path in ("/stream/books", "/stream/opportunities"):
                stream = await trio.open_tcp_stream(host, int(port))
                stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                request = f"GET {path} HTTP/1.1\r\nHost: {url}\r\nAccept: text/event-stream\r\n\r\n"
                await stream.send_all(request.encode())
                sockets.append(stream)  # never read from: a client that reads nothing

            async def watch_lag() -> None:
                nonlocal lag
                while True:
                    before = trio.current_time()
                    await trio.sleep(0.05)
                    lag = max(lag, trio.current_time() - before - 0.05)

            nursery.start_soon(watch_lag)
            await trio.sleep(fault.seconds)
            nursery.cancel_scope.cancel()
        for stream in sockets:
            await stream.aclose()
        self.loop_lag_max = max(self.loop_lag_max, lag)
        record = FaultRecord(fault.kind, start, trio.current_time(), "/stream/books, opportunities")
        record.note = f"loop lag max {lag * 1000:.0f} ms while connected"
        await self._await_recovery(record, lambda: True)
        return record

    # --- recovery ------------------------------------------------------------------------------
    async def _await_recovery(self, record: FaultRecord, reacted: Callable[[], bool]) -> None:
        registry = self.handle.system.registry
        with trio.move_on_after(self.recover_timeout):
            while True:
                healthy, _ = self.observer.health(registry)
                if healthy and reacted():
                    record.recovered_at = trio.current_time()
                    break
                await trio.sleep(0.02)
        if record.recovered_at is None:
            _, reasons = self.observer.health(registry)
            record.note = (record.note + "; " if record.note else "") + (
                "not recovered: " + ", ".join(reasons) if reasons else "no reaction seen"
            )
        record.no_audit_source = audit_source(record, self.observer.order_times) or ""
        record.visible = self.is_visible(record)

    def is_visible(self, record: FaultRecord) -> bool:
        """Whether ``record`` left its own trace so far (see :func:`trace_seen`)."""
        observer = self.observer
        return trace_seen(record, observer.restart_log, observer.audit, self.visible_within)


def trace_seen(
    record: FaultRecord,
    restart_log: Sequence[SupervisorEvent],
    audit: Sequence[AuditEvent],
    within: float,
) -> bool:
    """Whether ``record`` left a trace of its own (see :func:`traces_of`)."""
    return any(True for _ in traces_of(record, restart_log, audit, within))


def traces_of(
    record: FaultRecord,
    restart_log: Sequence[SupervisorEvent],
    audit: Sequence[AuditEvent],
    within: float,
) -> Iterator[SupervisorEvent | AuditEvent]:
    """The entries that show this fault, within its time window, oldest first.

    The window runs from the injection to ``within`` seconds after the bot recovered (or
    after the fault ended, when it did not). Crashes: the restart log shows a crash of the
    target. A dropped connection: a feed crashed with ``connection dropped``, or the venue
    audited its private connection going down. Other exchange faults: an audit event of the
    kind that names the fault (:data:`AUDIT_TRACES`; for stalls, status changes and REST
    errors also its subject). A fault with no audit source in the bot (``no_audit_source``
    set by :func:`audit_source`) has none.
    """
    start = record.injected_at
    end = (record.recovered_at or record.cleared_at) + within
    if record.kind.inside_bot or record.kind is FaultKind.DROP_CONNECTIONS:
        for event in restart_log:
            if not isinstance(event, ChildCrashed) or not start <= event.at <= end:
                continue
            if record.kind.inside_bot:
                ours = event.path == record.target
            else:
                ours = "connection dropped" in event.error_message
            if ours:
                yield event
        if record.kind is not FaultKind.DROP_CONNECTIONS:
            return
    kinds = AUDIT_TRACES.get(record.kind)
    if kinds is None or record.no_audit_source:
        return
    subject = _trace_subject(record)
    for entry in audit:
        in_window = entry.kind in kinds and start <= entry.at <= end
        if in_window and (subject is None or entry.subject == subject):
            yield entry


def assign_traces(
    records: Sequence[FaultRecord],
    restart_log: Sequence[SupervisorEvent],
    audit: Sequence[AuditEvent],
    within: float,
) -> None:
    """Set ``visible`` on every record, each claiming one trace no earlier fault claimed:
    one entry never stands for two faults, however wide the windows."""
    claimed: set[int] = set()
    for record in sorted(records, key=lambda r: r.injected_at):
        found = next(
            (e for e in traces_of(record, restart_log, audit, within) if id(e) not in claimed),
            None,
        )
        record.visible = found is not None
        if found is not None:
            claimed.add(id(found))


AUDIT_TRACES: dict[FaultKind, frozenset[str]] = {
    FaultKind.DROP_CONNECTIONS: frozenset({VENUE_CONNECTION}),
    FaultKind.STALLED_CHANNEL: frozenset({"feed.stalled", VENUE_PRIVATE_STALLED}),
    FaultKind.CORRUPT_CHECKSUMS: frozenset({"feed.checksum_mismatch"}),
    FaultKind.GARBAGE_FRAMES: frozenset({"feed.bad_frame", VENUE_BAD_FRAME}),
    FaultKind.TRUNCATED_FRAMES: frozenset({"feed.bad_frame", VENUE_BAD_FRAME}),
    FaultKind.ACK_DELAY: frozenset({"feed.slow_ack"}),
    FaultKind.MAINTENANCE: frozenset({"feed.exchange_status"}),
    FaultKind.CANCEL_ONLY: frozenset({"feed.exchange_status"}),
    FaultKind.RATE_LIMIT_ERRORS: frozenset({VENUE_REST_ERROR}),
    FaultKind.NONCE_ERRORS: frozenset({VENUE_REST_ERROR}),
}
"""The audit kinds that show each exchange fault (the feeds and the live venue publish them:
a garbage or truncated frame may reach the venue's private connection instead of a feed)."""

REST_ERRORS: dict[FaultKind, str] = {
    FaultKind.RATE_LIMIT_ERRORS: "EAPI:Rate limit exceeded",
    FaultKind.NONCE_ERRORS: "EAPI:Invalid nonce",
}
"""The Kraken error string each REST fault makes the simulator answer (the audit subject)."""

_PUBLIC_STALLS = frozenset({"book", "ticker", "trade"})


def _trace_subject(record: FaultRecord) -> str | None:
    """The audit subject that must match, or None when any subject does."""
    if record.kind is FaultKind.STALLED_CHANNEL:
        return record.target
    if record.kind in (FaultKind.MAINTENANCE, FaultKind.CANCEL_ONLY):
        return record.target  # the status name
    if record.kind is FaultKind.DROP_CONNECTIONS:
        return "down"
    return REST_ERRORS.get(record.kind)


def audit_source(record: FaultRecord, order_times: Sequence[float] = ()) -> str | None:
    """Why nothing in the bot could notice this fault, or None when something can (and must).

    REST errors and private stalls are audited by the live venue (``venue.rest_error``,
    ``venue.private_stalled``). Two private stalls leave nothing to notice, judged from the
    order updates seen (``order_times``): a ``heartbeat`` stall while orders traded (Kraken
    sends heartbeats only when nothing else flows, so the connection was never quiet), and an
    ``executions`` stall during which no order was sent at least
    :data:`~arbitrade.execution.STALL_AFTER` seconds before it ended (no execution was due).
    """
    if record.kind is not FaultKind.STALLED_CHANNEL or record.target in _PUBLIC_STALLS:
        return None
    start, end = record.injected_at, record.cleared_at
    if record.target == "heartbeat":
        if any(start <= t <= end for t in order_times):
            return "heartbeat stall while orders traded: the private connection never went quiet"
        return None
    if record.target == "executions" and not any(
        start <= t <= end - STALL_AFTER for t in order_times
    ):
        return "executions stall with no order sent in it: no execution was due"
    return None
