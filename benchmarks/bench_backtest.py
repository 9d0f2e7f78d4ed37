"""Backtest throughput through the full actor pipeline, time per stage, and what recording costs.

    .venv/bin/python benchmarks/bench_backtest.py [--minutes 60] [--pairs 6] [--cache DIR]
        [--latency-frames 20000] [--gap-us 3000] [--skip-latency] [--skip-stages]

1. Records ``--minutes`` simulated minutes of the simulator's market (seed 7) over the first
   ``--pairs`` of BTC/USD, ETH/USD, ETH/BTC, SOL/USD, SOL/BTC, SOL/ETH, in-process on a virtual
   clock (``record_simulator``), into ``--cache`` (default: a folder under the system's temp
   directory named for minutes and pairs, outside the repository); a folder that already
   holds the recording is reused (an hour of 6 pairs: ~98k frames, ~7 MB, ~2 min to record).
2. Replays it through the whole backtest tree, the one ``arbitrade run`` builds (replay
   transport -> WS client -> book feed -> book tops -> pair-graph actor -> risk gate ->
   executor -> simulated venue -> portfolio; the stat-arb actors idle) and
   prints frames per second, twice, side by side: as backtests run by default (the book
   feed's connection watch and ack probe on) and with ``connection_timers=False`` (each row
   with its decisions digest: fewer tasks change how the seeded scheduler breaks ties, so the
   digests may differ). Then it replays again under a Trio instrument that times every
   task step and prints each stage's share of the run (the instrument slows the run; read the
   shares, not the rate, of that run), and the task steps and scheduler rounds per frame:
   counts, so they compare across runs on a loaded machine where rates do not.
3. Tick-to-opportunity latency on the real clock: frames handed over every ``--gap-us``
   through the WS client, the real book feed and pair-graph actor (the app's market
   supervisor), from the moment the transport hands a
   frame over to the moment its opportunity reaches a bus subscriber; without and with the
   recorder wrapping the transport, alternating runs, side by side.
Target (shared/targets.md): backtest >= 100k events/s; recorder on: p99 rises <= 5%.
"""

from __future__ import annotations

import argparse
import collections
import logging
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import structlog
import trio

from actors import Lossless, SupervisorSpec, run_system
from arbitrade.backtest import (
    FrameRecorder,
    RecordingTransport,
    backtest_settings_from,
    prepare_inputs,
)
from arbitrade.backtest._fees import fee_model
from arbitrade.backtest._run import run_backtest
from arbitrade.backtest._settings import graph_settings
from arbitrade.backtest._simrecord import record_simulator
from arbitrade.kraken import Connection
from arbitrade.market import MarketSettings
from arbitrade.market.wiring import market_supervisor
from arbitrade.messages import TOPIC_OPPORTUNITIES, Opportunity

PAIRS = ("BTC/USD", "ETH/USD", "ETH/BTC", "SOL/USD", "SOL/BTC", "SOL/ETH")
BALANCES = {"USD": "100000", "BTC": "2", "ETH": "30", "SOL": "500"}


class _StageTimer(trio.abc.Instrument):
    def __init__(self) -> None:
        self.spent: collections.Counter[str] = collections.Counter()
        self.steps = 0
        self.rounds = 0
        self._stages: dict[trio.lowlevel.Task, str] = {}
        self._stage = ""
        self._started = 0.0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        stage = self._stages.get(task)
        if stage is None:
            stage = self._stages[task] = _stage(task)
        self._stage = stage
        self.steps += 1
        self._started = time.perf_counter()

    def before_io_wait(self, timeout: float) -> None:
        self.rounds += 1  # once per pass of Trio's scheduler loop

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self.spent[self._stage] += time.perf_counter() - self._started


ACTOR_STAGES = {
    "pair_graph": "pair graph actor: cycle detection, sizing",
    "feed.book": "book feed actor (mailbox)",
    "risk_gate": "risk gate actor",
    "executor": "executor actor (+ simulated venue fills)",
    "portfolio": "portfolio actor",
    "stat_arb": "stat-arb actors (idle: no pairs)",
    "stat_arb_screen": "stat-arb actors (idle: no pairs)",
}


