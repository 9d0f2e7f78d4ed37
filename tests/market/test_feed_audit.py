"""The book feed writes what the exchange does wrong to the audit log, not only to the log.

Against the small simulator: garbage frames, a checksum mismatch, a change of the exchange's
engine state and slow acknowledgements each become an ``AuditEvent`` of their own kind on
``TOPIC_AUDIT``; a burst is throttled into one event with a count. The throttle and the
reading of Kraken's ``time_in``/``time_out`` are also tested alone, on plain numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import orjson
import trio

from actors import Bus
from actors.testing import open_harness
from arbitrade.market._audit import AuditThrottle, exchange_seconds
from arbitrade.messages import TOPIC_AUDIT, TOPIC_BOOK_STATE, AuditEvent
from arbitrade.sim import RunningSimulator
from tests.market.conftest import FEED_PATH, Recorder, market_tree
from tests.market.test_feed_failures import all_live


class TestAuditThrottle:
    def test_admit_when_first_of_a_kind_reports_one(self) -> None:
        """The first occurrence of a kind and subject is published at once, standing for one."""
        assert AuditThrottle(period=5.0).admit("feed.bad_frame", "book", 0.0, {}) == 1

    def test_admit_when_repeated_within_period_holds_back_then_counts_them(self) -> None:
        """Repeats inside the period are held back and counted into the next event."""
        throttle = AuditThrottle(period=5.0)
        throttle.admit("k", "s", 0.0, {})
        assert throttle.admit("k", "s", 1.0, {}) == 0
        assert throttle.admit("k", "s", 2.0, {}) == 0
        assert throttle.admit("k", "s", 6.0, {}) == 3

    def test_admit_when_subject_differs_is_not_throttled(self) -> None:
        """Each subject has its own period."""
        throttle = AuditThrottle(period=5.0)
        throttle.admit("k", "a", 0.0, {})
        assert throttle.admit("k", "b", 0.5, {}) == 1

    def test_due_when_period_over_hands_out_held_events_once(self) -> None:
        """Held-back occurrences come out after their period even if no further one comes."""
        throttle = AuditThrottle(period=5.0)
        throttle.admit("k", "s", 0.0, {"n": 1})
        throttle.admit("k", "s", 1.0, {"n": 2})
        assert throttle.due(4.0) == []
        assert throttle.due(5.0) == [("k", "s", 1, {"n": 2})]
        assert throttle.due(20.0) == []

    def test_drain_when_feed_stops_hands_out_every_held_event_due_or_not(self) -> None:
        """A stopping feed takes what its throttle held: nothing waits for a period that
        will never come."""
        throttle = AuditThrottle(period=5.0)
        throttle.admit("k", "s", 0.0, {"n": 1})
        throttle.admit("k", "s", 1.0, {"n": 2})
        throttle.admit("k", "s", 1.5, {"n": 3})
        assert throttle.drain() == [("k", "s", 2, {"n": 3})]
        assert throttle.drain() == []
        assert throttle.due(100.0) == []


class TestExchangeSeconds:
    def test_exchange_seconds_when_stamps_valid_is_their_difference(self) -> None:
        """Kraken's hold time is time_out minus time_in (nanosecond stamps accepted)."""
        held = exchange_seconds("2023-09-25T09:04:31.000000Z", "2023-09-25T09:04:31.750000000Z")
        assert held is not None
        assert abs(held - 0.75) < 1e-9

    def test_exchange_seconds_when_stamp_missing_or_garbled_is_none(self) -> None:
        """An absent or unparsable stamp means unknown, never an error."""
        assert exchange_seconds(None, "2023-09-25T09:04:31Z") is None
        assert exchange_seconds("yesterday", "2023-09-25T09:04:31Z") is None


def audits_of(audits: Recorder, kind: str) -> list[AuditEvent]:
    return [a for a in audits.history if isinstance(a, AuditEvent) and a.kind == kind]


async def until_audited(audits: Recorder, kind: str, within: float = 10.0) -> AuditEvent:
    return await audits.expect(AuditEvent, lambda a: a.kind == kind, within=within)


@asynccontextmanager
async def live_feed(
    sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
) -> AsyncIterator[Recorder]:
    """The market tree on ``sim`` with every book live; yields the audit recorder."""
    async with open_harness() as harness:
        states = record(harness.bus, TOPIC_BOOK_STATE)
        audits = record(harness.bus, TOPIC_AUDIT)
        await harness.start_tree(market_tree(sim.ws_public_url))
        await all_live(states)
        yield audits


class TestFeedAudit:
    async def test_feed_when_frames_are_garbage_audits_one_event_with_a_count(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A burst of bad frames: one ``feed.bad_frame`` at once, the rest counted after."""
        async with live_feed(sim, record) as audits:
            sim.simulator.set_faults(garbage_frames=3)
            first = await until_audited(audits, "feed.bad_frame")
            assert (first.actor, first.subject) == (FEED_PATH, "book")
            rest = await until_audited(audits, "feed.bad_frame")  # after the 5 s period
            counts = [orjson.loads(a.detail)["count"] for a in (first, rest)]
            assert counts == [1, 2]

    async def test_feed_when_crashed_with_events_held_back_publishes_them_on_stop(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Bad frames held back by the throttle are not lost when the connection drops and
        the feed restarts: they are published as the incarnation stops, before their period."""
        async with live_feed(sim, record) as audits:
            sim.simulator.set_faults(garbage_frames=3)
            first = await until_audited(audits, "feed.bad_frame")
            while sim.simulator.faults.garbage_frames:  # noqa: ASYNC110 - a plain counter
                await trio.sleep(0.01)
            await trio.sleep(0.2)  # read by the feed, two of them held back
            sim.simulator.drop_connections()
            rest = await until_audited(audits, "feed.bad_frame")
            assert orjson.loads(rest.detail)["count"] == 2
            assert rest.at - first.at < 5.0  # the stop flushed it, not the period

    async def test_feed_when_checksum_wrong_audits_the_symbol(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A checksum mismatch is audited with the book's symbol as subject."""
        async with live_feed(sim, record) as audits:
            sim.simulator.set_faults(corrupt_checksums=1)
            audit = await until_audited(audits, "feed.checksum_mismatch")
            assert "/" in audit.subject

    async def test_feed_when_exchange_enters_maintenance_audits_the_status(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """A change of engine state is audited once, with the new state as subject."""
        async with live_feed(sim, record) as audits:
            sim.simulator.set_faults(system_status="maintenance")
            audit = await until_audited(audits, "feed.exchange_status")
            sim.simulator.set_faults(system_status="online")
            assert audit.subject == "maintenance"
            assert orjson.loads(audit.detail)["previous"] == "online"
            back = await until_audited(audits, "feed.exchange_status")
            assert back.subject == "online"

    async def test_feed_when_acks_are_delayed_audits_a_slow_ack(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Kraken holding requests (its own time_in/time_out) shows as ``feed.slow_ack``."""
        async with live_feed(sim, record) as audits:
            assert not audits_of(audits, "feed.slow_ack")

            sim.simulator.set_faults(ack_delay_seconds=0.3)
            audit = await until_audited(audits, "feed.slow_ack")
            sim.simulator.set_faults(ack_delay_seconds=0.0)
            assert audit.subject == "ping"
            assert orjson.loads(audit.detail)["held_seconds"] >= 0.25
