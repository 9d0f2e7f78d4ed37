"""Wiring of the running bot: the supervision tree and the dashboard in one Trio run."""

from __future__ import annotations

import signal

import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from arbitrade import __version__
from arbitrade.config import Settings
from arbitrade.dashboard.app import AppState, create_app

log = structlog.get_logger(__name__)


async def serve_dashboard(
    state: AppState, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve the dashboard with Hypercorn's Trio worker until cancelled."""
    config = HypercornConfig()
    config.bind = [f"{state.settings.app_host}:{state.settings.app_port}"]
    config.accesslog = None
    config.errorlog = None
    app = create_app(state)
    log.info(
        "dashboard.listening", url=f"http://{state.settings.app_host}:{state.settings.app_port}/"
    )
    await serve(app, config, task_status=task_status)  # type: ignore[arg-type]


async def _stop_on_signal(cancel_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("app.stopping", signal=signal.Signals(signum).name)
            cancel_scope.cancel()
            return


async def run_app(settings: Settings) -> None:
    """Run the whole bot until SIGTERM or SIGINT; then stop every child in order and return."""
    log.info("app.start", version=__version__, mode=settings.mode.value, env=settings.app_env)
    state = AppState(settings=settings)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
        await nursery.start(serve_dashboard, state)
    log.info("app.stopped")
