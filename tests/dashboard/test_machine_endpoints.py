"""GET /health and GET /metrics through Quart's test client."""

from __future__ import annotations

from prometheus_client import REGISTRY
from quart.typing import TestClientProtocol as Client

from arbitrade.dashboard import AppState, SinkStatus, create_app
from arbitrade.messages import BookHealth, OrderState

from . import samples
from .conftest import settings


async def health(client: Client) -> tuple[int, dict[str, object]]:
    response = await client.get("/health")
    return response.status_code, await response.get_json()


class TestHealth:
    async def test_health_when_nothing_is_expected_answers_200_ok(self, client: Client) -> None:
        """A bot that declares no feeds and no sink is healthy."""
        status, body = await health(client)
        assert (status, body["status"], body["reasons"]) == (200, "ok", [])

    async def test_health_when_expected_feeds_are_live_and_sink_writes_answers_200(
        self, state: AppState, client: Client
    ) -> None:
        """Live feeds and a sink within its lag are healthy."""
        state.model.health.expect_feeds(["book", "ticker"])
        state.model.health.watch_sink(lambda: SinkStatus(lag_seconds=0.2), max_lag=5)
        state.model.apply_all([samples.feed("book"), samples.feed("ticker", "live")])
        status, body = await health(client)
        assert status == 200
        assert body["checks"] == {"feed.book": "ok", "feed.ticker": "ok", "sink": "ok"}

    async def test_health_when_a_feed_is_down_answers_503_with_its_reason(
        self, state: AppState, client: Client
    ) -> None:
        """A feed that is not live makes the bot unhealthy, with the feed's reason."""
        state.model.health.expect_feeds(["book"])
        state.model.apply(samples.feed("book", "disconnected", "connection reset"))
        status, body = await health(client)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["reasons"] == ["feed.book: disconnected (connection reset)"]

    async def test_health_when_an_expected_feed_never_reported_answers_503(
        self, state: AppState, client: Client
    ) -> None:
        """Silence from an expected feed is not health."""
        state.model.health.expect_feeds(["book"])
        status, body = await health(client)
        assert (status, body["reasons"]) == (503, ["feed.book: no state reported yet"])

    async def test_health_when_sink_lags_answers_503_with_the_lag(
        self, state: AppState, client: Client
    ) -> None:
        """A sink further behind than its limit is not writing."""
        state.model.health.watch_sink(lambda: SinkStatus(lag_seconds=12.0), max_lag=5)
        status, body = await health(client)
        assert (status, body["reasons"]) == (503, ["sink: lag 12.0s exceeds 5s"])

    async def test_health_when_sink_reports_an_error_answers_503_with_it(
        self, state: AppState, client: Client
    ) -> None:
        """The sink's own error is the reason."""
        state.model.health.watch_sink(lambda: SinkStatus(0.0, error="disk full"))
        status, body = await health(client)
        assert (status, body["reasons"]) == (503, ["sink: disk full"])

    async def test_health_when_sink_probe_raises_answers_503_instead_of_500(
        self, state: AppState, client: Client
    ) -> None:
        """A broken probe is an unhealthy sink, never a crashed health check."""

        def probe() -> SinkStatus:
            raise RuntimeError("sink actor stopped")

        state.model.health.watch_sink(probe)
        status, body = await health(client)
        assert status == 503
        assert "probe failed" in body["reasons"][0]

    async def test_health_when_a_named_condition_fails_answers_503(
        self, state: AppState, client: Client
    ) -> None:
        """Any condition the app sets counts."""
        state.model.health.set_condition("supervisor", False, "root gave up")
        status, body = await health(client)
        assert (status, body["reasons"]) == (503, ["supervisor: root gave up"])


class TestMetrics:
    async def test_metrics_when_messages_observed_exports_every_family(
        self, state: AppState, client: Client
    ) -> None:
        """/metrics speaks Prometheus text with rates, resyncs, rejections, orders, latency."""
        metrics = state.metrics
        assert metrics is not None
        state.model.health.watch_sink(lambda: SinkStatus(lag_seconds=0.5))
        for topic, message in [
            ("strategy.opportunities", samples.opportunity(1, at=10.0)),
            ("risk.decisions", samples.rejected(2, "min_profit")),
            ("market.book.state", samples.book_state(health=BookHealth.RESYNCING)),
            ("execution.orders", samples.order(state=OrderState.OPEN, at=10.004)),
            ("execution.fills", samples.fill()),
        ]:
            state.model.apply(message)
            metrics.observe(topic, message)
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain; version=0.0.4")
        text = await response.get_data(as_text=True)
        for line in [
            'arbitrade_bus_messages_total{topic="strategy.opportunities"} 1.0',
            'arbitrade_opportunities_total{strategy="triangular"} 1.0',
            'arbitrade_risk_rejections_total{reason="min_profit"} 1.0',
            'arbitrade_book_resyncs_total{symbol="BTC/USD"} 1.0',
            'arbitrade_orders{state="open"} 1.0',
            'arbitrade_order_updates_total{state="open"} 1.0',
            "arbitrade_tick_to_opportunity_seconds_count 1.0",
            "arbitrade_tick_to_order_seconds_count 1.0",
            'arbitrade_tick_to_order_seconds_bucket{le="0.005"} 1.0',
            "arbitrade_sink_lag_seconds 0.5",
            "arbitrade_bus_dropped_total 0.0",
        ]:
            assert line in text, line

    async def test_metrics_when_two_apps_exist_use_registries_of_their_own(self) -> None:
        """Nothing is registered in prometheus-client's global registry."""
        before = set(REGISTRY._names_to_collectors)
        create_app(AppState(settings=settings()))
        create_app(AppState(settings=settings()))
        assert set(REGISTRY._names_to_collectors) == before
