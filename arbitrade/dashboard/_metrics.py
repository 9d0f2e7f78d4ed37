"""Prometheus metrics for ``GET /metrics``, in a registry of their own.

Counters and histograms are updated by :meth:`DashboardMetrics.observe` for each message the
feeder receives; gauges that describe "now" (orders by state, bus and mailbox statistics,
supervisor restarts and escalations, sink lag, feed health, the kill switch, today's realised
PnL against the daily loss limit) are read at scrape time from the model, the bus, the actor
registry and the risk limits. The process-wide default registry is never touched, so several
apps (and tests) can live in one process. ``ops/prometheus/alerts.yml`` alerts on these names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors import Bus, NodeInfo
from arbitrade.dashboard._model import DashboardModel
from arbitrade.messages import (
    BookHealth,
    BookStateChanged,
    Fill,
    Opportunity,
    OrderUpdate,
    RiskAccepted,
    RiskRejected,
)


class _Tree(Protocol):
    def snapshot(self) -> tuple[NodeInfo, ...]: ...


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format's content type."""

LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
"""Seconds: from 100 µs (a fast in-process hop) to 2.5 s (something is badly wrong)."""

_OPPORTUNITY_MEMORY = 10_000


class DashboardMetrics:
    """Every metric the dashboard exports, registered in its own ``CollectorRegistry``."""

    def __init__(
        self,
        model: DashboardModel,
        *,
        bus: Bus | None = None,
        registry: _Tree | None = None,
        risk_limits: Callable[[], Any] | None = None,
    ) -> None:
        """Register every metric.

        Args:
            model: the read model the gauges describe.
            bus: its statistics become the ``arbitrade_bus_*`` metrics (none without it).
            registry: the actor tree, for restarts, mailboxes and which supervisors exist.
            risk_limits: returns the risk gate's current limits (or None) at each scrape; its
                ``daily_loss_limit`` becomes ``arbitrade_daily_loss_limit``.
        """
        self.registry = CollectorRegistry(auto_describe=True)
        self._model = model
        reg = self.registry
        self.messages = Counter(
            "arbitrade_bus_messages",
            "Messages the dashboard received from the bus, by topic (rate() gives rates).",
            ["topic"],
            registry=reg,
        )
        self.book_resyncs = Counter(
            "arbitrade_book_resyncs", "Times a book started resyncing.", ["symbol"], registry=reg
        )
        self.opportunities = Counter(
            "arbitrade_opportunities", "Opportunities detected.", ["strategy"], registry=reg
        )
        self.risk_accepted = Counter(
            "arbitrade_risk_accepted", "Opportunities the risk gate accepted.", registry=reg
        )
        self.risk_rejections = Counter(
            "arbitrade_risk_rejections",
            "Opportunities the risk gate rejected, by reason.",
            ["reason"],
            registry=reg,
        )
        self.order_updates = Counter(
            "arbitrade_order_updates", "Order state changes, by new state.", ["state"], registry=reg
        )
        self.fills = Counter("arbitrade_fills", "Fills of our orders.", ["symbol"], registry=reg)
        self.tick_to_opportunity = Histogram(
            "arbitrade_tick_to_opportunity_seconds",
            "From the market frame's receipt to the opportunity's detection.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.tick_to_order = Histogram(
            "arbitrade_tick_to_order_seconds",
            "From the market frame's receipt to the first order update of its cycle.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        reg.register(_LiveCollector(model, bus, registry, risk_limits or _no_limits))
        # Receive times of recent opportunities, to measure tick-to-order at the first order.
        self._received_at: dict[str, float] = {}

    def observe(self, topic: str, message: object) -> None:
        """Count ``message`` (received on ``topic``) into the counters and histograms."""
        self.messages.labels(topic).inc()
        match message:
            case Opportunity():
                self.opportunities.labels(message.strategy).inc()
                self.tick_to_opportunity.observe(max(0.0, message.latency))
                self._remember(message)
            case RiskAccepted():
                self.risk_accepted.inc()
            case RiskRejected():
                self.risk_rejections.labels(message.reason).inc()
            case OrderUpdate():
                self.order_updates.labels(message.state.value).inc()
                received_at = self._received_at.pop(message.cycle_id, None)
                if received_at is not None:
                    self.observe_tick_to_order(message.at - received_at)
            case Fill():
                self.fills.labels(message.symbol).inc()
            case BookStateChanged() if message.health is BookHealth.RESYNCING:
                self.book_resyncs.labels(message.symbol).inc()
            case _:
                pass

    def observe_tick_to_order(self, seconds: float) -> None:
        """Record one tick-to-order latency (for an executor that measures it itself)."""
        self.tick_to_order.observe(max(0.0, seconds))

    def _remember(self, opportunity: Opportunity) -> None:
        if len(self._received_at) >= _OPPORTUNITY_MEMORY:
            # dicts keep insertion order: forget the oldest (never ordered) opportunity
            self._received_at.pop(next(iter(self._received_at)))
        self._received_at[opportunity.id] = opportunity.received_at

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def _no_limits() -> None:
    return None


class _LiveCollector(Collector):
    """Gauges read at scrape time from the model, the bus, the actor registry and the limits."""

    def __init__(
        self,
        model: DashboardModel,
        bus: Bus | None,
        registry: _Tree | None,
        risk_limits: Callable[[], Any],
    ) -> None:
        self._model = model
        self._bus = bus
        self._registry = registry
        self._risk_limits = risk_limits

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        model = self._model
        orders = GaugeMetricFamily(
            "arbitrade_orders", "Recent orders by current state.", labels=["state"]
        )
        for state, count in sorted(model.orders_by_state().items()):
            orders.add_metric([state], count)
        yield orders

        feeds = GaugeMetricFamily(
            "arbitrade_feed_live", "1 when the feed's last state is live.", labels=["channel"]
        )
        for channel, status in sorted(model.feeds.items()):
            feeds.add_metric([channel], 1.0 if status.live else 0.0)
        yield feeds

        restarts = CounterMetricFamily(
            "arbitrade_supervisor_restarts",
            "Restarts of each actor since the system started.",
            labels=["path"],
        )
        if self._registry is not None:
            for node in self._registry.snapshot():
                restarts.add_metric([node.path], node.restarts)
        else:
            for path, count in sorted(model.restart_counts.items()):
                restarts.add_metric([path], count)
        yield restarts
        yield self._escalations()
        yield from self._risk()

        if self._registry is not None:
            queued = GaugeMetricFamily(
                "arbitrade_mailbox_queued", "Messages waiting in each mailbox.", labels=["path"]
            )
            dropped = CounterMetricFamily(
                "arbitrade_mailbox_dropped", "Messages each mailbox dropped.", labels=["path"]
            )
            for node in self._registry.snapshot():
                if node.mailbox is not None:
                    queued.add_metric([node.path], node.mailbox.queued)
                    dropped.add_metric([node.path], node.mailbox.dropped)
            yield queued
            yield dropped

        if self._bus is not None:
            stats = self._bus.statistics()
            yield CounterMetricFamily(
                "arbitrade_bus_published", "Events published on the bus.", value=stats.published
            )
            yield CounterMetricFamily(
                "arbitrade_bus_dropped",
                "Events dropped by lossy-latest subscriptions (dashboards, slow browsers).",
                value=stats.dropped,
            )
            yield GaugeMetricFamily(
                "arbitrade_bus_subscriptions", "Live bus subscriptions.", value=stats.subscriptions
            )

        sink = model.health.sink_status()
        if sink is not None:
            yield GaugeMetricFamily(
                "arbitrade_sink_lag_seconds",
                "Age of the oldest event the persistence sink has not committed.",
                value=sink.lag_seconds,
            )

    def _escalations(self) -> Metric:
        # Every known supervisor starts at 0, so increase() sees the first escalation.
        counts = dict.fromkeys(
            (
                node.path
                for node in (self._registry.snapshot() if self._registry is not None else ())
                if node.kind == "supervisor"
            ),
            0,
        )
        counts.update(self._model.escalation_counts)
        escalations = CounterMetricFamily(
            "arbitrade_supervisor_escalations",
            "Times each supervisor exceeded its restart intensity and gave up (restart log).",
            labels=["path"],
        )
        for path, count in sorted(counts.items()):
            escalations.add_metric([path], count)
        return escalations

    def _risk(self) -> Iterator[Metric]:
        model = self._model
        yield GaugeMetricFamily(
            "arbitrade_kill_switch_engaged",
            "1 while the kill switch is engaged (nothing trades), 0 when released.",
            value=1.0 if model.controls.kill_switch else 0.0,
        )
        portfolio = model.portfolio
        if portfolio is not None:
            yield GaugeMetricFamily(
                "arbitrade_realised_pnl_today",
                "Realised PnL of the current UTC day in the home currency (a loss is negative).",
                value=float(portfolio.realised_pnl_today),
            )
        limit = _daily_loss_limit(self._risk_limits(), portfolio.home if portfolio else None)
        if limit is not None:
            yield GaugeMetricFamily(
                "arbitrade_daily_loss_limit",
                "Realised loss in one UTC day at which the risk gate engages the kill switch, "
                "in the home currency.",
                value=float(limit),
            )


def _daily_loss_limit(limits: Any, home: str | None) -> Decimal | None:
    """The limits' ``daily_loss_limit``, unless absent or in another currency than the PnL.

    Comparing a loss in one currency with a limit in another would make the alert fire (or
    stay quiet) for the wrong reason, so then no limit is exported.
    """
    value = getattr(limits, "daily_loss_limit", None)
    if not isinstance(value, Decimal | int | float):
        return None
    limit_home = getattr(limits, "home_asset", None)
    if home is not None and isinstance(limit_home, str) and limit_home != home:
        return None
    return Decimal(value)