def _stage(task: trio.lowlevel.Task) -> str:
    """The pipeline stage a task works for: actors by name, linked tasks by what they run."""
    name = task.name
    frame = getattr(task.coro, "cr_frame", None)
    local: dict[str, Any] = frame.f_locals if frame is not None else {}
    if name.endswith("._child_task"):
        slot = local.get("slot")
        actor = slot.spec.name if slot is not None else "?"
        return ACTOR_STAGES.get(actor, "supervisors")
    if name.endswith("._linked"):
        linked = getattr(local.get("task"), "__qualname__", "")
        if linked.startswith("BookFeed._run"):
            return "book feed: decode hand-off, books, checksums, book tops"
        if "forward" in linked or "_pump" in linked or linked == "_hold":
            return "bus -> actor forwarding (Context.forward)"
        return "feed timers and probes (connection watch, pings)"
    for needle, stage in (
        ("_TimedConnection", "replay transport + WS client (decode)"),
        ("KrakenWsClient", "replay transport + WS client (decode)"),
        ("_ConnectedFeed", "feed timers and probes (connection watch, pings)"),
        ("_wiring._pump", "bus -> trading actors forwarding"),
        ("_wiring._every", "trading timers (watchdog, snapshots)"),
        ("forward_inputs", "bus -> stat-arb forwarding"),
        ("Collector", "report collector"),
    ):
        if needle in name:
            return stage
    return "other (runtime, venue events)"


def _recording(minutes: float, pairs: int, cache: Path | None) -> Path:
    folder = (
        cache or Path(tempfile.gettempdir()) / f"arbitrade-bench-backtest-{pairs}p-{minutes:g}m"
    )
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        started = time.perf_counter()
        result = record_simulator(folder, symbols=PAIRS[:pairs], seconds=minutes * 60, seed=7)
        print(
            f"recorded {result.statistics.frames} frames ({minutes:g} simulated minutes, "
            f"{pairs} pairs) in {time.perf_counter() - started:.0f} s"
        )
    return folder


def _throughput(folder: Path, stages: bool) -> None:
    settings = backtest_settings_from(
        {"events": [str(folder)], "balances": BALANCES, "capital": "1000", "seed": 1}
    )
    inputs = prepare_inputs(settings, hash_files=False)
    rows = []
    for timers in (True, False):
        started = time.perf_counter()
        cpu = time.process_time()
        report = run_backtest(inputs, connection_timers=timers)
        rows.append((timers, report, time.perf_counter() - started, time.process_time() - cpu))
    replay = rows[0][1].body["replay"]
    print(f"\nbacktest: {replay['frames']} frames, {replay['simulated_seconds']:.0f} simulated s")
    print(
        f"{'feed timers':>11} {'frames':>8} {'wall s':>7} {'cpu s':>7} {'frames/s':>9}"
        f" {'x realtime':>10} {'opps':>6} {'cycles':>6}  decisions_sha256"
    )
    for timers, report, elapsed, cpu in rows:
        frames = report.body["replay"]["frames"]  # fed to the book feed (see backtest._run)
        simulated = report.body["replay"]["simulated_seconds"]
        figures = report.figures
        print(
            f"{'on' if timers else 'off':>11} {frames:>8} {elapsed:>7.1f} {cpu:>7.1f}"
            f" {frames / elapsed:>9,.0f} {simulated / elapsed:>10.0f}"
            f" {figures['opportunities']:>6} {figures['cycles_attempted']:>6}"
            f"  {report.body['decisions_sha256'][:16]}"
        )
    if not stages:
        return
    timer = _StageTimer()
    original = trio.run

    def instrumented(*args: Any, **kwargs: Any) -> Any:
        return original(*args, instruments=[timer], **kwargs)

    trio.run = instrumented  # type: ignore[assignment]
    try:
        report = run_backtest(inputs)
    finally:
        trio.run = original  # type: ignore[assignment]
    total = sum(timer.spent.values())
    frames = report.body["replay"]["frames"]
    print(
        f"\nper frame: {timer.steps / frames:.2f} task steps, {timer.rounds / frames:.2f}"
        " scheduler rounds (the machine's load does not change these)"
    )
    print(f"share of task time per stage (instrumented run, {total:.1f} s in task steps)")
    for stage, spent in timer.spent.most_common():
        print(f"  {stage:<52} {spent / total:>6.1%}")


