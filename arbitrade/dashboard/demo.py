"""Run the dashboard alone against a fake market: ``python -m arbitrade.dashboard.demo``.

For browser tests and for a look at the dashboard before the bot is wired. It serves on
``--host``/``--port`` with Hypercorn's Trio worker, prints one ``demo.listening`` line with
the URL when ready, and stops cleanly on SIGINT or SIGTERM. Nothing trades: every message is
synthetic (see ``_fake_market`` and ``_fake_stat_arb``).
"""

from __future__ import annotations

import argparse
import signal
import sys

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from actors import Bus
from arbitrade.config import Mode, Secret, Settings
from arbitrade.dashboard._fake_market import FEEDS, FakeMarket
from arbitrade.dashboard._fake_stat_arb import run_fake_stat_arb
from arbitrade.dashboard._health import SinkStatus
from arbitrade.dashboard._model import DashboardModel
from arbitrade.dashboard.app import AppState, create_app
from arbitrade.strategy.stat_arb import StatArbSettings


def build_state(token: str, *, host: str, port: int, seed: int) -> tuple[AppState, FakeMarket]:
    """The dashboard's state wired to a fake market on a fresh bus."""
    bus = Bus()
    market = FakeMarket(bus, seed=seed)
    settings = Settings(
        app_env="demo",
        app_host=host,
        app_port=port,
        mode=Mode.SIM,
        operator_token=Secret(token),
    )
    model = DashboardModel()
    model.health.expect_feeds(FEEDS)
    model.health.watch_sink(lambda: SinkStatus(lag_seconds=0.05))
    state = AppState(
        settings=settings,
        model=model,
        bus=bus,
        registry=market.tree,
        risk_limits=market.limits,
        stat_arb_settings=StatArbSettings(),
    )
    return state, market


async def run_demo(token: str, *, host: str, port: int, seed: int) -> None:
    """Serve the dashboard and run the fake market until SIGINT/SIGTERM."""
    state, market = build_state(token, host=host, port=port, seed=seed)
    app = create_app(state)
    config = HypercornConfig()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
        await nursery.start(serve, app, config)  # the feeder subscribes before serving
        await nursery.start(market.run)
        thresholds = state.stat_arb_settings or StatArbSettings()
        await nursery.start(run_fake_stat_arb, market.bus, thresholds)
        print(f"demo.listening url=http://{host}:{port}/", flush=True)


async def _stop_on_signal(cancel_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            cancel_scope.cancel()
            return


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the demo; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m arbitrade.dashboard.demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--token", default="demo-operator-token", help="operator token")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    trio.run(lambda: run_demo(args.token, host=args.host, port=args.port, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
