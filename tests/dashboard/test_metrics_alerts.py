"""The metrics ops alert on: kill switch, today's PnL against the daily loss limit, and
supervisor escalations (ops/prometheus/alerts.yml)."""

from __future__ import annotations

from decimal import Decimal

import attrs
from prometheus_client.parser import text_string_to_metric_families
from quart.typing import TestClientProtocol as Client

from actors import ChildRestarted, NodeInfo, SupervisorEscalated
from arbitrade.dashboard import AppState, DashboardMetrics, DashboardModel, create_app
from arbitrade.risk import RiskSettings

from . import samples
from .conftest import settings


def samples_of(metrics: DashboardMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every exported sample as ``(name, sorted labels) -> value``."""
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def names(metrics: DashboardMetrics) -> set[str]:
    return {name for name, _ in samples_of(metrics)}


class Tree:
    """A registry stand-in with two supervisors and one actor."""

    def snapshot(self) -> tuple[NodeInfo, ...]:
        return (
            NodeInfo("root", "supervisor", "running", 0, None),
            NodeInfo("root/feeds", "supervisor", "running", 0, None),
            NodeInfo("root/feeds/book", "actor", "running", 2, None),
        )


def escalated(path: str) -> SupervisorEscalated:
    return SupervisorEscalated(path, path.rsplit("/", 1)[-1], 3.0, max_restarts=3, within=5.0)


class TestKillSwitch:
    def test_kill_switch_when_released_exports_zero(self) -> None:
        """Released (the default): arbitrade_kill_switch_engaged is 0."""
        metrics = DashboardMetrics(DashboardModel())
        assert samples_of(metrics)["arbitrade_kill_switch_engaged", ()] == 0.0

    def test_kill_switch_when_engaged_on_the_control_topic_exports_one(self) -> None:
        """An engaged kill switch announced on the control topic exports 1, released 0 again."""
        model = DashboardModel()
        metrics = DashboardMetrics(model)
        model.apply(samples.control("kill_switch", "engaged", "released"))
        assert samples_of(metrics)["arbitrade_kill_switch_engaged", ()] == 1.0
        model.apply(samples.control("kill_switch", "released", "engaged", who="alice"))
        assert samples_of(metrics)["arbitrade_kill_switch_engaged", ()] == 0.0


class TestDailyLoss:
    def test_pnl_and_limit_when_both_known_are_exported_with_the_same_labels(self) -> None:
        """Today's realised PnL and the risk limit are label-free gauges in the home currency."""
        model = DashboardModel()
        limits = RiskSettings(daily_loss_limit=Decimal(250))
        metrics = DashboardMetrics(model, risk_limits=lambda: limits)
        model.apply(samples.portfolio(pnl_today="-85.5"))
        exported = samples_of(metrics)
        assert exported["arbitrade_realised_pnl_today", ()] == -85.5
        assert exported["arbitrade_daily_loss_limit", ()] == 250.0

    def test_pnl_when_no_portfolio_snapshot_yet_is_not_exported(self) -> None:
        """No snapshot, no PnL sample (rather than a made-up zero); the limit still is."""
        metrics = DashboardMetrics(DashboardModel(), risk_limits=RiskSettings)
        assert "arbitrade_realised_pnl_today" not in names(metrics)
        assert "arbitrade_daily_loss_limit" in names(metrics)

    def test_limit_when_no_risk_limits_wired_is_not_exported(self) -> None:
        """Without risk limits there is no limit sample."""
        assert "arbitrade_daily_loss_limit" not in names(DashboardMetrics(DashboardModel()))

    def test_limit_when_in_another_currency_than_the_pnl_is_not_exported(self) -> None:
        """A EUR limit is never compared with a USD PnL."""
        model = DashboardModel()
        limits = RiskSettings(home_asset="EUR")
        metrics = DashboardMetrics(model, risk_limits=lambda: limits)
        model.apply(samples.portfolio())
        assert "arbitrade_daily_loss_limit" not in names(metrics)
        assert "arbitrade_realised_pnl_today" in names(metrics)

    async def test_limit_when_edited_on_the_dashboard_is_read_at_the_next_scrape(self) -> None:
        """AppState wires the current limits: replacing them changes /metrics."""
        state = AppState(settings=settings(), risk_limits=RiskSettings())
        client: Client = create_app(state).test_client()
        limits = state.risk_limits
        assert isinstance(limits, RiskSettings)
        state.risk_limits = attrs.evolve(limits, daily_loss_limit=Decimal("75.5"))
        text = await (await client.get("/metrics")).get_data(as_text=True)
        assert "arbitrade_daily_loss_limit 75.5" in text


class TestEscalations:
    def test_escalations_when_restart_log_has_them_are_counted_by_path(self) -> None:
        """Each SupervisorEscalated event counts once for its supervisor's path."""
        model = DashboardModel()
        metrics = DashboardMetrics(model)
        model.apply_all(
            [
                escalated("root/feeds"),
                escalated("root/feeds"),
                escalated("root"),
                ChildRestarted("root/feeds/book", "book", 2.0, restart_count=1),
            ]
        )
        exported = samples_of(metrics)
        path = "arbitrade_supervisor_escalations_total"
        assert exported[path, (("path", "root/feeds"),)] == 2.0
        assert exported[path, (("path", "root"),)] == 1.0
        assert (path, (("path", "root/feeds/book"),)) not in exported

    def test_escalations_when_registry_wired_start_every_supervisor_at_zero(self) -> None:
        """Known supervisors export 0 before any escalation, so increase() sees the first."""
        model = DashboardModel()
        metrics = DashboardMetrics(model, registry=Tree())
        model.apply(escalated("root/feeds"))
        exported = samples_of(metrics)
        path = "arbitrade_supervisor_escalations_total"
        assert exported[path, (("path", "root"),)] == 0.0
        assert exported[path, (("path", "root/feeds"),)] == 1.0
        assert (path, (("path", "root/feeds/book"),)) not in exported


async def test_metrics_endpoint_when_scraped_lists_every_alerted_metric() -> None:
    """/metrics of a wired app carries the four families the alert rules read."""
    state = AppState(settings=settings(), registry=Tree(), risk_limits=RiskSettings())
    state.model.apply(samples.portfolio())
    client: Client = create_app(state).test_client()
    text = await (await client.get("/metrics")).get_data(as_text=True)
    for line in (
        "# TYPE arbitrade_kill_switch_engaged gauge",
        "# TYPE arbitrade_realised_pnl_today gauge",
        "# TYPE arbitrade_daily_loss_limit gauge",
        "# TYPE arbitrade_supervisor_escalations_total counter",
    ):
        assert line in text, line
