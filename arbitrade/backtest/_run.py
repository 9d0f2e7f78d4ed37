"""Running one backtest: the app's tree on a virtual clock, fed by the recording, until it ends.

:func:`run_backtest` is synchronous: it owns a whole ``trio.run`` with a
``MockClock(autojump_threshold=0)``, so it must not be called from inside a Trio run (use a
thread or, as the dashboard does, a worker process). The clock reads ``1000.0`` at the first
frame and jumps from frame to frame; actors' wall clocks read the recording's wall time.

Determinism: every random draw is seeded from ``settings.seed`` (latency models, supervisor
backoff, the graph's opportunity ids), and so is Trio's scheduler. Trio runs each batch of
runnable tasks in an order that depends on chance and on memory addresses (timers due at the
same instant are woken in the order of their cancel scopes' ``id()``); the run switches on the
deterministic scheduling Trio keeps for Hypothesis (each batch sorted by task creation, then
shuffled by ``trio._core._run._r`` seeded here) and restores both afterwards. Two runs of the
same inputs therefore take the same decisions in the same order and produce the same report,
byte for byte, in one process or in two.

What is replayed: the frames the book feed reads (``instrument``, ``book``, ``status``,
``heartbeat`` and anything unreadable); ``ticker``/``trade``/``ohlc`` frames are left out (no
actor that decides reads them) and so is an instrument frame identical to the one before it
(a live run records the instrument snapshot once per connection, and only the book feed's
counts). The report's ``replay.feed`` is the book feed's own statistics: its ``frames`` count
also holds the replay's answers to the feed's requests (``replay.requests_answered`` requests:
subscription acknowledgements, pongs).
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
import orjson
import trio
import trio.testing

from actors import System, run_system
from arbitrade import __version__
from arbitrade.backtest._collect import Collector
from arbitrade.backtest._fees import FeeModel, fee_model
from arbitrade.backtest._inputs import BacktestInputs
from arbitrade.backtest._latency import make_latency_model
from arbitrade.backtest._market import MarketBooks
from arbitrade.backtest._replay import TimedReplayTransport
from arbitrade.backtest._report import BacktestReport, build_report
from arbitrade.backtest._settings import (
    BacktestSettings,
    graph_settings,
    risk_settings,
    settings_as_dict,
)
from arbitrade.backtest._tree import (
    BOOK_FEED_PATH,
    backtest_components,
    backtest_tree,
    run_backtest_io,
)
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.execution import ExecutionSettings
from arbitrade.graph import GraphSettings
from arbitrade.market.feeds import FeedStatistics, GetFeedStatistics
from arbitrade.messages import TOPIC_CONTROL, ControlChanged
from arbitrade.risk import RiskSettings

BASE_TIME: Final = 1000.0 + 2**-20
"""Trio time of the first frame: off the whole-second grid on which the actors' periodic
timers (watchdog, snapshots) fire, so a frame never ties with one of them (Trio would break
that tie by memory address, run to run differently)."""
EQUITY_INTERVAL: Final = 60.0
"""Seconds between equity samples (besides one per finished cycle)."""
PROGRESS_EVERY: Final = 1024
"""Frames between progress callbacks."""
START_LEAD: Final = 1.0 + 2**-20
"""Seconds before the first frame at which the tree starts (on the whole-second grid, so the
actors' timers keep off the frames' times)."""
NOT_REPLAYED: Final = frozenset({"ticker", "trade", "ohlc"})
"""Channels no deciding actor reads (the backtest runs no channel feed)."""

Progress = Callable[[int, int], None]
"""Called with (frames replayed, frames in total)."""


@attrs.frozen
class EngineSettings:
    """The engines' settings a backtest's configuration stands for."""

    fees: FeeModel
    """The fee profile: the graph nets cycles of it, the venue charges it."""
    graph: GraphSettings
    risk: RiskSettings
    """The gate's limits (the kill switch as configured; a warm-up engages it on top)."""
    execution: ExecutionSettings


def engine_settings(settings: BacktestSettings) -> EngineSettings:
    """Graph, risk and execution settings of ``settings``, and its fee model.

    The risk gate budgets the profile's default taker fee unless ``risk.taker_fee_bps`` is
    given. A paper run that should decide as a backtest does (the parity test) runs with
    these.

    Raises:
        ConfigError: the fee profile does not fit the fees file, or a parameter or limit its
            settings class refuses.
    """
    fees = fee_model(settings)
    taker_bps = fees.default.taker * Decimal(10_000)
    risk = risk_settings(settings)
    if "taker_fee_bps" not in settings.risk:
        risk = attrs.evolve(risk, taker_fee_bps=taker_bps)
    execution = ExecutionSettings(home_asset=settings.home, taker_fee_bps=taker_bps)
    return EngineSettings(fees, graph_settings(settings), risk, execution)


