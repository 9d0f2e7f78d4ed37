"""Sweep throughput with 1 and 2 local workers, and the overhead per point.

    .venv/bin/python benchmarks/bench_sweep.py [--seconds 60] [--pairs 3] [--points 8]
        [--rounds 2] [--cache DIR]

1. Records ``--seconds`` simulated seconds of the simulator's market (seed 7) over the first
   ``--pairs`` of BTC/USD, ETH/USD, ETH/BTC, SOL/USD, SOL/BTC, SOL/ETH, in-process on a virtual
   clock (reused from ``--cache`` when given and present).
2. For each round, for 1 worker then 2: opens a local process pool, starts its workers
   (``warm_up``: start-up is reported apart, not counted per point), and runs a grid sweep of
   ``--points`` points (``parameters.min_profit_bps`` = 0, 1, 2, ...; each point a whole
   backtest of the recording) into a fresh DuckDB file, timing the sweep end to end.
3. Prints, per run: points per minute; the mean backtest run time (``run_backtest`` alone,
   timed in the worker); the overhead per point (its wall time in the pool, submission to
   outcome, minus its run time: task transfer, building settings, loading the recording on a
   worker's first point, the report's trip back), mean, median and worst; and worker
   utilisation (run time over wall time times workers: what the coordinator, storage and
   scheduling leave idle); and the CPU the workers got (their user+system time during the
   sweep, from /proc, over wall time times workers): below 100% the machine's other load took
   the rest. Then the 2-worker / 1-worker ratio of points per minute per round, and of points
   per worker CPU-minute (what the ratio would be on idle cores).
Target (shared/targets.md): 2 workers >= 1.8x the points per minute of 1 worker; overhead
per point <= 1 s. The machine is shared: the load average is printed beside each run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from arbitrade.backtest._simrecord import record_simulator
from arbitrade.backtest.sweep import (
    ExecutorHandle,
    load_sweep,
    open_executor,
    run_sweep,
    start_sweep,
    sweep_spec_from,
    warm_up,
)
from arbitrade.logs import configure_logging

PAIRS = ("BTC/USD", "ETH/USD", "ETH/BTC", "SOL/USD", "SOL/BTC", "SOL/ETH")
BALANCES = {"USD": "100000", "BTC": "2", "ETH": "30", "SOL": "500"}


def _recording(seconds: float, pairs: int, cache: Path | None, scratch: Path) -> Path:
    out = (cache or scratch) / f"sweep-sim-{pairs}pairs-{int(seconds)}s"
    if not (out.exists() and any(out.rglob("*.parquet"))):
        started = time.perf_counter()
        result = record_simulator(out, symbols=PAIRS[:pairs], seconds=seconds, seed=7)
        print(
            f"recorded {result.statistics.frames} frames ({seconds:.0f} simulated s, {pairs} pairs)"
            f" in {time.perf_counter() - started:.1f} s"
        )
    return out


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _worker_pids(handle: ExecutorHandle) -> set[int]:
    pids = set()
    for _ in range(10 * handle.slots):
        pids.add(handle.executor.submit(os.getpid).result())
        if len(pids) >= handle.slots:
            break
    return pids


def _one(
    recording: Path, pairs: int, points: int, workers: int, scratch: Path, tag: str
) -> dict[str, float]:
    assets = {asset for pair in PAIRS[:pairs] for asset in pair.split("/")}
    base = {
        "events": [str(recording)],
        "balances": {asset: amount for asset, amount in BALANCES.items() if asset in assets},
    }
    spec = sweep_spec_from(base, {"parameters": {"parameters.min_profit_bps": list(range(points))}})
    database = scratch / f"sweep-{tag}-{workers}w.duckdb"
    with open_executor(workers=workers) as handle:
        start_up = warm_up(handle)
        pids = _worker_pids(handle)
        sweep_id = start_sweep(spec, database)
        load = os.getloadavg()[0]
        cpu_before = _cpu_seconds(pids)
        started = time.perf_counter()
        result = run_sweep(database, sweep_id, handle.executor, slots=handle.slots)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(pids) - cpu_before
    rows = load_sweep(database, sweep_id).points
    assert result.done == points, f"{result.failed} points failed: {[r.error for r in rows]}"
    runs = [row.run_seconds for row in rows]
    overheads = [row.point_seconds - row.run_seconds for row in rows]
    return {
        "workers": workers,
        "start_up": start_up,
        "load": load,
        "wall": wall,
        "ppm": points / wall * 60,
        "run": statistics.fmean(runs),
        "over_mean": statistics.fmean(overheads),
        "over_p50": statistics.median(overheads),
        "over_max": max(overheads),
        "utilisation": sum(runs) / (wall * workers),
        "cpu_share": cpu / (wall * workers),
        "points_per_cpu_minute": points / cpu * 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        recording = _recording(args.seconds, args.pairs, args.cache, scratch)
        print(
            f"{args.points} points per sweep (grid over parameters.min_profit_bps), "
            f"{os.cpu_count()} cores"
        )
        header = (
            f"{'round':>5} {'workers':>7} {'load':>5} {'start s':>7} {'wall s':>7}"
            f" {'points/min':>10} {'run s':>6} {'overhead s: mean':>16} {'p50':>6}"
            f" {'max':>6} {'util':>5} {'cpu':>5} {'pts/cpu-min':>11}"
        )
        print(header)
        print("-" * len(header))
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        for round_number in range(1, args.rounds + 1):
            by_workers = {}
            for workers in (1, 2):
                row = _one(recording, args.pairs, args.points, workers, scratch, f"r{round_number}")
                by_workers[workers] = row
                print(
                    f"{round_number:>5} {workers:>7} {row['load']:>5.1f} {row['start_up']:>7.2f}"
                    f" {row['wall']:>7.2f} {row['ppm']:>10.1f} {row['run']:>6.2f}"
                    f" {row['over_mean']:>16.3f} {row['over_p50']:>6.3f} {row['over_max']:>6.3f}"
                    f" {row['utilisation']:>5.0%} {row['cpu_share']:>5.0%}"
                    f" {row['points_per_cpu_minute']:>11.1f}"
                )
            ratios.append(by_workers[2]["ppm"] / by_workers[1]["ppm"])
            cpu_ratios.append(
                2 * by_workers[2]["points_per_cpu_minute"] / by_workers[1]["points_per_cpu_minute"]
            )
        print()
        print(
            "points/min, 2 workers over 1 (per round): "
            + ", ".join(f"{ratio:.2f}x" for ratio in ratios)
            + f"; median {statistics.median(ratios):.2f}x (target >= 1.8x)"
        )
        print(
            "on idle cores (2 x points per worker CPU-minute, 2 workers over 1): "
            + ", ".join(f"{ratio:.2f}x" for ratio in cpu_ratios)
            + f"; median {statistics.median(cpu_ratios):.2f}x"
        )


if __name__ == "__main__":
    main()