class _Paced:
    """Hands recorded frames over every ``gap`` seconds of the real clock; stamps each."""

    def __init__(self, payloads: Sequence[str], gap: float) -> None:
        self.payloads = payloads
        self.gap = gap
        self.handed: list[float] = []
        self.done = trio.Event()
        self.replies: collections.deque[str] = collections.deque()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        yield self  # type: ignore[misc]

    async def receive(self) -> str:
        if self.replies:
            await trio.lowlevel.checkpoint()
            return self.replies.popleft()
        index = len(self.handed)
        if index >= len(self.payloads):
            self.done.set()
            await trio.sleep_forever()
        await trio.sleep(self.gap)
        self.handed.append(trio.current_time())
        return self.payloads[index]

    async def send(self, frame: str | bytes) -> None:
        """Acknowledge each subscribed symbol at once (the feed waits for it)."""
        request = orjson.loads(frame)
        if request.get("method") == "subscribe":
            params = request.get("params") or {}
            for symbol in params.get("symbol") or [None]:
                result = {"channel": params.get("channel")}
                if symbol is not None:
                    result["symbol"] = symbol
                reply = {"method": "subscribe", "req_id": request.get("req_id"), "success": True}
                self.replies.append(orjson.dumps({**reply, "result": result}).decode())
        await trio.lowlevel.checkpoint()


async def _latency_run(
    payloads: Sequence[str], gap: float, record: Path | None, settings: Any
) -> list[float]:
    paced = _Paced(payloads, gap)
    recorder = FrameRecorder(record) if record is not None else None
    transport: Any = paced
    if recorder is not None:
        recorder.start()
        transport = RecordingTransport(paced, recorder)
    graph, fees = graph_settings(settings), fee_model(settings)
    symbols = tuple(sorted(set(settings.symbols))) or PAIRS
    market = MarketSettings(symbols=symbols, channels=(), heartbeat_timeout=3600.0)
    tree = SupervisorSpec(
        "root", [market_supervisor("paced://", market, graph, fees, transport=transport)]
    )
    latencies: list[float] = []
    async with trio.open_nursery() as nursery:
        system = await nursery.start(run_system, tree)
        opportunities = system.bus.subscribe(TOPIC_OPPORTUNITIES, Lossless(100_000))

        async def watch() -> None:
            async for opportunity in opportunities:
                assert isinstance(opportunity, Opportunity)
                now = trio.current_time()
                handed = [t for t in paced.handed[-4:] if t <= opportunity.received_at]
                if handed:
                    latencies.append(now - handed[-1])

        nursery.start_soon(watch)
        await paced.done.wait()
        await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    if recorder is not None:
        recorder.close()
    return latencies


def _latency(folder: Path, frames: int, gap_us: float) -> None:
    settings = backtest_settings_from(
        {"events": [str(folder)], "balances": BALANCES, "capital": "1000"}
    )
    inputs = prepare_inputs(settings, hash_files=False)
    payloads = inputs.frames.payloads[:frames]
    rows: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(4):
            on = round_ % 2 == 1
            target = Path(scratch) / f"rec{round_}" if on else None
            rows[on] += trio.run(_latency_run, payloads, gap_us / 1e6, target, settings)
    print(
        f"\ntick-to-opportunity on the real clock ({frames} frames x 2 runs each,"
        f" one every {gap_us:g} us)"
    )
    print(f"{'recorder':>9} {'samples':>8} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8}")
    p99 = {}
    for on in (False, True):
        values = sorted(rows[on])
        if not values:
            print(f"{'on' if on else 'off':>9} no opportunities")
            continue
        q = statistics.quantiles(values, n=100)
        p99[on] = q[98]
        print(
            f"{'on' if on else 'off':>9} {len(values):>8} {q[49] * 1e6:>8.0f}"
            f" {q[89] * 1e6:>8.0f} {q[98] * 1e6:>8.0f}"
        )
    if len(p99) == 2:
        print(f"p99 with the recorder / without: {p99[True] / p99[False]:.3f} (target <= 1.05)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--latency-frames", type=int, default=20_000)
    parser.add_argument("--gap-us", type=float, default=3000.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-stages", action="store_true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    folder = _recording(args.minutes, args.pairs, args.cache)
    _throughput(folder, not args.skip_stages)
    if not args.skip_latency:
        _latency(folder, args.latency_frames, args.gap_us)


if __name__ == "__main__":
    main()