@attrs.frozen
class _Plan:
    times: list[float]
    payloads: tuple[str, ...]
    recorded: int
    start_at: float | None
    first_wall: float
    depth: int
    symbols: tuple[str, ...]


def code_version() -> str:
    """The package version and, in a git checkout, the commit (``0.1.0+g1a2b3c4``)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" if commit else __version__


def _book_depth(channels: tuple[str, ...], payloads: tuple[str, ...]) -> int:
    """The smallest Kraken depth that holds the recording's largest book snapshot."""
    deepest = 0
    for channel, payload in zip(channels, payloads, strict=True):
        if channel == "book" and '"snapshot"' in payload[:64]:
            for item in orjson.loads(payload).get("data", []):
                deepest = max(deepest, len(item.get("bids", [])), len(item.get("asks", [])))
    return next((depth for depth in (10, 25, 100, 500, 1000) if depth >= deepest), 1000)


def _replayed(channels: tuple[str, ...], payloads: tuple[str, ...]) -> list[int]:
    """Indexes of the frames the book feed is given (see the module docstring)."""
    kept: list[int] = []
    last_instrument: str | None = None
    for index, (channel, payload) in enumerate(zip(channels, payloads, strict=True)):
        if channel in NOT_REPLAYED:
            continue
        if channel == "instrument":
            if payload == last_instrument:
                continue
            last_instrument = payload
        kept.append(index)
    return kept


def _plan(inputs: BacktestInputs) -> _Plan:
    frames, settings = inputs.frames, inputs.settings
    count = len(frames)
    end = settings.end_time
    if end is not None:
        count = int(np.searchsorted(frames.wall_ns, int(end.timestamp() * 1e9), side="left"))
    kept = _replayed(frames.channels[:count], frames.payloads[:count])
    times = (BASE_TIME + frames.replay_ns[kept] / 1e9).tolist()
    payloads = tuple(frames.payloads[index] for index in kept)
    channels = tuple(frames.channels[index] for index in kept)
    first_wall = frames.first_wall_ns / 1e9
    start = settings.start_time
    start_at = None
    if start is not None:
        start_at = BASE_TIME + (start.timestamp() - first_wall)
    symbols = settings.symbols or tuple(s for s in inputs.summary.symbols)
    return _Plan(
        times=times,
        payloads=payloads,
        recorded=count,
        start_at=start_at,
        first_wall=first_wall,
        depth=_book_depth(channels, payloads),
        symbols=symbols,
    )


def _open_trading(
    system: System,
    nursery: trio.Nursery,
    collector: Collector,
    to_wall: Callable[[float], float],
) -> None:
    """The range starts: count from now and release the kill switch held during warm-up."""
    collector.trading = True
    collector.sample()
    now = trio.current_time()
    change = ControlChanged("kill_switch", "off", "on", "backtest", now, to_wall(now))
    nursery.start_soon(system.bus.publish, TOPIC_CONTROL, change)


