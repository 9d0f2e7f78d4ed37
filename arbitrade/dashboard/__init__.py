"""The Quart-Trio dashboard: pages, fragments, SSE streams, controls, /health and /metrics.

Layering: ``_model`` (the read model, with ``_health`` inputs) is folded from the bus by
``_feeder``; ``_metrics`` exports it to Prometheus; ``_pages``, ``_controls`` and ``_machine``
are the routes that ``app.create_app`` wires together. ``demo`` runs it with a fake market.
"""

from arbitrade.dashboard._feeder import DASHBOARD_TOPICS as DASHBOARD_TOPICS
from arbitrade.dashboard._feeder import feed_model as feed_model
from arbitrade.dashboard._health import FeedStatus as FeedStatus
from arbitrade.dashboard._health import HealthInputs as HealthInputs
from arbitrade.dashboard._health import HealthReport as HealthReport
from arbitrade.dashboard._health import SinkStatus as SinkStatus
from arbitrade.dashboard._metrics import DashboardMetrics as DashboardMetrics
from arbitrade.dashboard._model import Capacity as Capacity
from arbitrade.dashboard._model import ControlState as ControlState
from arbitrade.dashboard._model import DashboardModel as DashboardModel
from arbitrade.dashboard.app import AppState as AppState
from arbitrade.dashboard.app import create_app as create_app

__all__ = [
    "DASHBOARD_TOPICS",
    "AppState",
    "Capacity",
    "ControlState",
    "DashboardMetrics",
    "DashboardModel",
    "FeedStatus",
    "HealthInputs",
    "HealthReport",
    "SinkStatus",
    "create_app",
    "feed_model",
]
