"""The engines every mode runs: the supervision tree below persistence, and its input routes.

:func:`engine_tree` is the seam between modes (design.md, "Modes stay out of the engines"):
``arbitrade run`` (:func:`arbitrade.app.build_tree`) and a backtest
(:mod:`arbitrade.backtest`) build the same trading, market and strategy supervisors and differ
only in the venue, the market transport, the clocks and whether persistence is included.
:func:`run_tree_io` routes bus topics into those actors' mailboxes for both.

This module imports no dashboard, CLI or backtest code, so any of them may import it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Final

import attrs
import trio

from actors import ChildSpec, Intensity, Strategy, SupervisorSpec, System
from arbitrade.components import Components
from arbitrade.execution import Venue, run_trading_io, trading_supervisor
from arbitrade.graph import FeeRates, load_taker_fees
from arbitrade.kraken import Transport
from arbitrade.market.wiring import BOOK_FEED, PAIR_GRAPH, market_supervisor
from arbitrade.messages import OrderUpdate
from arbitrade.strategy.stat_arb import StatArb, StatArbScreener, forward_inputs

ROOT: Final = "root"


def default_capital(components: Components) -> Decimal:
    """The most home currency one cycle may start with: a little below the risk limits (legs
    are worth slightly more than the start amount)."""
    risk = components.risk
    return min(risk.max_cycle_notional, risk.max_leg_notional) * Decimal("0.9")


def position_fx_pairs(components: Components) -> tuple[str, ...]:
    """The FX pairs that value positions held across cycles in home: the stat-arb pairs'
    ``y_fx`` / ``x_fx`` (the portfolio records their mids from the start)."""
    pairs = components.stat_arb.pairs
    return tuple(dict.fromkeys(fx for pair in pairs for fx in (pair.y_fx, pair.x_fx) if fx))


def position_symbols(components: Components) -> frozenset[str]:
    """Every pair whose book tops the portfolio reads: the stat-arb legs (marks of open
    positions) and their FX pairs (rates into home)."""
    return frozenset(symbol for pair in components.stat_arb.pairs for symbol in pair.symbols)


def engine_tree(
    components: Components,
    venue: Venue,
    *,
    market_url: str,
    market_transport: Transport | None = None,
    fees: FeeRates | None = None,
    capital: Decimal | None = None,
    wall_clock: Callable[[], float] = time.time,
    initial_balances: Mapping[str, Decimal] | None = None,
    graph_run_id: str | None = None,
    persistence: SupervisorSpec | None = None,
    unfinished_orders: Sequence[OrderUpdate] = (),
    market_connection_timers: bool = True,
) -> SupervisorSpec:
    """The supervision tree every mode runs: (persistence), trading, market, strategy.

    This is the seam between modes (design.md, "Modes stay out of the engines"): the live bot
    and a backtest build the same engines and differ only in what is passed here.

    Args:
        components: every component's settings.
        venue: where orders go (paper, Kraken, or a backtest's simulated venue).
        market_url: the public WebSocket URL the feeds connect to.
        market_transport: replaces the feeds' WebSocket (recording or replay); None: the
            network.
        fees: the taker fee of each pair for the graph (default: ``config/fees.toml`` via
            ``components.graph``).
        capital: the most home currency one cycle may start with (default:
            :func:`default_capital`).
        wall_clock: Unix time for the trading actors' stamps and the book feed's lag behind
            the exchange's stamps (a backtest reads the recording's time here).
        initial_balances: the portfolio's balances when the venue keeps none.
        graph_run_id: the stem of the pair graph's opportunity-id token, numbered per
            incarnation (None: random; a backtest fixes it so its reports repeat byte for byte).
        persistence: the persistence supervisor, started first and stopped last (None: no
            DuckDB; a backtest stores its report afterwards).
        unfinished_orders: orders an earlier process left unfinished in DuckDB (live mode,
            :func:`~arbitrade.execution.load_unfinished_orders`); the executor resolves them
            at the venue before its first cycle.
        market_connection_timers: False turns off the book feed's connection watch and ack
            probe; only for a replay transport, whose connection never drops on its own.

    Raises:
        ConfigError: ``fees`` not given and the fees file is invalid.
    """
    market = market_supervisor(
        market_url,
        components.market,
        components.graph,
        fees if fees is not None else load_taker_fees(components.graph),
        capital=capital if capital is not None else default_capital(components),
        transport=market_transport,
        connection_timers=market_connection_timers,
        wall_clock=wall_clock,
    )
    if graph_run_id is not None:
        incarnations = itertools.count(1)

        def run_id() -> str:
            return f"{graph_run_id}{next(incarnations)}"

        market = attrs.evolve(
            market,
            children=[
                attrs.evolve(child, kwargs={**child.kwargs, "run_id": run_id})
                if child.name == PAIR_GRAPH and isinstance(child, ChildSpec)
                else child
                for child in market.children
            ],
        )
    children: list[ChildSpec | SupervisorSpec] = [] if persistence is None else [persistence]
    children += [
        trading_supervisor(
            components.risk,
            components.execution,
            venue,
            initial_balances=initial_balances,
            wall_clock=wall_clock,
            unfinished_orders=unfinished_orders,
            book_feed=f"{ROOT}/market/{BOOK_FEED}",
            fx_pairs=position_fx_pairs(components),
        ),
        market,
        SupervisorSpec(
            "strategy",
            [
                ChildSpec(
                    "stat_arb_screen",
                    factory=StatArbScreener.from_settings,
                    args=(components.stat_arb,),
                ),
                ChildSpec(
                    "stat_arb",
                    factory=StatArb,
                    args=(components.stat_arb,),
                    kwargs={
                        "mode": components.strategy_mode,
                        "book_feed": f"{ROOT}/market/{BOOK_FEED}",
                    },
                ),
            ],
            strategy=Strategy.ONE_FOR_ONE,
        ),
    ]
    return SupervisorSpec(
        ROOT,
        children,
        strategy=Strategy.ONE_FOR_ONE,
        intensity=Intensity(max_restarts=10, within=60.0),
    )


async def run_tree_io(
    system: System,
    venue: Venue,
    components: Components,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Route bus topics into the tree's mailboxes until cancelled (the trading actors' and
    the stat-arb strategy's inputs; the portfolio gets the tops of
    :func:`position_symbols`); reports started once every route exists.

    If the stat-arb actor is stopped for good its forwarding ends quietly; the trading routes
    end with their actors (see :func:`~arbitrade.execution.run_trading_io`).
    """
    lookup = system.registry.lookup
    async with trio.open_nursery() as nursery:
        await nursery.start(
            partial(
                run_trading_io,
                system.bus,
                lookup,
                venue,
                components.execution,
                f"{ROOT}/trading",
                portfolio_symbols=position_symbols(components),
            )
        )
        await nursery.start(
            forward_inputs,
            system.bus,
            lookup(f"{ROOT}/strategy/stat_arb"),
            components.stat_arb,
        )
        task_status.started()
