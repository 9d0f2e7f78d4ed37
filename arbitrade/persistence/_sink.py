"""The persistence sink: a Trio actor that subscribes losslessly to the bus and hands batches
of rows to the DuckDB writer thread, so no database work ever runs on the Trio loop.

Its loop is a self-addressed ``_Pump`` message: take queued events without waiting (for at
most ``pump_budget`` seconds of work, then a checkpoint), and write a batch when it is full
or its oldest row is ``max_delay`` old; when the subscriptions are empty, sleep
``poll_interval``. While a batch is being written the same handler keeps turning new events
into the next batch (at most one batch is ever in flight). Between pumps the mailbox serves
``Flush``, ``GetStatistics`` and stop requests. When the writer falls behind, events queue in
the lossless subscriptions and publishers wait once those are full: backpressure, never loss.

(It polls with ``receive_nowait`` rather than waiting in ``Subscription.receive``: a receive
cancelled at its final checkpoint would drop the event it had already taken.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from actors import (
    RESTART_LOG_TOPIC,
    Actor,
    ActorError,
    ActorStopped,
    ChildSpec,
    Lossless,
    Ref,
    Subscription,
)
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_PORTFOLIO,
    TOPIC_RISK_DECISIONS,
)
from arbitrade.persistence._batch import Batch, BatchCommitted
from arbitrade.persistence._buffer import RowBuffer
from arbitrade.persistence._errors import BatchWriteFailed
from arbitrade.persistence._frames import TOPIC_RECORDED_FRAMES
from arbitrade.persistence._settings import SinkSettings

PERSISTED_TOPICS: tuple[str, ...] = (
    TOPIC_OPPORTUNITIES,
    TOPIC_RISK_DECISIONS,
    TOPIC_ORDERS,
    TOPIC_FILLS,
    TOPIC_CYCLES,
    TOPIC_PORTFOLIO,
    TOPIC_AUDIT,
    RESTART_LOG_TOPIC,
    TOPIC_RECORDED_FRAMES,
)
"""The topics the sink subscribes to by default."""


@attrs.frozen
class _Pump:
    """The sink's own tick (see the module docstring)."""


@attrs.frozen
class Flush:
    """Ask the sink to write everything it has received so far; the reply (a
    :class:`SinkStatistics`) comes once those rows are committed."""


@attrs.frozen
class GetStatistics:
    """Ask the sink for its :class:`SinkStatistics`."""


@attrs.frozen
class SinkStatistics:
    """A snapshot of the sink."""

    received: int
    """Events taken from the subscriptions since this incarnation started."""
    buffered: int
    """Rows waiting for their batch."""
    committed_rows: int
    """Rows committed (dead letters included)."""
    committed_batches: int
    """Batches committed."""
    dead_letters: int
    """Messages stored in ``dead_letters`` because an amount did not fit exactly."""
    ignored: int
    """Events of types that are not persisted."""
    retries: int
    """Batch writes that failed and were tried again."""
    last_write_seconds: float
    """Writer-thread time of the last batch."""


