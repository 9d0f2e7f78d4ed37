"""Paper/backtest parity: a recorded paper run, replayed, takes the same decisions.

The paper run is the app's tree (:func:`arbitrade.app.build_tree`, persistence included) on a
virtual clock, wired to the scenario's seeded simulator in-process
(:class:`tests.integration.virtual.SimulatorTransport`) through the app's
:class:`~arbitrade.backtest.RecordingTransport`, with a paper venue of zero latency. Its
engines' settings are the ones the backtest derives from its own configuration
(:func:`~arbitrade.backtest._run.engine_settings`), so both runs decide with the same limits,
fees and capital. The replay then runs :func:`~arbitrade.backtest._run.replay_and_collect`
on the recording with zero order and response latency.

What is compared, kind by kind in the order the bus carried them: every opportunity (legs,
amounts, profit, book ages and its time since the first opportunity, both to the microsecond:
the replay's clock is offset from the paper run's, so float differences of the same times
round differently in the last bits), every order update (pair, side, type, price, volume,
filled, state, reason) and every fill (pair, side, price, volume, fee, liquidity). Ids are
renamed by first appearance: the live graph's ids carry a random token, and client order ids
hash them.

Why zero latency works (ADR 12): both venues meet the market by market time, not through the
bus. Each has its own books (:class:`~arbitrade.backtest._market.MarketBooks`) fed with every
frame as the transport hands it to the feed (here a
:class:`~arbitrade.backtest._market.TappedTransport` around the recording transport; in the
replay, the replay transport itself), and an order arriving at *t* is handled once instant *t*
has settled: after every frame received at or before *t* and all the work it caused, before
any later frame; orders due together go in the order sent. The paper venue gets that from a
settling :class:`~arbitrade.backtest._timeline.Timeline`, the backtest venue from the replay's
time line. Both transports also hand frames over in lockstep (each once the last one's effects
have settled), so the bot's own view inside a burst of same-instant frames does not depend on
scheduling either; and the simulator ticks every 0.125 s, so times add up exactly in both runs
(:data:`TICK_SECONDS`). Before, the venues learnt tops from the executor, and which of an
instant's frames had made it through the bus when a zero-latency order arrived depended on
task scheduling, which differs between a simulator connection and a replay; the test then
needed 1 ms.
Unchanged from then: quantity taken from a level is remembered until that level changes, in
both venues, so two orders never take the same displayed size.

The paper venue here is built as :func:`arbitrade.app.make_venue` builds it, plus those two
seams; the app's own paper mode still uses the executor's tops (ADR 12 says why).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
import trio
import trio.testing

from actors import ChildSpec, Lossless, SupervisorSpec, System
from arbitrade.app import build_tree, run_tree_io
from arbitrade.backtest import (
    FrameRecorder,
    RecordingTransport,
    backtest_settings_from,
    prepare_inputs,
)
from arbitrade.backtest._market import MarketBooks, TappedTransport
from arbitrade.backtest._run import engine_settings, replay_and_collect
from arbitrade.backtest._settings import BacktestSettings
from arbitrade.backtest._timeline import Timeline
from arbitrade.components import Components
from arbitrade.execution import PaperVenue, rates_from_taker_fees
from arbitrade.execution._settings import parse_balances
from arbitrade.graph import load_taker_fees
from arbitrade.messages import (
    TOPIC_FILLS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_RISK_DECISIONS,
    Fill,
    Opportunity,
    OrderUpdate,
)
from arbitrade.persistence import SinkSettings
from arbitrade.sim import Simulator
from arbitrade.strategy.stat_arb import StatArbSettings
from tests.integration import scenario
from tests.integration.virtual import START_WALL, InlineWriter, SimulatorTransport, _swap

TICK_SECONDS: Final = 0.125
"""The simulator's tick: a binary fraction, so every frame time and every difference of two
(the risk gate's one-second cool-down) is exact in both runs, whose clocks are offset. With
0.1 s ticks, 2.4 + 1.0 falls a rounding error either side of 3.4 depending on the offset, and
the gate can accept an opportunity in one run that it refuses in the other."""
PAPER_SECONDS: Final = 5.0 + TICK_SECONDS / 2
"""Off the tick grid: the paper run ends between two ticks, never in the middle of one."""
LATENCY_MS: Final = 0
BALANCES: Final = {"USD": "20000", "BTC": "0.3", "ETH": "6", "USDT": "5000"}
WATCHED: Final = (TOPIC_OPPORTUNITIES, TOPIC_ORDERS, TOPIC_FILLS, TOPIC_RISK_DECISIONS)


def _settings(events: Path) -> BacktestSettings:
    """The backtest's configuration; the paper run is wired from the same values."""
    return backtest_settings_from(
        {
            "events": [str(events)],
            "balances": BALANCES,
            # the app starts cycles at 90% of the notional limits: the same capital here
            "capital": "900",
            "risk": {
                "max_cycle_notional": "1000",
                "max_leg_notional": "1000",
                "cooldown_seconds": 1.0,
            },
            "latency_model": "fixed",
            "order_latency_ms": LATENCY_MS,
            "latency_jitter_ms": 0,
            "response_latency_ms": 0,
            "seed": scenario.SEED,
        }
    )


def _paper_components(settings: BacktestSettings) -> Components:
    engines = engine_settings(settings)
    balances = ",".join(f"{asset}={amount}" for asset, amount in sorted(BALANCES.items()))
    loaded = scenario.components()
    return Components(
        graph=engines.graph,
        risk=engines.risk,
        execution=attrs.evolve(
            engines.execution, paper_latency_seconds=LATENCY_MS / 1000, paper_balances=balances
        ),
        # a real-time work budget would make the sink's slices (and so the schedule) vary
        sink=attrs.evolve(SinkSettings(), pump_budget=3600.0),
        market=loaded.market,
        stat_arb=StatArbSettings(),
    )


def _paper_venue(components: Components, market: MarketBooks, timeline: Timeline) -> PaperVenue:
    """The app's paper venue (``make_venue``) meeting ``market`` on a settling time line."""
    fees = load_taker_fees(components.graph)
    return PaperVenue(
        taker_fee_rate=fees.default_rate,
        latency=components.execution.paper_latency_seconds,
        balances=parse_balances(components.execution.paper_balances),
        rates=rates_from_taker_fees(fees),
        market=market,
        scheduler=timeline,
    )


class _GatedTransport:
    """Connects only once the trading routes exist: the app's start-up race (a first
    opportunity published before the gate subscribes) is not what this test is about."""

    def __init__(self, inner: Any, ready: trio.Event) -> None:
        self.inner = inner
        self.ready = ready

    @asynccontextmanager
    async def connect(self, url: str) -> Any:
        await self.ready.wait()
        async with self.inner.connect(url) as connection:
            yield connection


async def _tick(simulator: Simulator) -> None:
    while True:
        await trio.sleep(simulator.model.settings.tick_seconds)
        simulator.step()


async def _paper_run(folder: Path, components: Components, seen: list[Any]) -> None:
    config = scenario.sim_config(start_time=START_WALL)
    config = attrs.evolve(config, market=attrs.evolve(config.market, tick_seconds=TICK_SECONDS))
    simulator = Simulator(config, clock=lambda: START_WALL + trio.current_time())
    recorder = FrameRecorder(folder, session="paper")
    recorder.start()
    ready = trio.Event()
    market = MarketBooks(depth=components.market.depth, top_levels=components.market.top_levels)
    # the venue's books take every frame as the feed is handed it, at its receive time
    transport = TappedTransport(
        RecordingTransport(
            _GatedTransport(SimulatorTransport(simulator), ready),
            recorder,
            wall_clock_ns=lambda: int((START_WALL + trio.current_time()) * 1e9),
        ),
        market.on_frame,
        lockstep=True,
    )
    settings = scenario.settings(folder / "paper.duckdb")
    timeline = Timeline(settle=True)
    venue = _paper_venue(components, market, timeline)
    tree = build_tree(settings, components, venue, market_transport=transport)
    # the DuckDB writer inline on the loop, as tests.integration.virtual runs it: a thread's
    # timing would move the virtual clock
    persistence = next(c for c in tree.children if c.name == "persistence")
    assert isinstance(persistence, SupervisorSpec)
    writer = ChildSpec(
        persistence.children[0].name, factory=InlineWriter, args=(settings.duckdb_path,)
    )
    tree = _swap(
        tree, "persistence", attrs.evolve(persistence, children=[writer, *persistence.children[1:]])
    )
    system = System(seed=scenario.SEED)
    subscriptions = [system.bus.subscribe(topic, Lossless(100_000)) for topic in WATCHED]

    async def drain(subscription: Any) -> None:
        async for message in subscription:
            seen.append(message)

    try:
        async with trio.open_nursery() as nursery:
            for subscription in subscriptions:
                nursery.start_soon(drain, subscription)
            nursery.start_soon(_tick, simulator)
            await nursery.start(timeline.run)
            await nursery.start(venue.run)
            await nursery.start(system.run, tree)
            await nursery.start(run_tree_io, system, venue, components)
            ready.set()
            await trio.sleep(PAPER_SECONDS)
            nursery.cancel_scope.cancel()
    finally:
        recorder.close()


def _record_paper(folder: Path, components: Components) -> list[Any]:
    seen: list[Any] = []
    core: Any = trio._core._run
    saved = core._r.getstate(), core._ALLOW_DETERMINISTIC_SCHEDULING
    core._r.seed(scenario.SEED)
    core._ALLOW_DETERMINISTIC_SCHEDULING = True
    try:
        trio.run(
            _paper_run, folder, components, seen, clock=trio.testing.MockClock(autojump_threshold=0)
        )
    finally:
        core._r.setstate(saved[0])
        core._ALLOW_DETERMINISTIC_SCHEDULING = saved[1]
    return seen


class _Names:
    """Renames ids by order of first appearance."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._counter = itertools.count()

    def __call__(self, value: str) -> str:
        if not value:
            return value
        return self._names.setdefault(value, f"#{next(self._counter)}")


def _comparable(messages: list[Any], kind: type[Any], first_at: float) -> Iterator[tuple[Any, ...]]:
    """``messages`` of ``kind`` as comparable rows, ids renamed within that kind's stream."""
    opportunity_ids, order_ids = _Names(), _Names()
    for message in (m for m in messages if isinstance(m, kind)):
        if isinstance(message, Opportunity):
            yield (
                "opportunity",
                opportunity_ids(message.id),
                message.home,
                tuple((leg.symbol, leg.side) for leg in message.legs),
                message.start_amount,
                message.end_amount,
                message.profit,
                tuple(round(age, 6) for age in message.book_ages),
                round(message.received_at - first_at, 6),
            )
        elif isinstance(message, OrderUpdate):
            yield (
                "order",
                order_ids(message.cl_ord_id),
                opportunity_ids(message.cycle_id),
                message.symbol,
                message.side,
                message.order_type,
                message.limit_price,
                message.qty,
                message.filled_qty,
                message.state,
                message.reason,
            )
        elif isinstance(message, Fill):
            yield (
                "fill",
                order_ids(message.cl_ord_id),
                message.symbol,
                message.side,
                message.price,
                message.qty,
                message.fee,
                message.fee_asset,
                message.liquidity,
            )


def _first_frame_at(messages: list[Any]) -> float:
    """The first opportunity's received time: the runs' clocks differ by an offset, so
    opportunity times are compared from there."""
    for message in messages:
        if isinstance(message, Opportunity):
            return message.received_at
    return math.nan


@pytest.mark.slow
def test_replay_when_paper_run_recorded_takes_the_same_decisions_in_order(
    tmp_path: Path,
) -> None:
    """Replayed with zero latency, a paper run's recording gives the same opportunities,
    orders and fills, in the same order."""
    folder = tmp_path / "recording"
    settings = _settings(Path(__file__))  # the path is replaced once the recording exists
    components = _paper_components(settings)
    paper = _record_paper(folder, components)
    settings = attrs.evolve(settings, events=(str(folder),))
    _, collector = replay_and_collect(prepare_inputs(settings, hash_files=False))
    replayed = [message for _, _, message in collector.events]
    replayed = [m for m in replayed if isinstance(m, Opportunity | OrderUpdate | Fill)]

    fills = [m for m in paper if isinstance(m, Fill)]
    assert fills, "the paper run traded nothing: nothing to compare"
    for kind in (Opportunity, OrderUpdate, Fill):
        expected = list(_comparable(paper, kind, _first_frame_at(paper)))
        got = list(_comparable(replayed, kind, _first_frame_at(replayed)))
        assert got == expected, kind.__name__
    assert sum((f.qty for f in fills), Decimal(0)) > 0
