"""Wiring of the running bot: the supervision tree and the dashboard in one Trio run.

Start order (stop order is the reverse, so nothing loses its consumer while it still works):

1. the embedded Kraken simulator (sim mode only) — the exchange must exist before the feeds;
2. the venue (paper in sim and paper mode, Kraken in live mode);
3. the actor tree under ``root``: ``persistence`` (DuckDB writer thread, then the sink, so every
   later publisher is recorded and the sink stops last), ``trading`` (executor, portfolio,
   risk gate), ``market`` (feeds, books, the pair graph);
4. the forwarding tasks that route bus topics into the actors' mailboxes;
5. the dashboard, last, so ``/health`` answers only when the bot is really up.

Modes differ only in the exchange URLs and the venue (design.md, "Modes stay out of the engines").
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from actors import Intensity, Strategy, SupervisorSpec, System, run_system
from arbitrade import __version__
from arbitrade.components import Components, load_components
from arbitrade.config import Mode, Settings
from arbitrade.dashboard import DashboardModel
from arbitrade.dashboard._model import ControlState
from arbitrade.dashboard.app import AppState, create_app
from arbitrade.engines import ROOT as ROOT
from arbitrade.engines import engine_tree as engine_tree
from arbitrade.engines import run_tree_io as run_tree_io
from arbitrade.execution import (
    LiveVenue,
    PaperVenue,
    Venue,
    load_unfinished_orders,
    parse_balances,
    rates_from_taker_fees,
)
from arbitrade.graph import load_taker_fees
from arbitrade.heap import HeapTrimmer, fix_malloc
from arbitrade.kraken import Transport, TrioWebsocketTransport
from arbitrade.messages import OrderUpdate, StrategyMode
from arbitrade.persistence import sink_child, writer_child

if TYPE_CHECKING:
    from arbitrade.sim import RunningSimulator

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


async def start_exchange(
    nursery: trio.Nursery, settings: Settings, *, simulator: RunningSimulator | None = None
) -> Settings:
    """In sim mode, start the embedded simulator and point the settings at it: in a child
    process (``settings.sim_process``, the default; ADR 14) or on this loop.

    ``simulator``, when given, is one already serving (a test's, with its own universe and
    mispricings): the settings point at it and nothing is started.
    """
    if settings.mode is not Mode.SIM:
        return settings
    from arbitrade.sim import SimConfig, serve_simulator, serve_simulator_process

    running: Any = simulator
    if running is None and settings.sim_process:
        running = await nursery.start(serve_simulator_process, settings.sim_seed, settings.sim_port)
        log.info("sim.embedded", url=running.rest_url, seed=settings.sim_seed, process=running.pid)
    elif running is None:
        running = await nursery.start(
            serve_simulator, SimConfig(seed=settings.sim_seed, port=settings.sim_port)
        )
        log.info("sim.embedded", url=running.rest_url, seed=settings.sim_seed, process=None)
    return attrs.evolve(
        settings,
        kraken_rest_url=running.rest_url,
        kraken_ws_public_url=running.ws_public_url,
        kraken_ws_private_url=running.ws_private_url,
    )


def make_venue(settings: Settings, components: Components) -> Venue:
    """Paper fills in sim and paper mode; Kraken itself in live mode."""
    if settings.mode is Mode.LIVE:
        venue: Venue = LiveVenue(settings)
        return venue
    fees = load_taker_fees(components.graph)
    return PaperVenue(
        taker_fee_rate=fees.default_rate,
        latency=components.execution.paper_latency_seconds,
        balances=parse_balances(components.execution.paper_balances),
        rates=rates_from_taker_fees(fees),
    )


def persistence_supervisor(settings: Settings, components: Components) -> SupervisorSpec:
    """The DuckDB writer thread, then the sink (so every later publisher is recorded)."""
    return SupervisorSpec(
        "persistence",
        [
            writer_child(settings.duckdb_path),
            sink_child(settings=components.sink),
        ],
        # One for one: a crashed writer thread restarts alone while the sink keeps buffering
        # and retries its batch (rest-for-one made the sink wait 30 s on the dead writer and
        # lose its buffer: found by the soak, tests/soak/test_writer_crash.py).
        strategy=Strategy.ONE_FOR_ONE,
        intensity=Intensity(max_restarts=5, within=60.0),
    )


def build_tree(
    settings: Settings,
    components: Components,
    venue: Venue,
    *,
    market_transport: Transport | None = None,
    unfinished_orders: Sequence[OrderUpdate] = (),
) -> SupervisorSpec:
    """The whole supervision tree of the live bot (sim, paper or live mode).

    :func:`engine_tree` with persistence, the exchange's public URL and the defaults.
    ``market_transport`` replaces the feeds' WebSocket transport (a recording one for
    ``arbitrade run --record DIR``); ``unfinished_orders`` are the orders an earlier process
    left unfinished (:func:`unfinished_orders_at_start`).
    """
    return engine_tree(
        components,
        venue,
        market_url=settings.kraken_ws_public_url,
        market_transport=market_transport,
        persistence=persistence_supervisor(settings, components),
        unfinished_orders=unfinished_orders,
    )


def unfinished_orders_at_start(settings: Settings) -> tuple[OrderUpdate, ...]:
    """In live mode, the orders the last process left unfinished in DuckDB (read before the
    writer locks the file); the executor resolves each at Kraken before its first cycle.

    Paper and sim fills die with their process, so there is nothing to resolve there.
    """
    if settings.mode is not Mode.LIVE:
        return ()
    orders = load_unfinished_orders(settings.duckdb_path)
    if orders:
        log.warning("app.unfinished_orders", count=len(orders))
    return orders


def dashboard_state(settings: Settings, components: Components, system: System) -> AppState:
    """The dashboard's view of the running system, with its health inputs declared."""
    model = DashboardModel(
        controls=ControlState(
            strategy_mode=components.strategy_mode,
            kill_switch=components.risk.kill_switch_engaged,
        )
    )
    model.health.expect_feeds(["book", *components.market.channels])
    modes = tuple(StrategyMode)
    return AppState(
        settings=settings,
        model=model,
        bus=system.bus,
        registry=system.registry,
        risk_limits=components.risk,
        stat_arb_settings=components.stat_arb,
        strategy_modes=modes,
    )


