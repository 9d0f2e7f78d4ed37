"""The sink batches bus events by size and by time, flushes on a clean stop, and retries
failed writes; tested through the actors harness on a virtual clock, with a probe writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from actors import Actor, ChildSpec, ChildStopped, SupervisorSpec
from actors.testing import Harness, Probe, open_harness
from arbitrade.messages import TOPIC_AUDIT, TOPIC_FILLS, AuditEvent, BookTop
from arbitrade.persistence import (
    Batch,
    BatchCommitted,
    BatchWriteFailed,
    Flush,
    SinkSettings,
    SinkStatistics,
    read_messages,
    sink_child,
    writer_child,
)
from arbitrade.persistence import DuckDBWriter as _Writer
from tests.persistence.samples import samples

SETTINGS = SinkSettings(batch_rows=10, max_delay=1.0, poll_interval=0.01, retry_backoff=0.1)


def _commit(message: Any) -> BatchCommitted:
    assert isinstance(message, Batch)
    return BatchCommitted(message.sink_id, message.sequence, message.row_count, 0.0)


def _audit(number: int) -> AuditEvent:
    return AuditEvent("risk.accepted", "root/risk", f"opp-{number}", "{}", float(number), 1.0)


def _subjects(batch: Batch) -> list[str]:
    return [row[2] for part in batch.tables if part.table == "audit_events" for row in part.rows()]


async def _start(harness: Harness, settings: SinkSettings = SETTINGS) -> Probe:
    """A sink on the audit and fills topics, writing to a probe that commits everything."""
    writer = harness.probe("root/db_writer", reply=_commit)
    await harness.start(sink_child(settings=settings, topics=(TOPIC_AUDIT, TOPIC_FILLS)))
    return writer


class TestBatching:
    async def test_sink_when_batch_rows_reached_writes_a_full_batch_at_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Ten rows make a batch without waiting for the delay."""
        async with open_harness() as harness:
            writer = await _start(harness)
            for number in range(25):
                await harness.bus.publish(TOPIC_AUDIT, _audit(number))
            started = trio.current_time()
            first = await writer.expect(Batch, within=0.5)
            second = await writer.expect(Batch, within=0.5)
            assert trio.current_time() - started < SETTINGS.max_delay
            assert (first.row_count, second.row_count) == (10, 10)
            assert (first.sequence, second.sequence) == (1, 2)
            subjects = _subjects(first) + _subjects(second)
            assert subjects == [f"opp-{n}" for n in range(len(subjects))]

    async def test_sink_when_few_rows_waits_max_delay_then_writes_them(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Three rows wait for max_delay (not longer), then go as one batch."""
        async with open_harness() as harness:
            writer = await _start(harness)
            for number in range(3):
                await harness.bus.publish(TOPIC_AUDIT, _audit(number))
            await writer.expect_no_message(for_=SETTINGS.max_delay * 0.9)
            batch = await writer.expect(Batch, within=SETTINGS.max_delay * 0.2)
            assert _subjects(batch) == ["opp-0", "opp-1", "opp-2"]

    async def test_sink_when_nothing_is_published_writes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An idle sink sends no empty batches."""
        async with open_harness() as harness:
            writer = await _start(harness)
            await writer.expect_no_message(for_=10.0)

    async def test_sink_when_events_on_several_topics_groups_rows_by_table(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """One batch carries rows of several tables."""
        async with open_harness() as harness:
            writer = await _start(harness)
            fill = next(m for m in samples() if type(m).__name__ == "Fill")
            await harness.bus.publish(TOPIC_AUDIT, _audit(1))
            await harness.bus.publish(TOPIC_FILLS, fill)
            batch = await writer.expect(Batch, within=2.0)
            tables = {part.table: part.row_count for part in batch.tables}
            assert (tables["audit_events"], tables["fills"]) == (1, 1)

    async def test_sink_when_event_type_is_not_persisted_ignores_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A type without a mapping is counted, not written."""
        async with open_harness() as harness:
            await _start(harness)
            sink = harness.registry.lookup("root/persistence_sink")
            top = BookTop("BTC/USD", (), (), 1, 8, 0.0, 1)
            await harness.bus.publish(TOPIC_AUDIT, top)
            await trio.sleep(0.1)
            stats = await sink.ask(Flush())
            assert isinstance(stats, SinkStatistics)
            assert stats.ignored == 1


class TestFlushAndStop:
    async def test_flush_when_asked_replies_after_every_row_is_committed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Flush writes the buffer now and reports the committed rows."""
        async with open_harness() as harness:
            writer = await _start(harness)
            sink = harness.registry.lookup("root/persistence_sink")
            for number in range(4):
                await harness.bus.publish(TOPIC_AUDIT, _audit(number))
            stats = await sink.ask(Flush(), timeout=0.1)
            assert stats.committed_rows >= 4
            assert [s for b in writer.received for s in _subjects(b)] == [
                f"opp-{n}" for n in range(4)
            ]

    async def test_stop_when_rows_are_buffered_writes_them_all_before_stopping(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A clean stop drains the subscriptions and commits every row."""
        async with open_harness() as harness:
            writer = await _start(harness, SinkSettings(batch_rows=10, max_delay=60.0))
            for number in range(23):
                await harness.bus.publish(TOPIC_AUDIT, _audit(number))
            await harness.stop()
            await harness.expect_event(ChildStopped, lambda e: e.name == "persistence_sink")
            subjects = [s for batch in writer.received for s in _subjects(batch)]
            assert subjects == [f"opp-{n}" for n in range(23)]


class _FlakyWriter(Actor[Any]):
    """Fails the first ``failures`` writes (as a crashing writer would), then commits."""

    failures = 0
    seen: list[Batch] = []  # noqa: RUF012 - shared across incarnations on purpose

    async def receive(self, message: Any) -> object:
        _FlakyWriter.seen.append(message)
        if _FlakyWriter.failures > 0:
            _FlakyWriter.failures -= 1
            raise OSError("disk hiccup")
        return _commit(message)


class TestRetry:
    async def test_sink_when_a_write_fails_retries_the_same_batch_flagged_as_retry(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The batch is offered again (same id, retry=True) after the writer restarts."""
        _FlakyWriter.failures, _FlakyWriter.seen = 2, []
        async with open_harness() as harness:
            tree = SupervisorSpec(
                "root",
                [ChildSpec("db_writer", factory=_FlakyWriter), sink_child(settings=SETTINGS)],
            )
            await harness.start_tree(tree)
            sink = harness.registry.lookup("root/persistence_sink")
            await harness.bus.publish(TOPIC_AUDIT, _audit(1))
            stats = await sink.ask(Flush(), timeout=5.0)
            assert stats.retries == 2
            ids = [(b.sequence, b.retry) for b in _FlakyWriter.seen]
            assert ids[:3] == [(1, False), (1, True), (1, True)]
            assert "opp-1" in _subjects(_FlakyWriter.seen[2])

    async def test_sink_when_every_attempt_fails_crashes_with_batch_write_failed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After write_attempts failures the sink raises and is restarted."""
        _FlakyWriter.failures, _FlakyWriter.seen = 100, []
        async with open_harness() as harness:
            settings = SinkSettings(batch_rows=1, write_attempts=2, retry_backoff=0.01)
            tree = SupervisorSpec(
                "root",
                [ChildSpec("db_writer", factory=_FlakyWriter), sink_child(settings=settings)],
            )
            await harness.start_tree(tree)
            await harness.bus.publish(TOPIC_AUDIT, _audit(1))
            from actors import ChildCrashed

            crash = await harness.expect_event(
                ChildCrashed, lambda e: e.name == "persistence_sink", within=5.0
            )
            assert crash.error_type == BatchWriteFailed.__name__


class TestWithRealWriter:
    async def test_sink_when_stopped_cleanly_leaves_every_message_in_duckdb(
        self, tmp_path: Path
    ) -> None:
        """Through the pykka writer thread: a clean stop loses nothing (real clock)."""
        path = tmp_path / "db.duckdb"
        messages = samples()
        from actors import RESTART_LOG_TOPIC
        from arbitrade.persistence import mapping_for

        topic_of = {
            "Opportunity": "strategy.opportunities",
            "RiskAccepted": "risk.decisions",
            "RiskRejected": "risk.decisions",
            "OrderUpdate": "execution.orders",
            "Fill": "execution.fills",
            "CycleFinished": "execution.cycles",
            "PortfolioSnapshot": "portfolio.snapshots",
            "AuditEvent": "audit.events",
            "RecordedFrame": "market.frames.recorded",
        }
        with trio.fail_after(30):
            async with open_harness() as harness:
                tree = SupervisorSpec(
                    "root",
                    [
                        writer_child(path),
                        sink_child(settings=SinkSettings(batch_rows=3, max_delay=0.05)),
                    ],
                )
                await harness.start_tree(tree)
                for message in messages:
                    topic = topic_of.get(type(message).__name__, RESTART_LOG_TOPIC)
                    await harness.bus.publish(topic, message)
                await harness.stop()
                await harness.expect_event(
                    ChildStopped, lambda e: e.name == "db_writer", within=20.0
                )
        writer = _Writer(path)
        writer.open()
        for message in messages:
            mapping = mapping_for(type(message))
            assert mapping is not None
            assert message in read_messages(writer.connection, mapping.message_type)
        writer.close()


@pytest.fixture(autouse=True)
def _reset_flaky() -> None:
    _FlakyWriter.failures, _FlakyWriter.seen = 0, []
