"""The bot under test, in this process: the running app's tree with handles the soak needs.

:func:`run_bot` starts what :func:`arbitrade.app.run_app` starts, from the same building blocks
(``build_tree``, ``make_venue``, ``dashboard_state``, ``serve_dashboard``, ``run_tree_io``:
the trading actors' inputs, the stat-arb strategy's, and the live venue's audit events), in the
same order, and reports a :class:`BotHandle` holding the embedded :class:`Simulator`,
the actor :class:`System` and the venue, which ``run_app`` keeps to itself. It differs in
four ways only, each for a measurement:

* the system is created before its tree starts, so an observer can subscribe to the bus before
  the first event is published (``on_system``);
* the simulator's universe can be scaled (``extra_assets``), for the memory ceiling;
* the simulator can run in a child process of its own (``simulator_in_process=False``, see
  :mod:`arbitrade.soak._simproc`), so it neither competes for the bot's Trio loop nor counts
  in the bot's RSS;
* ``venue="exchange"`` trades against the embedded simulator through :class:`LiveVenue` (its
  default test key), so orders reach the simulator's ``received_orders`` and its rate-limit and
  nonce faults reach the bot; ``venue="paper"`` keeps ``run_app``'s paper fills.

If ``run_app`` grows wiring of its own (a forwarding task that is not in ``build_tree``), this
module must follow; the soak reports "not measurable" for what it then cannot see.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable
from typing import Any, Literal

import attrs
import trio

from actors import System
from arbitrade.app import build_tree, dashboard_state, make_venue, serve_dashboard
from arbitrade.components import Components
from arbitrade.config import Mode, Settings
from arbitrade.config._secret import Secret
from arbitrade.engines import run_tree_io
from arbitrade.execution import LiveVenue, Venue
from arbitrade.heap import HeapTrimmer, fix_malloc
from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimConfig, serve_simulator
from arbitrade.soak._simproc import (
    InProcessSimulator,
    SimAddresses,
    SimulatorControl,
    simulator_process,
)

VenueChoice = Literal["exchange", "paper"]


@attrs.frozen
class BotHandle:
    """A running bot, as the soak sees it."""

    settings: Settings
    """The settings the bot runs with (URLs point at the embedded simulator)."""
    simulator: SimulatorControl
    """The simulator, in this process or its own (fault knobs, orders received, balances)."""
    system: System
    """The actor system: bus, registry, restart log."""
    venue: Venue
    venue_kind: VenueChoice
    dashboard_url: str
    sim_control_url: str
    """``http://host:port/sim``: the simulator's control endpoint."""


def exchange_settings(settings: Settings) -> Settings:
    """``settings`` turned into live settings for the embedded simulator's default test key.

    Only for a venue whose URLs point at the loopback simulator (the caller's duty).
    """
    return attrs.evolve(
        settings,
        mode=Mode.LIVE,
        live_trading_confirmed=True,
        kraken_api_key=Secret(DEFAULT_API_KEY),
        kraken_api_secret=Secret(DEFAULT_API_SECRET),
        kraken_api_key_permissions=("query", "trade"),
    )


async def run_bot(
    settings: Settings,
    components: Components,
    *,
    venue: VenueChoice = "exchange",
    extra_assets: int = 0,
    simulator_in_process: bool = True,
    on_system: Callable[[System], None] | None = None,
    task_status: trio.TaskStatus[BotHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the whole bot in sim mode until cancelled; report a :class:`BotHandle` once up.

    Start order is ``run_app``'s: simulator, venue, actor tree, trading inputs, dashboard.
    ``on_system`` is called with the system before its tree starts. Cancelling the enclosing
    scope stops everything in reverse order (the sink flushes on the way); a simulator child
    process is stopped last.

    Raises:
        ValueError: ``settings.mode`` is not sim.
        ChildStartFailed: a child of the tree failed to start.
        OSError: a port could not be bound.
        SimulatorGone: the simulator's child process did not start.
    """
    if settings.mode is not Mode.SIM:
        raise ValueError(f"the soak runs the bot in sim mode, got {settings.mode.value}")
    sys.setswitchinterval(0.0005)  # as run_app does
    fix_malloc()  # as run_app does (ADR 17)
    async with contextlib.AsyncExitStack() as stack, trio.open_nursery() as nursery:
        simulator: SimulatorControl
        if simulator_in_process:
            config = SimConfig(
                seed=settings.sim_seed, port=settings.sim_port, extra_assets=extra_assets
            )
            running: Any = await nursery.start(serve_simulator, config)
            addresses = SimAddresses.of(running)
            simulator = InProcessSimulator(running.simulator, addresses)
        else:
            simulator = await stack.enter_async_context(
                simulator_process(settings.sim_seed, extra_assets)
            )
            addresses = simulator.addresses
        settings = attrs.evolve(
            settings,
            sim_port=addresses.port,
            kraken_rest_url=addresses.rest_url,
            kraken_ws_public_url=addresses.ws_public_url,
            kraken_ws_private_url=addresses.ws_private_url,
        )
        chosen: Venue = (
            LiveVenue(exchange_settings(settings))
            if venue == "exchange"
            else make_venue(settings, components)
        )
        await nursery.start(chosen.run)
        system = System()
        if on_system is not None:
            on_system(system)
        await nursery.start(system.run, build_tree(settings, components, chosen))
        await nursery.start(run_tree_io, system, chosen, components)
        await nursery.start(serve_dashboard, dashboard_state(settings, components, system))
        gc.freeze()
        nursery.start_soon(HeapTrimmer().run)  # as run_app does (ADR 17)
        task_status.started(
            BotHandle(
                settings=settings,
                simulator=simulator,
                system=system,
                venue=chosen,
                venue_kind=venue,
                dashboard_url=f"http://{settings.app_host}:{settings.app_port}",
                sim_control_url=addresses.control_url,
            )
        )
