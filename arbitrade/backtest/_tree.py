"""The supervision tree a backtest runs, and the tasks that feed its actors.

The tree is the one the app runs (design.md): the pair-graph actor, then the trading
supervisor from :func:`arbitrade.execution.trading_supervisor` (executor, portfolio, risk gate)
with its inputs from :func:`arbitrade.execution.run_trading_io`. Only the transport under the
feed (replay), the venue (:class:`BacktestVenue`) and the clock (virtual) are the backtest's.

The app has no tree builder yet, and ``arbitrade.market``/``arbitrade.strategy.triangular``
have no feed or graph actors yet: :class:`~arbitrade.backtest._feed.MarketFeed` and
:class:`~arbitrade.backtest._triangular.TriangularDetector` stand in for them, built from the
same parts. Swap them for the real ones here when those land.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import trio

from actors import (
    ActorStopped,
    Bus,
    ChildSpec,
    Lossless,
    Mailbox,
    Ref,
    Subscription,
    SupervisorSpec,
)
from arbitrade.backtest._triangular import TriangularDetector
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.execution import ExecutionSettings, run_trading_io, trading_supervisor
from arbitrade.graph import FeeRates, GraphSettings
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_INSTRUMENTS,
    InstrumentsLoaded,
)
from arbitrade.risk import RiskSettings

ROOT: Final = "root"
TRIANGULAR: Final = "triangular"
TRADING: Final = "trading"
GRAPH_INPUTS: Final = (TOPIC_INSTRUMENTS, TOPIC_BOOK_STATE, TOPIC_BOOK_TOP)


def backtest_tree(
    graph: GraphSettings,
    fees: FeeRates,
    risk: RiskSettings,
    execution: ExecutionSettings,
    venue: BacktestVenue,
    *,
    capital: Decimal | None = None,
    initial_balances: Mapping[str, Decimal] | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> SupervisorSpec:
    """The root supervisor: the pair-graph actor, then the trading supervisor."""
    return SupervisorSpec(
        ROOT,
        [
            ChildSpec(
                TRIANGULAR,
                factory=TriangularDetector,
                args=(graph, fees),
                kwargs={"capital": capital},
                mailbox=Mailbox(capacity=10_000),
            ),
            trading_supervisor(
                risk,
                execution,
                venue,
                name=TRADING,
                initial_balances=initial_balances,
                wall_clock=wall_clock,
            ),
        ],
    )


async def _pump(subscription: Subscription, ref: Ref[Any]) -> None:
    with subscription:
        try:
            async for message in subscription:
                await ref.send(message)
        except ActorStopped:
            return


async def _instruments_to_venue(subscription: Subscription, venue: BacktestVenue) -> None:
    with subscription:
        async for message in subscription:
            if isinstance(message, InstrumentsLoaded):
                venue.observe_instruments(message.instruments)


async def run_backtest_io(
    bus: Bus,
    lookup: Callable[[str], Ref[Any]],
    venue: BacktestVenue,
    execution: ExecutionSettings,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Forward every actor's inputs until cancelled; reports started once all are subscribed.

    Market data goes losslessly to the graph actor (a replay must not drop what live would
    have seen), instruments to the venue (pair rules), and the trading inputs through
    :func:`~arbitrade.execution.run_trading_io` (book tops reach the venue through the
    executor's ``observe_book``).
    """
    graph = lookup(f"{ROOT}/{TRIANGULAR}")
    routes = [bus.subscribe(topic, Lossless(10_000)) for topic in GRAPH_INPUTS]
    instruments = bus.subscribe(TOPIC_INSTRUMENTS, Lossless(100))
    async with trio.open_nursery() as nursery:
        for subscription in routes:
            nursery.start_soon(_pump, subscription, graph)
        nursery.start_soon(_instruments_to_venue, instruments, venue)
        await nursery.start(run_trading_io, bus, lookup, venue, execution, f"{ROOT}/{TRADING}")
        task_status.started()
