"""The Quart-Trio application factory: what the dashboard reads, and how its parts are wired.

``create_app(state)`` builds the app; serving it (Hypercorn's Trio worker, in the bot's
nursery) starts the feeder that folds the bus into ``state.model``. Routes live in
``_pages`` (pages, fragments, streams), ``_controls`` (operator POSTs) and ``_machine``
(``/health``, ``/metrics``).
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

import attrs
import trio
from quart_trio import QuartTrio

from actors import Bus, NodeInfo
from arbitrade.config import Settings
from arbitrade.dashboard._auth import csrf_token, signed_in_operator
from arbitrade.dashboard._backtests import register_backtests
from arbitrade.dashboard._controls import register_controls
from arbitrade.dashboard._feeder import feed_model
from arbitrade.dashboard._format import register_filters
from arbitrade.dashboard._machine import register_machine_endpoints
from arbitrade.dashboard._metrics import DashboardMetrics
from arbitrade.dashboard._model import DashboardModel
from arbitrade.dashboard._pages import register_pages
from arbitrade.messages import StrategyMode
from arbitrade.strategy.stat_arb import StatArbSettings

DEFAULT_STRATEGY_MODES = (StrategyMode.OFF, StrategyMode.TRIANGULAR)
"""Modes offered by the strategy control until stat-arb exists."""


class ActorTree(Protocol):
    """What the dashboard reads from the actor registry (``actors.Registry`` fits)."""

    def snapshot(self) -> tuple[NodeInfo, ...]:
        """Every supervisor and actor of the tree, sorted by path."""
        ...


@attrs.define
class AppState:
    """What the web layer reads about the running bot, and where it announces controls.

    Only ``settings`` is required: without a bus the pages show an empty model and controls
    change the model directly; without a registry the supervision page says the tree is not
    wired; without ``risk_limits`` the limits form is hidden (and /metrics has no daily loss
    limit); without ``stat_arb_settings`` the stat-arb charts have no threshold lines.
    """

    settings: Settings
    started_at: float = attrs.field(factory=trio.current_time)
    """Trio-clock time the bot started (uptime is measured from here)."""
    model: DashboardModel = attrs.field(factory=DashboardModel)
    """The read model; the app feeds its health inputs (``model.health``)."""
    bus: Bus | None = None
    """The system bus: the feeder and every live view subscribe lossy-latest to it."""
    registry: ActorTree | None = None
    """The actor registry, for the supervision tree and mailbox metrics."""
    risk_limits: Any | None = None
    """The risk gate's current limits (a frozen attrs settings instance), edited in place."""
    strategy_modes: tuple[StrategyMode, ...] = DEFAULT_STRATEGY_MODES
    """Modes the strategy control offers (add ``STAT_ARB``/``BOTH`` when stat-arb exists)."""
    stat_arb_settings: StatArbSettings | None = None
    """The stat-arb strategy's settings: its thresholds are drawn on the z-score charts."""
    metrics: DashboardMetrics | None = None
    """Made from ``model``, ``bus``, ``registry`` and ``risk_limits`` when not given."""

    def __attrs_post_init__(self) -> None:
        if self.metrics is None:
            self.metrics = DashboardMetrics(
                self.model,
                bus=self.bus,
                registry=self.registry,
                risk_limits=lambda: self.risk_limits,
            )


def create_app(state: AppState) -> QuartTrio:
    """Build the dashboard application for a running bot.

    When ``state.bus`` is set, serving the app (``hypercorn.trio.serve``) also runs
    :func:`~arbitrade.dashboard.feed_model` in the app's nursery until the server stops.
    """
    app = QuartTrio(__name__)
    app.config["ARBITRADE_STATE"] = state
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="arbitrade_session",
        TEMPLATES_AUTO_RELOAD=False,
    )
    # Sessions last as long as the process: a restart signs every operator out.
    app.secret_key = secrets.token_bytes(32)
    register_filters(app)

    @app.context_processor
    async def globals_for_templates() -> dict[str, Any]:
        return {
            "state": state,
            "controls": state.model.controls,
            "csrf_token": csrf_token,
            "operator": signed_in_operator(),
            "controls_enabled": bool(state.settings.operator_token),
        }

    @app.before_serving
    async def start_feeder() -> None:
        if state.bus is not None:
            await app.nursery.start(feed_model, state.bus, state.model, state.metrics)

    register_pages(app, state)
    register_controls(app, state)
    register_machine_endpoints(app, state)
    register_backtests(app, state)
    return app
