"""Wiring the trading half into the app: one supervisor of three actors and their inputs.

::

    venue = PaperVenue(taker_fee_rate=execution.taker_fee_rate, latency=...,
                       balances=parse_balances(execution.paper_balances))
    await nursery.start(venue.run)                      # before the tree: orders need it
    tree = SupervisorSpec("root", [..., trading_supervisor(risk, execution, venue), ...])
    system = await nursery.start(run_system, tree)
    await nursery.start(run_trading_io, system.bus, system.registry.lookup, venue,
                        execution, "root/trading")

Start order executor, portfolio, risk gate (the gate finds the executor by name); stop order
is the reverse, so the gate stops taking opportunities before the executor goes. The
supervisor restarts rest-for-one: an executor crash restarts the portfolio and the gate too.
The executor's cycles and orders live in one :class:`~arbitrade.execution.ExecutorMemory`
made here and shared by its incarnations, so a restarted executor reconciles and resumes its
orders in flight instead of forgetting them; the restarted gate then asks it for the cycles
still in flight and reserves for them again (``risk.restored``), and keeps its controls and
today's PnL in one :class:`~arbitrade.risk.RiskMemory` made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import trio

from actors import (
    ActorStopped,
    Bus,
    ChildSpec,
    Intensity,
    Lossless,
    LossyLatest,
    Mailbox,
    Ref,
    Strategy,
    Subscription,
    SupervisorSpec,
)
from arbitrade.execution._actor import Executor, ExecutorTick
from arbitrade.execution._audit import AuditingVenue, publish_venue_audit
from arbitrade.execution._reconcile import ExecutorMemory
from arbitrade.execution._settings import ExecutionSettings
from arbitrade.execution._venue import Venue, VenueEvent
from arbitrade.execution.portfolio import Portfolio, PortfolioTick, RefreshBalances
from arbitrade.messages import (
    TOPIC_BOOK_TOP,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_INSTRUMENTS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_PORTFOLIO,
    OrderUpdate,
)
from arbitrade.risk import RiskGate, RiskMemory, RiskSettings

EXECUTOR: Final = "executor"
PORTFOLIO: Final = "portfolio"
RISK_GATE: Final = "risk_gate"

RISK_GATE_INPUTS: Final = (
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_CYCLES,
    TOPIC_PORTFOLIO,
    TOPIC_CONTROL,
)
EXECUTOR_INPUTS: Final = (TOPIC_INSTRUMENTS, TOPIC_CONTROL)
PORTFOLIO_INPUTS: Final = (TOPIC_FILLS, TOPIC_CYCLES)


def trading_children(
    risk: RiskSettings,
    execution: ExecutionSettings,
    venue: Venue,
    *,
    initial_balances: Mapping[str, Decimal] | None = None,
    wall_clock: Callable[[], float] = time.time,
    unfinished_orders: Sequence[OrderUpdate] = (),
    book_feed: str | None = None,
    fx_pairs: Sequence[str] = (),
) -> list[ChildSpec]:
    """Child specs of the executor, the portfolio and the risk gate, in start order.

    The portfolio reads its balances from ``venue.balances`` and falls back on
    ``initial_balances`` when the venue keeps none (a scripted venue). The executor's specs
    share one :class:`~arbitrade.execution.ExecutorMemory` (its restarts resume orders);
    ``unfinished_orders`` (live mode: :func:`~arbitrade.execution.load_unfinished_orders` of
    the database, read before the writer opens it) are resolved by the executor's first start.
    ``fx_pairs`` (the stat-arb pairs' FX pairs) value the portfolio's positions quoted in
    another currency than home: route their tops to it (``run_trading_io``'s
    ``portfolio_symbols``).
    ``book_feed`` (the book feed's path) is where the gate catches up book states on start.
    """
    return [
        ChildSpec(
            EXECUTOR,
            factory=Executor,
            args=(execution, venue),
            kwargs={
                "wall_clock": wall_clock,
                "memory": ExecutorMemory(),
                "unfinished": tuple(unfinished_orders),
            },
            mailbox=Mailbox(capacity=10_000),
        ),
        ChildSpec(
            PORTFOLIO,
            factory=Portfolio,
            args=(execution.home_asset,),
            kwargs={
                "balance_source": venue.balances,
                "initial_balances": initial_balances,
                "wall_clock": wall_clock,
                "fx_pairs": tuple(fx_pairs),
            },
        ),
        ChildSpec(
            RISK_GATE,
            factory=RiskGate,
            args=(risk,),
            kwargs={
                "executor": EXECUTOR,
                "wall_clock": wall_clock,
                "memory": RiskMemory(),
                "book_feed": book_feed,
            },
            mailbox=Mailbox(capacity=10_000),
        ),
    ]


def trading_supervisor(
    risk: RiskSettings,
    execution: ExecutionSettings,
    venue: Venue,
    *,
    name: str = "trading",
    initial_balances: Mapping[str, Decimal] | None = None,
    wall_clock: Callable[[], float] = time.time,
    unfinished_orders: Sequence[OrderUpdate] = (),
    book_feed: str | None = None,
    fx_pairs: Sequence[str] = (),
) -> SupervisorSpec:
    """The three trading actors under one rest-for-one supervisor (see
    :func:`trading_children` for the arguments)."""
    return SupervisorSpec(
        name,
        trading_children(
            risk,
            execution,
            venue,
            initial_balances=initial_balances,
            wall_clock=wall_clock,
            unfinished_orders=unfinished_orders,
            book_feed=book_feed,
            fx_pairs=fx_pairs,
        ),
        strategy=Strategy.REST_FOR_ONE,
        intensity=Intensity(max_restarts=3, within=60.0),
    )


async def _pump(subscription: Subscription, ref: Ref[Any]) -> None:
    with subscription:
        try:
            async for message in subscription:
                await ref.send(message)
        except ActorStopped:
            return


async def _pump_tops(
    subscription: Subscription, executor: Ref[Any], portfolio: Ref[Any], wanted: frozenset[str]
) -> None:
    """Book tops to the executor, and those of ``wanted`` symbols to the portfolio too.

    One pump for both, so a top the portfolio does not want costs one set lookup and no
    queue or task of its own. The portfolio is offered a top without waiting: while its
    mailbox is full tops are skipped (a newer one follows), and once it is stopped for good
    it is offered none; the executor's tops go on either way.
    """
    to_portfolio = True
    with subscription:
        try:
            async for top in subscription:
                if to_portfolio and top.symbol in wanted:
                    try:
                        portfolio.send_nowait(top)
                    except trio.WouldBlock:  # MailboxFull: busy; the next top will do
                        pass
                    except ActorStopped:
                        to_portfolio = False
                await executor.send(top)
        except ActorStopped:
            return


async def _pump_venue(events: trio.MemoryReceiveChannel[VenueEvent], ref: Ref[Any]) -> None:
    try:
        async for event in events:
            await ref.send(event)
    except ActorStopped:
        return


async def _every(interval: float, ref: Ref[Any], message: object) -> None:
    while True:
        await trio.sleep(interval)
        try:
            ref.send_nowait(message)
        except ActorStopped:
            return
        except trio.WouldBlock:  # MailboxFull: the actor is busy; skip this beat
            continue


async def run_trading_io(
    bus: Bus,
    lookup: Callable[[str], Ref[Any]],
    venue: Venue,
    execution: ExecutionSettings,
    prefix: str,
    *,
    book_capacity: int = 1000,
    portfolio_symbols: Collection[str] = (),
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Forward the trading actors' inputs until cancelled.

    Bus topics go losslessly to the gate and the portfolio; book tops go lossy-latest to the
    executor (only the newest top of a pair matters there), and those of
    ``portfolio_symbols`` (the stat-arb legs and FX pairs: the portfolio's marks and FX
    rates) to the portfolio as well, skipped while its mailbox is full (no other top reaches
    it); the venue's events go to the executor, and its audit events (a venue with
    ``audit_events``, the live one) to the bus;
    timers send the executor's watchdog ticks and the portfolio's snapshot and balance refresh
    beats. ``prefix`` is the trading supervisor's path (``root/trading``).
    Reports started once every subscription exists (nothing published after is missed) and
    a first portfolio snapshot has been asked for, so the gate has balances at once.
    """
    executor = lookup(f"{prefix}/{EXECUTOR}")
    portfolio = lookup(f"{prefix}/{PORTFOLIO}")
    gate = lookup(f"{prefix}/{RISK_GATE}")
    tops = bus.subscribe(TOPIC_BOOK_TOP, LossyLatest(book_capacity))
    routes: list[tuple[Subscription, Ref[Any]]] = [] if portfolio_symbols else [(tops, executor)]
    routes += [(bus.subscribe(topic, Lossless()), executor) for topic in EXECUTOR_INPUTS]
    routes += [(bus.subscribe(topic, Lossless()), gate) for topic in RISK_GATE_INPUTS]
    routes += [(bus.subscribe(topic, Lossless()), portfolio) for topic in PORTFOLIO_INPUTS]
    async with trio.open_nursery() as nursery:
        for subscription, ref in routes:
            nursery.start_soon(_pump, subscription, ref)
        if portfolio_symbols:
            nursery.start_soon(_pump_tops, tops, executor, portfolio, frozenset(portfolio_symbols))
        nursery.start_soon(_pump_venue, venue.events, executor)
        if isinstance(venue, AuditingVenue):  # the live venue's REST errors, stalls, reconnects
            nursery.start_soon(publish_venue_audit, venue.audit_events, bus)
        nursery.start_soon(_every, execution.watchdog_interval_seconds, executor, ExecutorTick())
        nursery.start_soon(_every, execution.snapshot_interval_seconds, portfolio, PortfolioTick())
        nursery.start_soon(_every, execution.balance_refresh_seconds, portfolio, RefreshBalances())
        # the portfolio's start-up snapshot went out before these routes existed
        await portfolio.send(PortfolioTick())
        task_status.started()
