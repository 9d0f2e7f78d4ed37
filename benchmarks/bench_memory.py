"""Memory ceiling: the bot in sim mode over a ~1,000-pair universe with the dashboard open.

Runs the whole bot in this process (``arbitrade.soak.run_bot``: the app's tree, the live venue
against the simulator, the dashboard) with a client that keeps the books stream open and polls
the overview, samples this process's RSS every second, and prints a table: RSS at each phase
and every few minutes, peak, final, and the slope (least squares, MB per hour) over the
samples after the warm-up and over the second half of the run; then the heavy third-party
modules the process has loaded. Target (../shared/targets.md): at most 300 MB and flat over
an hour.

The simulator runs in a child process of its own, as under ``arbitrade run`` in sim mode
(ADR 14): its ~1,000 books and market model are not in the bot's figure, and its RSS is
reported on a row of its own. ``--sim-in-process`` serves it on the bot's loop instead (the
layout before ADR 14; at ~1,000 pairs the one loop cannot keep up and the books never go
live, so that figure is not the bot's).

    .venv/bin/python benchmarks/bench_memory.py --minutes 5
    .venv/bin/python benchmarks/bench_memory.py --minutes 60 --warmup 10
    .venv/bin/python benchmarks/bench_memory.py --minutes 10 --tracemalloc
    .venv/bin/python benchmarks/bench_memory.py --minutes 12 --warmup 4 --memray
    .venv/bin/python benchmarks/bench_memory.py --minutes 6 --arena-max 2 --trim-every 60

``--arena-max N`` runs the bot with glibc's ``MALLOC_ARENA_MAX=N`` (the script re-executes
itself with it; 0, the default, leaves glibc's own limit of 8 arenas per core), and
``--trim-every S`` calls glibc's ``malloc_trim(0)`` every S seconds (0, the default: never)
and reports what the calls gave back: together they tell memory the process still uses from
memory glibc kept after it was freed.

``--tracemalloc`` starts tracing at the end of the warm-up and prints, at the end, the Python
allocation sites still holding what they allocated after it: what grows. ``--objects`` counts
live objects by type (those the garbage collector tracks) at the end of the warm-up and at
the end and prints the growth. Both tracers also print the top growers: ``--tracemalloc`` the
net growth by line between the midpoint of the measured part and the end (churn cancels out),
``--memray`` the allocations made after the warm-up and still live at the end, by stack,
Python allocators included (``memray.Tracker`` in aggregated mode, the capture left in the
temp folder). Both slow the bot down: the RSS figures of a traced run are not the ones to
quote. The table also shows the machine's load average (the machine is shared). For the
whole process under memray instead::

    .venv/bin/python -m memray run -o mem.bin benchmarks/bench_memory.py --minutes 5
    .venv/bin/python -m memray summary mem.bin

The harness watches the bot through two light bus subscriptions only (book states, lossy
book tops), so its own memory stays flat.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import ctypes.util
import gc
import os
import sys
import tempfile
import tracemalloc
from functools import partial
from pathlib import Path
from typing import Any

import trio
from rich.console import Console
from rich.table import Table

from actors import Bus, Lossless, LossyLatest, Subscription
from arbitrade.components import load_components
from arbitrade.logs import configure_logging
from arbitrade.messages import TOPIC_BOOK_STATE, TOPIC_BOOK_TOP, BookHealth, BookStateChanged
from arbitrade.sim import Simulator
from arbitrade.soak._bot import BotHandle, run_bot
from arbitrade.soak._checks import check_memory, rss_slope
from arbitrade.soak._rss import RssSampler, rss_bytes
from arbitrade.soak._run import SoakOptions, _dashboard_reader, soak_settings

HEAVY_MODULES = (
    "numpy",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "duckdb",
    "pandas",
    "scipy",
    "statsmodels",
    "optuna",
    "dask",
    "distributed",
    "quart",
    "playwright",
    "kraken",
)
"""Third-party modules worth tens of MB or seconds of import each, or pulled in by them."""


class BookWatch:
    """Books live now and book tops seen: all the harness needs to know the market runs."""

    def __init__(self) -> None:
        self.books: dict[str, BookHealth] = {}
        self.book_tops = 0
        self._states: Subscription | None = None
        self._tops: Subscription | None = None

    def attach(self, bus: Bus) -> None:
        self._states = bus.subscribe(TOPIC_BOOK_STATE, Lossless(10_000))
        self._tops = bus.subscribe(TOPIC_BOOK_TOP, LossyLatest(100))

    @property
    def live(self) -> int:
        return sum(health is BookHealth.LIVE for health in self.books.values())

    async def run(self) -> None:
        if self._states is None or self._tops is None:
            raise RuntimeError("attach the watch to the bus before running it")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_states, self._states)
            with self._tops:
                async for _ in self._tops:
                    self.book_tops += 1

    async def _watch_states(self, states: Subscription) -> None:
        with states:
            async for change in states:
                if isinstance(change, BookStateChanged):
                    self.books[change.symbol] = change.health


def count_objects() -> collections.Counter[str]:
    """Live objects the garbage collector tracks (containers and class instances), by type."""
    gc.collect()
    return collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
    )


class Trimmer:
    """Call glibc's ``malloc_trim(0)`` now and then; add up what RSS fell by across calls."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.calls = 0
        self.released = 0
        self.last_released = 0
        name = ctypes.util.find_library("c")
        self._trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None

    def trim(self) -> None:
        if self._trim is None:
            return
        before = rss_bytes(self.pid) or 0
        self._trim(0)
        self.last_released = max(0, before - (rss_bytes(self.pid) or 0))
        self.released += self.last_released
        self.calls += 1

    async def run(self, every: float) -> None:
        while True:
            await trio.sleep(every)
            self.trim()