class PersistenceSink(Actor[Any]):
    """Subscribes to ``topics`` (lossless) and writes their events through the writer actor
    found under ``writer`` (a sibling name or a path; see :func:`writer_child`).

    Start and stop: start it after the writer and before every publisher, so a clean stop
    (reverse order) stops publishers first, then the sink, then the writer. On stop the sink
    unsubscribes, drains what is queued and writes it all before returning: a clean stop
    loses nothing. The child's ``shutdown_timeout`` must cover that final write.

    Failure: a batch write that fails (the writer crashed and is restarting, or timed out)
    is retried ``write_attempts`` times with backoff, flagged so the writer never commits it
    twice; then (or at once if the writer is stopped for good) the sink raises
    ``BatchWriteFailed`` and its supervisor restarts it (the rows
    of that incarnation's buffer are lost, and logged as such). Events published while the
    sink is restarting are not seen by it.
    """

    def __init__(
        self,
        *,
        writer: str = "db_writer",
        settings: SinkSettings | None = None,
        topics: Sequence[str] = PERSISTED_TOPICS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._writer_name = writer
        self._settings = settings or SinkSettings()
        self._topics = tuple(topics)
        self._buffer = RowBuffer(wall_clock, chunk_rows=self._settings.chunk_rows)
        self._subscriptions: list[Subscription] = []
        self._writer: Ref[Any] | None = None
        self._sink_id = uuid.uuid4().hex[:12]
        self._sequence = 0
        self._received = 0
        self._committed_rows = 0
        self._committed_batches = 0
        self._retries = 0
        self._last_write_seconds = 0.0
        self._broken = False
        self._backlog = False

    async def on_start(self) -> None:
        self._writer = self.context.lookup(self._writer_name)
        policy = Lossless(capacity=self._settings.subscription_capacity)
        self._subscriptions = [self.context.bus.subscribe(t, policy) for t in self._topics]
        self.context.log.info(
            "persistence.sink.started", topics=self._topics, sink_id=self._sink_id
        )
        self.context.ref.send_nowait(_Pump())

    async def receive(self, message: Any) -> object:
        if isinstance(message, _Pump):
            await self._pump()
            self.context.ref.send_nowait(_Pump())
            return None
        if isinstance(message, Flush):
            self._drain()
            await self._write_all()
            return self.statistics()
        if isinstance(message, GetStatistics):
            return self.statistics()
        raise TypeError(f"PersistenceSink got an unexpected message {message!r}")

    async def on_stop(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        self._drain()
        if self._broken:
            self.context.log.error("persistence.sink.rows_lost", rows=self._buffer.rows)
            return
        await self._write_all()
        self.context.log.info(
            "persistence.sink.stopped",
            committed_rows=self._committed_rows,
            committed_batches=self._committed_batches,
        )

    def statistics(self) -> SinkStatistics:
        """A snapshot of this incarnation's counters."""
        return SinkStatistics(
            received=self._received,
            buffered=self._buffer.rows,
            committed_rows=self._committed_rows,
            committed_batches=self._committed_batches,
            dead_letters=self._buffer.dead_letters,
            ignored=sum(self._buffer.ignored.values()),
            retries=self._retries,
            last_write_seconds=self._last_write_seconds,
        )

    # --- the loop ---------------------------------------------------------------------------
    async def _pump(self) -> None:
        # Each pump works at most ``pump_budget`` seconds turning events into rows, then
        # checkpoints: the rest of the Trio loop never waits longer than that for the sink.
        self._drain(room=self._settings.batch_rows, budget=self._settings.pump_budget)
        buffer = self._buffer
        due = buffer.oldest_at is not None and (
            trio.current_time() >= buffer.oldest_at + self._settings.max_delay
        )
        if buffer.rows >= self._settings.batch_rows or due:
            await self._write_one(gather=True)
        elif self._backlog:
            await trio.lowlevel.checkpoint()
        else:
            # The subscriptions are empty: let events gather for a while rather than waking
            # for every single one (each pump costs a trip through the scheduler).
            await trio.sleep(self._poll_delay())

    def _poll_delay(self) -> float:
        delay = self._settings.poll_interval
        oldest = self._buffer.oldest_at
        if oldest is not None:
            delay = min(delay, max(0.0, oldest + self._settings.max_delay - trio.current_time()))
        return delay

    def _drain(self, room: int | None = None, budget: float | None = None) -> int:
        """Move queued events into the buffer without waiting: until the buffer holds
        ``room`` rows and for about ``budget`` seconds of work (None: no limit). Returns
        how many were taken; ``_backlog`` tells whether events may be left."""
        buffer = self._buffer
        self._backlog = True
        now = trio.current_time()
        deadline = None if budget is None else time.perf_counter() + budget
        taken = 0
        for subscription in self._subscriptions:
            receive = subscription.receive_nowait
            while room is None or buffer.rows < room:
                try:
                    event = receive()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                buffer.add(event, now)
                taken += 1
                if deadline is not None and taken % 16 == 0 and time.perf_counter() > deadline:
                    self._received += taken
                    return taken
            if room is not None and buffer.rows >= room:
                self._received += taken
                return taken
        self._backlog = False
        self._received += taken
        return taken

    async def _write_all(self) -> None:
        while self._buffer.rows:
            await self._write_one()

    async def _write_one(self, *, gather: bool = False) -> None:
        """Commit the buffered rows as one batch. With ``gather``, keep turning new events
        into the next batch's rows while the writer works (a two-stage pipeline: at most
        one batch is ever in flight, so a kill loses at most it and the one gathering)."""
        self._sequence += 1
        batch = self._buffer.take(self._sink_id, self._sequence)
        if gather:
            committed = await self._commit_while_gathering(batch)
        else:
            committed = await self._commit(batch)
        self._committed_rows += committed.row_count
        self._committed_batches += 1
        self._last_write_seconds = committed.seconds

    async def _commit_while_gathering(self, batch: Batch) -> BatchCommitted:
        settings = self._settings
        done = trio.Event()
        outcome: list[BatchCommitted | BatchWriteFailed] = []

        async def commit() -> None:
            try:
                outcome.append(await self._commit(batch))
            except BatchWriteFailed as error:  # re-raised below, outside the nursery
                outcome.append(error)
            finally:
                done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(commit)
            while not done.is_set():
                self._drain(room=settings.batch_rows, budget=settings.pump_budget)
                if self._backlog and self._buffer.rows < settings.batch_rows:
                    await trio.lowlevel.checkpoint()
                else:
                    with trio.move_on_after(settings.poll_interval):
                        await done.wait()
        result = outcome[0]
        if isinstance(result, BatchWriteFailed):
            raise result
        return result

    async def _commit(self, batch: Batch) -> BatchCommitted:
        assert self._writer is not None
        settings = self._settings
        delay = settings.retry_backoff
        for attempt in range(1, settings.write_attempts + 1):
            try:
                reply = await self._writer.ask(batch, timeout=settings.write_timeout)
            except ActorError as error:
                cause = error.__cause__ or error
                final = attempt == settings.write_attempts or isinstance(error, ActorStopped)
                self.context.log.warning(
                    "persistence.sink.write_failed",
                    batch_id=batch.batch_id,
                    rows=batch.row_count,
                    attempt=attempt,
                    error_type=type(cause).__name__,
                    error_message=str(cause),
                )
                if final:
                    self._broken = True
                    raise BatchWriteFailed(
                        batch.batch_id, "", f"gave up after attempt {attempt}: {cause}"
                    ) from error
                self._retries += 1
                batch = attrs.evolve(batch, retry=True)
                await trio.sleep(delay)
                delay *= 2
                continue
            if not isinstance(reply, BatchCommitted):
                raise TypeError(f"the writer replied {reply!r} to batch {batch.batch_id}")
            return reply
        raise AssertionError("unreachable")  # pragma: no cover


def sink_child(
    *,
    name: str = "persistence_sink",
    writer: str = "db_writer",
    settings: SinkSettings | None = None,
    topics: Sequence[str] = PERSISTED_TOPICS,
    shutdown_timeout: float = 30.0,
) -> ChildSpec:
    """The child spec of the sink. Start it right after :func:`writer_child`."""
    return ChildSpec(
        name,
        factory=PersistenceSink,
        kwargs={"writer": writer, "settings": settings, "topics": tuple(topics)},
        shutdown_timeout=shutdown_timeout,
    )
