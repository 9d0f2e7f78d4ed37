"""Memory ceiling: the bot in sim mode over a ~1,000-pair universe with the dashboard open.

Runs the whole bot in this process (``arbitrade.soak.run_bot``: embedded simulator, the app's
tree, the dashboard) with a client that keeps the books stream open and polls the overview,
samples this process's RSS every second, and prints a table: RSS at each phase, peak, final,
and the slope over the second half of the run. Target (../shared/targets.md): at most 300 MB
and flat over an hour.

    .venv/bin/python benchmarks/bench_memory.py --minutes 5
    .venv/bin/python benchmarks/bench_memory.py --minutes 60 --extra-assets 215

The figure includes the embedded simulator (its ~1,000 books and market model live in the same
process, as they do under ``arbitrade run`` in sim mode); ``--tracemalloc`` adds the top Python
allocation sites at the end, to see what grows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import tracemalloc
from functools import partial
from pathlib import Path

import trio
from rich.console import Console
from rich.table import Table

from arbitrade.components import load_components
from arbitrade.logs import configure_logging
from arbitrade.soak._bot import BotHandle, run_bot
from arbitrade.soak._checks import check_memory, rss_slope
from arbitrade.soak._observe import Observer
from arbitrade.soak._rss import RssSampler, rss_bytes
from arbitrade.soak._run import SoakOptions, _dashboard_reader, soak_settings


async def measure(args: argparse.Namespace, phases: list[tuple[str, float]]) -> RssSampler:
    pid = os.getpid()
    phases.append(("imports done", float(rss_bytes(pid) or 0)))
    workdir = Path(tempfile.mkdtemp(prefix="arbitrade-mem-"))
    settings = soak_settings(SoakOptions(minutes=args.minutes), workdir)
    observer = Observer()
    sampler = RssSampler(pid)
    async with trio.open_nursery() as nursery:
        handle: BotHandle = await nursery.start(
            partial(
                run_bot,
                settings,
                load_components(),
                venue=args.venue,
                extra_assets=args.extra_assets,
                on_system=lambda system: observer.attach(system.bus),
            )
        )
        nursery.start_soon(observer.run)
        phases.append(
            (f"bot up ({len(handle.simulator.universe.pairs)} pairs)", float(rss_bytes(pid) or 0))
        )
        nursery.start_soon(_dashboard_reader, handle.dashboard_url)
        nursery.start_soon(sampler.run, 1.0)
        await trio.sleep(args.minutes * 60)
        phases.append(
            (
                f"end ({observer.book_tops} book tops, {len(observer.books)} books)",
                float(rss_bytes(pid) or 0),
            )
        )
        nursery.cancel_scope.cancel()
    return sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--extra-assets", type=int, default=215, help="215: about 1,000 pairs")
    parser.add_argument("--venue", choices=("exchange", "paper"), default="paper")
    parser.add_argument("--tracemalloc", action="store_true", help="print top allocation sites")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    if args.tracemalloc:
        tracemalloc.start(10)
    phases: list[tuple[str, float]] = [("interpreter", float(rss_bytes(os.getpid()) or 0))]
    sampler = trio.run(measure, args, phases)
    samples = sampler.samples
    table = Table(title=f"Memory, sim mode, {args.minutes:g} min, dashboard open")
    table.add_column("what")
    table.add_column("RSS MB", justify="right")
    for name, value in phases:
        table.add_row(name, f"{value / 1e6:.0f}")
    if samples:
        table.add_row("peak", f"{max(r for _, r in samples) / 1e6:.0f}")
        table.add_row("final", f"{samples[-1][1] / 1e6:.0f}")
        slope = rss_slope(samples[len(samples) // 2 :])
        table.add_row("slope, 2nd half (MB/h)", "-" if slope is None else f"{slope / 1e6:+.1f}")
        check = check_memory(samples)
        table.add_row("verdict", f"{check.verdict.value}: {check.detail}")
    console = Console()
    console.print(table)
    if args.tracemalloc:
        for stat in tracemalloc.take_snapshot().statistics("filename")[:15]:
            console.print(str(stat))


if __name__ == "__main__":
    main()