def _mb(value: float) -> str:
    return f"{value / 1e6:.0f}"


class Tracers:
    """The optional tracers of a run: started after the warm-up, read at the end."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.middle: tracemalloc.Snapshot | None = None
        self.memray_path = workdir / "bench_memory.memray.bin"
        self._memray: contextlib.AbstractContextManager[Any] | None = None

    def start(self) -> None:
        if self.args.tracemalloc:
            tracemalloc.start(self.args.frames)
        if self.args.memray:
            import memray

            self._memray = memray.Tracker(
                self.memray_path,
                file_format=memray.FileFormat.AGGREGATED_ALLOCATIONS,
                trace_python_allocators=True,
            )
            self._memray.__enter__()

    def middle_of_measure(self) -> None:
        if self.args.tracemalloc and tracemalloc.is_tracing():
            self.middle = tracemalloc.take_snapshot()

    def stop(self) -> None:
        if self._memray is not None:
            self._memray.__exit__(None, None, None)
            self._memray = None

    def report(self, console: Console) -> None:
        top = self.args.top
        if self.args.tracemalloc and tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot()
            tracemalloc.stop()
            if self.middle is not None:
                console.print("tracemalloc, top growers from the middle of the measure to the end:")
                for stat in snapshot.compare_to(self.middle, "lineno")[:top]:
                    console.print(f"  {stat}")
            console.print(
                f"tracemalloc, still allocated from after the {self.args.warmup:g} min warm-up:"
            )
            for kept in snapshot.statistics("lineno")[:top]:
                console.print(f"  {kept}")
        if self.args.memray and self.memray_path.exists():
            import memray

            reader = memray.FileReader(self.memray_path)
            records = sorted(
                reader.get_leaked_allocation_records(merge_threads=True),
                key=lambda record: record.size,
                reverse=True,
            )
            total = sum(record.size for record in records)
            console.print(
                f"memray, allocated after the warm-up and still live at the end: "
                f"{total / 1e6:.1f} MB; top stacks ({self.memray_path}):"
            )
            for record in records[:top]:
                frames = " <- ".join(
                    f"{Path(file).name}:{line} {function}"
                    for function, file, line in record.stack_trace(self.args.frames or 3)
                )
                console.print(
                    f"  {record.size / 1e6:7.2f} MB {record.n_allocations:7d} allocs  {frames}"
                )


def sim_records(simulator: Simulator) -> list[tuple[str, str]]:
    """How many entries the simulator's bounded records hold (kept / cap / ever written)."""
    config = simulator.config
    rows = [
        (
            "sim trades kept / cap / printed",
            f"{len(simulator.trade_log)} / {config.trades_keep} / {simulator.trade_log.end}",
        ),
        (
            "sim order requests kept / cap / received",
            f"{len(simulator.received_orders)} / {config.received_orders_keep} / "
            f"{simulator.received_orders.end}",
        ),
        (
            "sim orders held (open + closed, cap per key)",
            f"{len(simulator.engine.orders)} ({config.closed_orders_keep} closed per key)",
        ),
        ("sim status changes", str(simulator.status_changes.end)),
    ]
    for key, events in simulator.executions.items():
        rows.append(
            (
                f"sim executions of {key[:12]}... kept / cap / sent",
                f"{len(events)} / {config.executions_keep} / {events.end}",
            )
        )
    return rows


