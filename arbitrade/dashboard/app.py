"""The Quart-Trio application factory and the machine endpoints."""

from __future__ import annotations

from typing import Any

import attrs
import trio
from quart_trio import QuartTrio

from arbitrade import __version__
from arbitrade.config import Settings


@attrs.define
class AppState:
    """What the web layer reads about the running bot."""

    settings: Settings
    started_at: float = attrs.field(factory=trio.current_time)


def create_app(state: AppState) -> QuartTrio:
    """Build the dashboard application for a running bot."""
    app = QuartTrio(__name__)
    app.config["ARBITRADE_STATE"] = state

    @app.get("/health")
    async def health() -> tuple[dict[str, Any], int]:
        return {
            "status": "ok",
            "version": __version__,
            "mode": state.settings.mode.value,
            "uptime_seconds": round(trio.current_time() - state.started_at, 3),
        }, 200

    return app
