"""Server-sent event streams: live rows, one lossy-latest subscription per tab, gone on close."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from quart import Quart

from actors import Bus
from arbitrade.dashboard import AppState, create_app, feed_model
from arbitrade.messages import TOPIC_BOOK_TOP, TOPIC_OPPORTUNITIES

from . import samples
from .conftest import settings
from .sse import open_stream


@pytest.fixture
async def app(state: AppState) -> Quart:
    return create_app(state)


class TestOpportunityStream:
    async def test_stream_when_opportunity_published_sends_its_row(
        self, bus: Bus, app: Quart
    ) -> None:
        """A published opportunity reaches the open stream as an 'opportunity' event."""
        async with open_stream(app, "/stream/opportunities") as stream:
            assert await stream.receive() == b"retry: 3000\n\n"
            assert stream.status == 200
            await bus.publish(TOPIC_OPPORTUNITIES, samples.opportunity(3))
            frame = await stream.read_event("opportunity")
            assert 'data: <tr class="opportunity fresh" data-id="opp-3">' in frame

    async def test_stream_when_client_disconnects_unsubscribes(self, bus: Bus, app: Quart) -> None:
        """Closing the tab removes its subscription from the bus."""
        async with open_stream(app, "/stream/opportunities") as stream:
            await stream.receive()
            assert len(bus.subscriptions(TOPIC_OPPORTUNITIES)) == 1
        assert bus.subscriptions(TOPIC_OPPORTUNITIES) == ()

    async def test_stream_when_subscribed_uses_a_lossy_latest_subscription(
        self, bus: Bus, app: Quart
    ) -> None:
        """Live views never subscribe losslessly."""
        async with open_stream(app, "/stream/opportunities") as stream:
            await stream.receive()
            (stats,) = bus.subscriptions(TOPIC_OPPORTUNITIES)
            assert stats.policy == "lossy_latest"

    async def test_stream_when_client_stalls_never_blocks_the_publisher(
        self, bus: Bus, app: Quart, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A tab that stops reading loses its oldest rows; publishers never wait for it."""
        async with open_stream(app, "/stream/opportunities") as stream:
            await stream.receive()
            # Never read again: the stream's writer blocks once the transport is full.
            with trio.fail_after(1):  # virtual: fails only if a publish had to wait
                for number in range(2_000):
                    await bus.publish(TOPIC_OPPORTUNITIES, samples.opportunity(number))
            (stats,) = bus.subscriptions(TOPIC_OPPORTUNITIES)
            assert stats.dropped > 0
            assert stats.queued <= stats.capacity

    async def test_stream_when_idle_sends_keepalive_comments(
        self, app: Quart, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A quiet stream sends a comment line so proxies keep it open."""
        async with open_stream(app, "/stream/opportunities") as stream:
            await stream.receive()
            assert await stream.receive() == b": keepalive\n\n"

    async def test_stream_when_no_bus_wired_answers_503(self) -> None:
        """Without a bus there is nothing to stream, and the answer says so."""
        client = create_app(AppState(settings=settings())).test_client()
        response = await client.get("/stream/opportunities")
        assert response.status_code == 503


class TestBookStream:
    async def test_stream_when_tops_of_several_pairs_published_sends_only_the_chosen_pair(
        self, bus: Bus, app: Quart
    ) -> None:
        """The book stream renders the chosen pair's levels and skips the others."""
        async with open_stream(app, "/stream/books?symbol=ETH/USD") as stream:
            await stream.receive()
            await bus.publish(TOPIC_BOOK_TOP, samples.book_top("BTC/USD"))
            await bus.publish(TOPIC_BOOK_TOP, samples.book_top("ETH/USD", bid=31_000, ask=31_010))
            frame = await stream.read_event("book")
            assert "<h2>ETH/USD</h2>" in frame
            assert "3,100" in frame
            assert "BTC/USD" not in frame


class TestFeeder:
    async def test_feed_model_when_messages_published_folds_them_into_model_and_metrics(
        self, bus: Bus, state: AppState
    ) -> None:
        """The feeder applies bus messages to the model and counts them."""
        assert state.metrics is not None
        async with trio.open_nursery() as nursery:
            await nursery.start(feed_model, bus, state.model, state.metrics)
            await bus.publish(TOPIC_OPPORTUNITIES, samples.opportunity(1))
            await trio.testing.wait_all_tasks_blocked()
            assert state.model.counts.opportunities == 1
            nursery.cancel_scope.cancel()
        assert bus.statistics().subscriptions == 0
        assert "arbitrade_opportunities_total" in state.metrics.render().decode()

    async def test_app_when_served_starts_the_feeder(self, bus: Bus, state: AppState) -> None:
        """Serving the app (its lifespan) starts folding the bus into the model."""
        app = create_app(state)
        async with app.test_app():
            await bus.publish(TOPIC_OPPORTUNITIES, samples.opportunity(1))
            await trio.testing.wait_all_tasks_blocked()
            assert state.model.counts.opportunities == 1
