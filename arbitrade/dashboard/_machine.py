"""Endpoints for machines: ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
from quart import Quart, Response

from arbitrade import __version__
from arbitrade.dashboard._metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from arbitrade.dashboard.app import AppState


def register_machine_endpoints(app: Quart, state: AppState) -> None:
    """Add ``/health`` and ``/metrics`` to ``app``."""

    @app.get("/health")
    async def health() -> tuple[dict[str, Any], int]:
        """200 when every health input holds, else 503 with the reasons (container checks)."""
        now = trio.current_time()
        report = state.model.health_report(now)
        body = {
            "status": "ok" if report.ok else "unhealthy",
            "reasons": list(report.reasons),
            "checks": dict(report.checks),
            "version": __version__,
            "mode": state.settings.mode.value,
            "uptime_seconds": round(now - state.started_at, 3),
        }
        return body, 200 if report.ok else 503

    @app.get("/metrics")
    async def metrics() -> Response:
        """Every dashboard metric in the Prometheus text format."""
        assert state.metrics is not None  # create_app always sets it
        return Response(state.metrics.render(), content_type=CONTENT_TYPE)
