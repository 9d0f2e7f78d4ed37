"""The live venue's audit trail: REST errors, private stalls and reconnects become throttled
audit events, with no secrets in them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import trio

from actors import Bus
from arbitrade.execution import LiveVenue, OrderRequest, PaperVenue, publish_venue_audit
from arbitrade.execution._audit import (
    VENUE_BAD_FRAME,
    VENUE_CONNECTION,
    VENUE_PRIVATE_STALL_ENDED,
    VENUE_PRIVATE_STALLED,
    VENUE_REST_ERROR,
    AuditingVenue,
    VenueAuditor,
)
from arbitrade.kraken import KrakenRestClient, RateLimitExceeded, RestErrorSeen, RetryPolicy
from arbitrade.messages import TOPIC_AUDIT, AuditEvent, Side
from arbitrade.sim import MarketSettings, SimConfig, Simulator, serve_simulator
from arbitrade.sim._book import Side as BookSide
from arbitrade.sim._config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from tests.execution.test_live import LIVE


def drain(auditor: VenueAuditor) -> list[AuditEvent]:
    out = []
    while True:
        try:
            out.append(auditor.events.receive_nowait())
        except trio.WouldBlock:
            return out


class TestVenueAuditor:
    def test_record_when_storm_within_period_publishes_one_then_count(self) -> None:
        """A burst is one event now; the rest come out as one event with their count."""
        auditor = VenueAuditor(period=5.0, wall_clock=lambda: 0.0)
        for at in (0.0, 0.1, 0.2, 0.3):
            auditor.record(VENUE_REST_ERROR, "EAPI:Rate limit exceeded", at, endpoint="/x")
        first = drain(auditor)
        auditor.flush_due(4.9)
        assert drain(auditor) == []
        auditor.flush_due(5.0)
        later = drain(auditor)
        assert [json.loads(e.detail)["count"] for e in first + later] == [1, 3]

    def test_record_when_subjects_differ_throttles_each_apart(self) -> None:
        """Throttling is per kind and subject: a nonce error is not hidden by a rate limit."""
        auditor = VenueAuditor(wall_clock=lambda: 0.0)
        auditor.record(VENUE_REST_ERROR, "EAPI:Rate limit exceeded", 0.0)
        auditor.record(VENUE_REST_ERROR, "EAPI:Invalid nonce", 0.1)
        assert [e.subject for e in drain(auditor)] == [
            "EAPI:Rate limit exceeded",
            "EAPI:Invalid nonce",
        ]

    def test_record_when_channel_full_drops_and_counts(self) -> None:
        """Nobody reading never blocks the venue: the event is dropped and counted."""
        auditor = VenueAuditor(wall_clock=lambda: 0.0, buffer=1)
        auditor.record(VENUE_REST_ERROR, "a", 0.0)
        auditor.record(VENUE_REST_ERROR, "b", 0.0)
        assert auditor.dropped == 1


def failed(*errors: str) -> httpx.Response:
    return httpx.Response(200, json={"error": list(errors)})


class TestRestClientErrors:
    async def test_rate_limit_when_retried_then_exhausted_reports_each_attempt(self) -> None:
        """Every failed attempt reaches on_error: retries with their delay, then give_up."""
        seen: list[RestErrorSeen] = []
        client = KrakenRestClient(
            "http://kraken.test",
            api_key=LIVE.kraken_api_key,
            api_secret=LIVE.kraken_api_secret,
            transport=httpx.MockTransport(lambda _: failed("EAPI:Rate limit exceeded")),
            retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
            on_error=seen.append,
        )
        async with client:
            with pytest.raises(RateLimitExceeded):
                await client.balance()
        assert [(s.error, s.action, s.attempt) for s in seen] == [
            ("EAPI:Rate limit exceeded", "retry", 1),
            ("EAPI:Rate limit exceeded", "give_up", 2),
        ]
        assert seen[0].delay > 0
        assert seen[0].endpoint == "/0/private/Balance"


SIMULATORS: list[Simulator] = []


@asynccontextmanager
async def live_on_simulator(stall_after: float = 0.3) -> AsyncIterator[LiveVenue]:
    market = MarketSettings(tick_seconds=0.02, mispricing_rate=0.0)
    config = SimConfig(symbols=("BTC/USD", "ETH/USD"), market=market, ticking=False)
    async with trio.open_nursery() as nursery:
        running: Any = await nursery.start(serve_simulator, config)
        settings = attrs.evolve(
            LIVE, kraken_rest_url=running.rest_url, kraken_ws_private_url=running.ws_private_url
        )
        venue = LiveVenue(settings, stall_after=stall_after)
        await nursery.start(venue.run)
        SIMULATORS.append(running.simulator)
        yield venue
        nursery.cancel_scope.cancel()


async def next_audit(venue: LiveVenue, kind: str, subject: str) -> AuditEvent:
    with trio.fail_after(5):
        async for event in venue.audit_events:
            if event.kind == kind and event.subject == subject:
                return event
    raise AssertionError("the audit channel closed")


class TestLiveVenueAudit:
    async def test_live_venue_when_asked_is_an_auditing_venue(self) -> None:
        """The wiring recognises the live venue as one whose audit events it publishes."""
        async with live_on_simulator() as venue:
            assert isinstance(venue, AuditingVenue)

    async def test_nonce_error_when_met_is_audited_as_retried_without_secrets(self) -> None:
        """An invalid nonce that a retry hid still becomes venue.rest_error (retry)."""
        async with live_on_simulator() as venue:
            SIMULATORS[-1].set_faults({"nonce_errors": 1})
            await venue.balances()
            event = await next_audit(venue, VENUE_REST_ERROR, "EAPI:Invalid nonce")
        detail = json.loads(event.detail)
        assert detail["action"] == "retry"
        assert detail["endpoint"] == "/0/private/Balance"
        assert DEFAULT_API_KEY not in event.detail
        assert DEFAULT_API_SECRET not in event.detail

    async def test_rate_limit_when_met_is_audited_with_its_error_string(self) -> None:
        """A rate-limit answer becomes venue.rest_error with Kraken's error string."""
        async with live_on_simulator() as venue:
            SIMULATORS[-1].set_faults({"rate_limit_errors": 1})
            await venue.balances()
            event = await next_audit(venue, VENUE_REST_ERROR, "EAPI:Rate limit exceeded")
        assert json.loads(event.detail)["count"] == 1

    async def test_heartbeat_when_stalled_is_audited_then_its_end(self) -> None:
        """A private connection quiet past stall_after is venue.private_stalled (heartbeat)
        and, once frames flow again, venue.private_stall_ended."""
        async with live_on_simulator() as venue:
            SIMULATORS[-1].set_faults({"stalled_channels": ["heartbeat"]})
            await next_audit(venue, VENUE_PRIVATE_STALLED, "heartbeat")
            SIMULATORS[-1].set_faults({"stalled_channels": []})
            ended = await next_audit(venue, VENUE_PRIVATE_STALL_ENDED, "heartbeat")
        assert json.loads(ended.detail)["seconds"] > 0.3

    async def test_executions_when_stalled_after_an_ack_are_audited_then_their_end(self) -> None:
        """An acknowledged order that hears nothing on executions past stall_after is
        venue.private_stalled (executions); the late executions end it."""
        async with live_on_simulator() as venue:
            sim = SIMULATORS[-1]
            pair = sim.universe.pair("BTC/USD")
            bid = Decimal(sim.model.book("BTC/USD").best(BookSide.BID) or 0)
            resting = (bid * Decimal("0.9")).scaleb(-pair.price_precision)
            resting = resting.quantize(Decimal(1).scaleb(-pair.price_precision))
            sim.set_faults({"stalled_channels": ["executions"]})
            order = OrderRequest(
                "stall-1",
                "BTC/USD",
                Side.BUY,
                Decimal("0.01"),
                resting,
                deadline=trio.current_time() + 30,
                time_in_force="gtc",
            )
            await venue.submit(order)
            stalled = await next_audit(venue, VENUE_PRIVATE_STALLED, "executions")
            sim.set_faults({"stalled_channels": []})
            await next_audit(venue, VENUE_PRIVATE_STALL_ENDED, "executions")
        assert json.loads(stalled.detail)["orders_waiting"] == 1

    async def test_private_frame_when_truncated_is_audited_and_the_venue_resyncs(self) -> None:
        """A private frame that does not decode may have been an execution: it becomes
        venue.bad_frame (reason, never the frame's text) and the venue reconnects, so the
        executions snapshot rebuilds its orders (down, then up again)."""
        async with live_on_simulator(stall_after=30) as venue:
            sim = SIMULATORS[-1]
            sim.set_faults({"truncated_frames": 1})  # the next heartbeat is cut in half
            bad = await next_audit(venue, VENUE_BAD_FRAME, "private")
            down = await next_audit(venue, VENUE_CONNECTION, "down")
            up = await next_audit(venue, VENUE_CONNECTION, "up")
        detail = json.loads(bad.detail)
        assert detail["action"] == "reconnect"
        assert "excerpt" not in detail
        assert "heartbeat" not in bad.detail
        assert bad.at <= down.at <= up.at
        assert json.loads(up.detail)["reason"] == "reconnected"


class TestPublishing:
    async def test_venue_audit_when_published_reaches_the_audit_topic(self) -> None:
        """The wiring's forwarder puts every venue audit event on TOPIC_AUDIT, in order."""
        bus = Bus()
        subscription = bus.subscribe(TOPIC_AUDIT)
        auditor = VenueAuditor(wall_clock=lambda: 0.0)
        auditor.record(VENUE_REST_ERROR, "EAPI:Invalid nonce", 0.0)
        auditor.record(VENUE_PRIVATE_STALLED, "heartbeat", 0.0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_venue_audit, auditor.events, bus)
            with trio.fail_after(1):
                first, second = [await subscription.receive() for _ in range(2)]
            nursery.cancel_scope.cancel()
        assert (first.subject, second.subject) == ("EAPI:Invalid nonce", "heartbeat")

    def test_paper_venue_when_wired_is_not_an_auditing_venue(self) -> None:
        """Only venues that audit get a forwarder (the paper venue meets no REST errors)."""
        assert not isinstance(PaperVenue(taker_fee_rate=Decimal("0.0026")), AuditingVenue)