async def run_app(
    settings: Settings,
    components: Components | None = None,
    *,
    simulator: RunningSimulator | None = None,
    record: Path | None = None,
    task_status: trio.TaskStatus[System] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the whole bot until SIGTERM or SIGINT; then stop every child in order and return.

    For tests: ``system = await nursery.start(run_app, settings)`` reports the actor system
    once everything is up (after ``app.ready``), and cancelling the caller's scope stops the
    bot as SIGTERM does (the sink flushes on the way). In sim mode ``simulator`` replaces the
    embedded simulator with one the caller already serves (see :func:`start_exchange`).
    ``record`` stores every raw market frame the feeds receive under that folder (zstd
    Parquet by day and channel, written off the Trio loop) for backtests.

    Raises:
        ConfigError: a component's settings file is invalid (checked before anything starts).
    """
    components = components if components is not None else load_components()
    # A short GIL switch interval lets the Trio loop preempt the DuckDB writer thread quickly
    # (measured: sink batches 125 ms -> 24 ms, loop lateness down); see benchmarks/bench_sink.py.
    sys.setswitchinterval(0.0005)
    fix_malloc()  # before any thread starts: glibc's heap stays compact (ADR 17)
    log.info("app.start", version=__version__, mode=settings.mode.value, env=settings.app_env)
    # The recorder (if any) outlives the nursery: it is flushed after every feed has stopped.
    with contextlib.ExitStack() as resources:
        transport: Transport | None = None
        if record is not None:
            from arbitrade.backtest import RecordingTransport, open_recorder

            recorder = resources.enter_context(open_recorder(record))
            transport = RecordingTransport(TrioWebsocketTransport(), recorder)
            log.info("app.recording", folder=str(record))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            settings = await start_exchange(nursery, settings, simulator=simulator)
            venue = make_venue(settings, components)
            await nursery.start(venue.run)
            tree = build_tree(
                settings,
                components,
                venue,
                market_transport=transport,
                unfinished_orders=unfinished_orders_at_start(settings),
            )
            system: System = await nursery.start(run_system, tree)
            await nursery.start(run_tree_io, system, venue, components)
            await nursery.start(serve_dashboard, dashboard_state(settings, components, system))
            # Everything allocated so far lives for the whole run: keep it out of the
            # collector's generations so full collections stay short on the hot path.
            gc.freeze()
            nursery.start_soon(HeapTrimmer().run)  # freed C heap back to the OS (ADR 17)
            log.info("app.ready", mode=settings.mode.value)
            task_status.started(system)
    log.info("app.stopped")