async def _replay(
    inputs: BacktestInputs,
    plan: _Plan,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
    connection_timers: bool,
) -> tuple[Collector, dict[str, Any]]:
    settings = inputs.settings
    seed = settings.seed

    def to_wall(now: float) -> float:
        return plan.first_wall + (now - BASE_TIME)

    def wall_clock() -> float:
        return to_wall(trio.current_time())

    engines = engine_settings(settings)
    fees, graph, execution = engines.fees, engines.graph, engines.execution
    risk = engines.risk
    if plan.start_at is not None:
        risk = attrs.evolve(risk, kill_switch_engaged=True)
    total = len(plan.payloads)

    def on_frame(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            if progress is not None:
                progress(done, total)
            if should_stop is not None and should_stop():
                transport.stop()

    components = backtest_components(graph, risk, execution, symbols=plan.symbols, depth=plan.depth)
    # the venue's own books, fed by the replay at hand-over: orders meet the market by market
    # time, not by how far the feed's tops travelled through the bus (ADR 12)
    market = MarketBooks(depth=plan.depth, top_levels=components.market.top_levels)
    transport = TimedReplayTransport(
        plan.times, plan.payloads, on_frame=on_frame, on_handover=market.on_frame
    )
    venue = BacktestVenue(
        fees=fees,
        order_latency=make_latency_model(
            settings.latency_model,
            settings.order_latency_ms,
            settings.latency_jitter_ms,
            seed,
            source=settings.latency_source,
        ),
        response_latency=settings.response_latency_ms / 1000,
        balances=settings.balances,
        fill_model=settings.fill_model,
        scheduler=transport,
        market=market,
    )
    collector = Collector(venue, settings.home, dict(settings.balances), to_wall)
    collector.trading = plan.start_at is None
    tree = backtest_tree(
        components,
        fees,
        venue,
        transport,
        seed=seed,
        capital=settings.capital,
        initial_balances=settings.balances,
        wall_clock=wall_clock,
        connection_timers=connection_timers,
    )
    first_frame = plan.times[0] if plan.times else BASE_TIME
    async with trio.open_nursery() as nursery:
        # the tree starts just before the first frame: no idle virtual time before it
        await trio.sleep_until(first_frame - START_LEAD)
        await nursery.start(venue.run)
        system: System = await nursery.start(partial(run_system, tree, seed=seed))
        await nursery.start(collector.watch, system.bus)
        await nursery.start(run_backtest_io, system, venue, components)
        if plan.start_at is not None:
            transport.call_at(
                plan.start_at, partial(_open_trading, system, nursery, collector, to_wall)
            )
        collector.sample_every(transport, EQUITY_INTERVAL)
        await transport.finished.wait()
        # let orders in flight finish: the longest an order can live, plus the latencies
        await trio.sleep(
            execution.order_deadline_seconds
            + execution.stuck_order_seconds
            + (
                settings.order_latency_ms
                + settings.latency_jitter_ms * 4
                + settings.response_latency_ms
            )
            / 1000
            + 1.0
        )
        collector.sample()
        feed: FeedStatistics = await system.registry.lookup(BOOK_FEED_PATH).ask(
            GetFeedStatistics(), timeout=60.0
        )
        replay = {
            "frames": transport.position,
            "frames_in_range": total,
            "frames_recorded_in_range": plan.recorded,
            "requests_answered": transport.sent,
            "stopped_early": transport.position < total,
            "connection_timers": connection_timers,
            "book_depth": plan.depth,
            "symbols": list(plan.symbols),
            "first_frame_wall": plan.first_wall,
            "simulated_seconds": round(plan.times[transport.position - 1] - plan.times[0], 9)
            if transport.position
            else 0.0,
            "feed": attrs.asdict(feed),
            "venue": attrs.asdict(venue.statistics()),
        }
        nursery.cancel_scope.cancel()
    return collector, replay


def run_backtest(
    inputs: BacktestInputs,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    connection_timers: bool = True,
) -> BacktestReport:
    """Replay ``inputs`` through the whole tree and report (see :func:`replay_and_collect`)."""
    return replay_and_collect(
        inputs, progress=progress, should_stop=should_stop, connection_timers=connection_timers
    )[0]


def replay_and_collect(
    inputs: BacktestInputs,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    connection_timers: bool = True,
) -> tuple[BacktestReport, Collector]:
    """Replay ``inputs`` through the whole tree; the report and every decision it counted.

    ``progress(done, total)`` is called every 1024 frames and at the end (from inside the run:
    keep it quick). ``should_stop()``, asked at the same moments, ends the replay early; the
    report then covers what was replayed and says ``stopped_early``.

    ``connection_timers=False`` runs the book feed without its 50 ms connection watch and 1 s
    ack probe (a replay's connection never drops): a faster run, not promised to be the same
    run. Fewer tasks change how the seeded scheduler breaks ties between events at one virtual
    instant. An order reaching the venue no longer races that instant's book frames (the
    venue meets its own books once the instant has settled, ADR 12; on the benchmark's
    10-minute recording both settings now give the same decisions digest, where before they
    differed), but ties inside the engines can still differ, as they can between two
    scheduler seeds. Two runs with the same value repeat byte for byte; the report's
    ``replay.connection_timers`` says which was used.

    Raises:
        RuntimeError: called from inside a Trio run.
        ConfigError: the fee profile does not fit the fees file.
    """
    plan = _plan(inputs)
    core: Any = trio._core._run
    scheduler: random.Random = core._r
    saved = scheduler.getstate(), core._ALLOW_DETERMINISTIC_SCHEDULING
    scheduler.seed(inputs.settings.seed)
    core._ALLOW_DETERMINISTIC_SCHEDULING = True
    try:
        collector, replay = trio.run(
            _replay,
            inputs,
            plan,
            progress,
            should_stop,
            connection_timers,
            clock=trio.testing.MockClock(autojump_threshold=0),
        )
    finally:
        scheduler.setstate(saved[0])
        core._ALLOW_DETERMINISTIC_SCHEDULING = saved[1]
    report = build_report(
        collector,
        settings=settings_as_dict(inputs.settings),
        code_version=code_version(),
        inputs=inputs.digests,
        replay=replay,
    )
    return report, collector
