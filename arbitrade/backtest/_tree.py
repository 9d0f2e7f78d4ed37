"""The supervision tree a backtest runs, and the tasks that feed its actors.

The tree is the one ``arbitrade run`` builds (:func:`arbitrade.engines.engine_tree`): the
trading supervisor (executor, portfolio, risk gate), the market supervisor (the real
:class:`~arbitrade.market.feeds.BookFeed` and the
:class:`~arbitrade.strategy.triangular.PairGraphActor`) and the strategy supervisor (stat-arb),
with their inputs routed by :func:`arbitrade.engines.run_tree_io`. Only the transport under the
feed (:class:`~arbitrade.backtest._replay.TimedReplayTransport`), the venue
(:class:`BacktestVenue`) and the clocks (Trio's virtual one; a wall clock reading the
recording's time) are the backtest's; there is no persistence (the report is stored after).

What differs from a live run, on purpose:

- The market supervisor runs the book feed only (``MarketSettings.channels`` is empty): a
  replay has one time line and one connection, and nothing that decides reads ticker or trade
  frames (they are dropped from the replay, see ``_run``).
- The feed's heartbeat timeout is an hour: a quiet stretch of recording is not a dead link.
- The graph's opportunity ids are numbered from the seed, not random, so reports repeat.
- ``connection_timers=False`` runs the book feed without its connection watch and ack probe
  (the replay's connection never drops; their wake-ups cost about a tenth of a replay). The
  default keeps them: removing tasks changes how Trio's seeded scheduler breaks ties, which
  may change the decisions of a run (see ``_run``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

import trio

from actors import Bus, Lossless, Subscription, SupervisorSpec, System
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.components import Components
from arbitrade.engines import ROOT, engine_tree, run_tree_io
from arbitrade.execution import ExecutionSettings
from arbitrade.graph import FeeRates, GraphSettings
from arbitrade.kraken import Transport
from arbitrade.market import MarketSettings
from arbitrade.market.wiring import BOOK_FEED
from arbitrade.messages import TOPIC_INSTRUMENTS, InstrumentsLoaded
from arbitrade.persistence import SinkSettings
from arbitrade.risk import RiskSettings
from arbitrade.strategy.stat_arb import StatArbSettings

__all__ = [
    "BOOK_FEED_PATH",
    "REPLAY_URL",
    "backtest_components",
    "backtest_tree",
    "run_backtest_io",
]

REPLAY_URL: Final = "replay://recording"
"""The URL the feed is given (the replay transport ignores it)."""
BOOK_FEED_PATH: Final = f"{ROOT}/market/{BOOK_FEED}"
QUIET_RECORDING_SECONDS: Final = 3600.0
"""The feed's heartbeat timeout in a backtest."""


def backtest_components(
    graph: GraphSettings,
    risk: RiskSettings,
    execution: ExecutionSettings,
    *,
    symbols: tuple[str, ...],
    depth: int,
    stat_arb: StatArbSettings | None = None,
) -> Components:
    """Every component's settings for a backtest: the book feed alone, on ``symbols``.

    ``stat_arb`` defaults to no pairs (the stat-arb actor runs and decides nothing).
    """
    market = MarketSettings(
        symbols=symbols,
        depth=depth,
        channels=(),
        heartbeat_timeout=QUIET_RECORDING_SECONDS,
        request_timeout=QUIET_RECORDING_SECONDS,
        subscribe_batch=max(1, len(symbols)),
    )
    return Components(
        graph=graph,
        risk=risk,
        execution=execution,
        sink=SinkSettings(),
        market=market,
        stat_arb=stat_arb if stat_arb is not None else StatArbSettings(),
    )


def backtest_tree(
    components: Components,
    fees: FeeRates,
    venue: BacktestVenue,
    transport: Transport,
    *,
    seed: int,
    capital: Decimal | None = None,
    initial_balances: Mapping[str, Decimal] | None = None,
    wall_clock: Callable[[], float] = time.time,
    connection_timers: bool = True,
) -> SupervisorSpec:
    """The app's tree (:func:`~arbitrade.engines.engine_tree`) wired to the replay and ``venue``.

    ``transport`` is the replay; ``seed`` numbers the graph's opportunity ids;
    ``connection_timers`` is passed to the book feed (see the module docstring).
    """
    return engine_tree(
        components,
        venue,
        market_url=REPLAY_URL,
        market_transport=transport,
        fees=fees,
        capital=capital,
        wall_clock=wall_clock,
        initial_balances=initial_balances,
        graph_run_id=f"bt{seed}r",
        market_connection_timers=connection_timers,
    )


async def _instruments_to_venue(subscription: Subscription, venue: BacktestVenue) -> None:
    with subscription:
        async for message in subscription:
            if isinstance(message, InstrumentsLoaded):
                venue.observe_instruments(message.instruments)


async def run_backtest_io(
    system: System,
    venue: BacktestVenue,
    components: Components,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Route every actor's inputs until cancelled; reports started once all are subscribed.

    The app's routes (:func:`~arbitrade.engines.run_tree_io`; the executor still hands book
    tops to ``observe_book``, which a venue with its own ``MarketBooks`` ignores), plus
    instruments to the venue (pair rules).
    """
    bus: Bus = system.bus
    instruments = bus.subscribe(TOPIC_INSTRUMENTS, Lossless(100))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_instruments_to_venue, instruments, venue)
        await nursery.start(run_tree_io, system, venue, components)
        task_status.started()