def minute_samples(samples: list[tuple[float, float]]) -> list[float]:
    """The last RSS sample of each whole minute of the run."""
    last: dict[int, float] = {}
    for at, rss in samples:
        last[int(at // 60)] = rss
    return [last[minute] for minute in sorted(last)]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


async def measure(
    args: argparse.Namespace,
    phases: list[tuple[str, float]],
    sampler: RssSampler,
    counts: list[collections.Counter[str]],
    trimmer: Trimmer,
    extra_rows: list[tuple[str, str]],
) -> None:
    pid = os.getpid()
    workdir = Path(tempfile.mkdtemp(prefix="arbitrade-mem-"))
    settings = soak_settings(SoakOptions(minutes=args.minutes), workdir)
    watch = BookWatch()
    tracers = Tracers(args, workdir)
    extra_rows.append(("load average at start (1 / 5 / 15 min)", _load()))
    async with trio.open_nursery() as nursery:
        handle: BotHandle = await nursery.start(
            partial(
                run_bot,
                settings,
                load_components(),
                venue=args.venue,
                extra_assets=args.extra_assets,
                simulator_in_process=args.sim_in_process,
                on_system=lambda system: watch.attach(system.bus),
            )
        )
        nursery.start_soon(watch.run)
        pairs = await handle.simulator.pair_count()
        # In this process (--sim-in-process): the Simulator itself, for its records' sizes.
        simulator = getattr(handle.simulator, "simulator", None)
        sim_pid = getattr(handle.simulator, "pid", None)
        phases.append((f"bot up ({pairs} pairs)", float(rss_bytes(pid) or 0)))
        args.sim_sampler = None if sim_pid is None else RssSampler(sim_pid)
        if args.sim_sampler is not None:
            nursery.start_soon(args.sim_sampler.run, args.sample)
        nursery.start_soon(_dashboard_reader, handle.dashboard_url)
        nursery.start_soon(sampler.run, args.sample)
        if args.trim_every > 0:
            nursery.start_soon(trimmer.run, args.trim_every)
        total = args.minutes * 60.0
        warmup = min(args.warmup * 60.0, total)
        middle = warmup + (total - warmup) / 2
        every = args.every * 60.0
        rows = {min(total, every * n) for n in range(1, int(total // every) + 2)}
        elapsed = 0.0
        for mark in sorted(rows | {warmup, middle}):
            await trio.sleep(mark - elapsed)
            elapsed = mark
            if mark == warmup:
                if args.objects:
                    counts.append(count_objects())
                tracers.start()
            if mark == middle:
                tracers.middle_of_measure()
            if mark in rows:
                phases.append(
                    (
                        f"after {elapsed / 60:g} min ({watch.live}/{pairs} books live, "
                        f"{watch.book_tops} tops seen)",
                        float(rss_bytes(pid) or 0),
                    )
                )
        tracers.stop()
        if args.objects:
            counts.append(count_objects())
        if isinstance(simulator, Simulator):
            extra_rows.extend(sim_records(simulator))
        extra_rows.append(("load average at end (1 / 5 / 15 min)", _load()))
        nursery.cancel_scope.cancel()
    args.tracers = tracers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the run")
    parser.add_argument(
        "--warmup", type=float, default=None, help="minutes left out of the slope (half the run)"
    )
    parser.add_argument("--every", type=float, default=None, help="minutes between table rows")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument("--extra-assets", type=int, default=215, help="215: about 1,000 pairs")
    parser.add_argument("--venue", choices=("exchange", "paper"), default="paper")
    parser.add_argument(
        "--sim-in-process",
        action="store_true",
        help="serve the simulator on the bot's loop (default: a child process of its own)",
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="after the warm-up, trace what grows"
    )
    parser.add_argument(
        "--memray", action="store_true", help="after the warm-up, memray: what is still live"
    )
    parser.add_argument("--frames", type=int, default=1, help="traceback depth of the tracers")
    parser.add_argument("--top", type=int, default=15, help="how many top growers to print")
    parser.add_argument(
        "--objects", action="store_true", help="live objects by type: which counts grew"
    )
    parser.add_argument(
        "--arena-max", type=int, default=0, help="MALLOC_ARENA_MAX for the run (0: glibc default)"
    )
    parser.add_argument(
        "--trim-every", type=float, default=0.0, help="seconds between malloc_trim(0) (0: never)"
    )
    args = parser.parse_args()
    wanted = str(args.arena_max) if args.arena_max > 0 else ""
    if os.environ.get("MALLOC_ARENA_MAX", "") != wanted:
        # glibc reads it once, at start-up: run again with the environment the run asks for
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        if wanted:
            env["MALLOC_ARENA_MAX"] = wanted
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    if args.warmup is None:
        args.warmup = args.minutes / 2
    if args.every is None:
        args.every = max(1.0, round(args.minutes / 10))
    configure_logging(level="WARNING")
    phases = [("interpreter and imports", float(rss_bytes(os.getpid()) or 0))]
    sampler = RssSampler(os.getpid())
    counts: list[collections.Counter[str]] = []
    trimmer = Trimmer(os.getpid())
    extra_rows: list[tuple[str, str]] = []
    trio.run(measure, args, phases, sampler, counts, trimmer, extra_rows)
    samples = sampler.samples
    arena = os.environ.get("MALLOC_ARENA_MAX", "glibc default")
    trim = f"malloc_trim every {args.trim_every:g} s" if args.trim_every > 0 else "no malloc_trim"
    table = Table(
        title=f"Memory, sim mode, {args.minutes:g} min, dashboard open, "
        f"MALLOC_ARENA_MAX={arena}, {trim} (extra, besides the bot's own mallopt and "
        "60 s trim: ADR 17)"
    )
    table.add_column("what")
    table.add_column("RSS MB", justify="right")
    for name, value in phases:
        table.add_row(name, _mb(value))
    if samples:
        table.add_row("peak", _mb(max(r for _, r in samples)))
        table.add_row("final", _mb(samples[-1][1]))
        after = [s for s in samples if s[0] >= args.warmup * 60.0]
        for label, part in (
            (f"slope after {args.warmup:g} min warm-up (MB/h)", after),
            ("slope, 2nd half (MB/h)", samples[len(samples) // 2 :]),
        ):
            slope = rss_slope(part)
            table.add_row(label, "-" if slope is None else f"{slope / 1e6:+.1f}")
        check = check_memory(samples)
        table.add_row("verdict (soak's check)", f"{check.verdict.value}: {check.detail}")
    sim_samples = args.sim_sampler.samples if args.sim_sampler is not None else []
    if sim_samples:
        slope = rss_slope([s for s in sim_samples if s[0] >= args.warmup * 60.0])
        table.add_row(
            "simulator process: peak / final / slope after warm-up (MB, MB/h)",
            f"{_mb(max(r for _, r in sim_samples))} / {_mb(sim_samples[-1][1])} / "
            + ("-" if slope is None else f"{slope / 1e6:+.1f}"),
        )
    if trimmer.calls:
        table.add_row(
            f"malloc_trim gave back ({trimmer.calls} calls: total / last)",
            f"{_mb(trimmer.released)} / {_mb(trimmer.last_released)}",
        )
    loaded = [name for name in HEAVY_MODULES if name in sys.modules]
    table.add_row("heavy modules loaded", ", ".join(loaded) or "none")
    for name, text in extra_rows:
        table.add_row(name, text)
    console = Console()
    console.print(table)
    if samples:
        console.print("RSS at the end of each minute (MB):")
        console.print(" ".join(_mb(rss) for rss in minute_samples(samples)))
    if len(counts) == 2:
        grown = counts[1].copy()
        grown.subtract(counts[0])
        console.print(
            f"Live objects by type, growth from the {args.warmup:g} min warm-up to the end:"
        )
        for name, change in grown.most_common(15):
            console.print(f"{change:+9d}  {name} (now {counts[1][name]})")
    args.tracers.report(console)


if __name__ == "__main__":
    main()
