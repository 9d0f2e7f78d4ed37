"""Latency profile of the hot path, stage by stage, as multiples of a calibration loop.

    python scripts/profile_latency.py --iterations 600 \
        --output ops/performance/latency_baseline.json

Stages (see ``latency_stages.py`` and ``latency_chain.py``): frame decode, book apply with
its checksum, cycle screening, cycle sizing, the risk check, order formatting, and
tick-to-order from a raw frame through the real risk-gate and executor actors to the venue.
Stages take turns in blocks of ten calls, the calibration loop among them, so a busy moment
of the machine lands on all of them alike; the first tenth of the iterations (at least 20)
warm up and are dropped. Each stage's p50/p95/p99 is written in microseconds and as a ratio to
the calibration loop's p50 measured in the same run: ratios, not microseconds, travel between
machines. The garbage collector is frozen and off while measuring, as a production process
would ``gc.freeze()`` after start-up.

A planted slowdown, for testing the guard: ``--inject-delay STAGE=MICROSECONDS`` (or the
environment variable ``ARBITRADE_LATENCY_INJECT="STAGE=MICROSECONDS,..."``) busy-waits that
long inside the named stage's timed part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog
import trio
from latency_chain import TickToOrder
from latency_stages import STAGE_NAMES, Stage, calibration, sync_stages

SCHEMA = 1
INJECT_ENV = "ARBITRADE_LATENCY_INJECT"
TICK_TO_ORDER = "tick_to_order"
TICK_TO_OPPORTUNITY = "tick_to_opportunity"
TICK_TO_OPPORTUNITY_DESCRIPTION = (
    "raw book frame -> decode, OrderBook.apply, BookTop, CycleDetector -> Opportunity "
    "(inline, the first part of tick_to_order)"
)
TICK_TO_ORDER_DESCRIPTION = (
    "raw book frame -> decode, book, detector (inline) -> bus -> RiskGate actor -> "
    "Executor actor -> leg 1 handed to the venue"
)
BLOCK = 10
"""Consecutive calls of one stage before the next stage takes its turn."""
QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


class UnknownStage(ValueError):
    """An injection or a stage filter names a stage the profile does not have."""


def parse_injections(specs: Sequence[str]) -> dict[str, float]:
    """``["risk_check=200", ...]`` (microseconds) as ``{"risk_check": 0.0002}`` seconds.

    Raises:
        ValueError: a spec is not ``NAME=MICROSECONDS`` with a non-negative number.
    """
    delays: dict[str, float] = {}
    for spec in specs:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            try:
                micros = float(value)
            except ValueError:
                micros = -1.0
            if not sep or not name or micros < 0:
                raise ValueError(f"expected STAGE=MICROSECONDS, got {part!r}")
            delays[name.strip()] = micros / 1e6
    return delays


def environment_injections() -> str:
    """The planted slowdowns named in ``ARBITRADE_LATENCY_INJECT`` (empty when unset)."""
    return os.environ.get(INJECT_ENV, "")


def busy_wait(seconds: float) -> Callable[[], None]:
    """A function that spins for ``seconds`` (nothing when zero): the planted slowdown."""
    if seconds <= 0:
        return lambda: None

    def spin() -> None:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            pass

    return spin


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (``samples`` need not be sorted)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(
    stages: list[Stage], with_chain: bool, iterations: int, warmup: int, delays: dict[str, float]
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {s.name: [] for s in stages}
    waits = {s.name: busy_wait(delays.get(s.name, 0.0)) for s in stages}
    chain_waits = (
        busy_wait(delays.get(TICK_TO_OPPORTUNITY, 0.0)),
        busy_wait(delays.get(TICK_TO_ORDER, 0.0)),
    )
    if with_chain:
        samples[TICK_TO_OPPORTUNITY] = []
        samples[TICK_TO_ORDER] = []
    clock = time.perf_counter
    async with trio.open_nursery() as nursery:
        chain: TickToOrder | None = await nursery.start(TickToOrder().run) if with_chain else None
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            # Blocks of BLOCK calls per stage, round-robin: a stage keeps its caches warm
            # within a block, and a busy moment of the machine still lands on every stage.
            for first in range(0, warmup + iterations, BLOCK):
                block = range(first, min(first + BLOCK, warmup + iterations))
                for stage in stages:
                    run, wait, kept = stage.run, waits[stage.name], samples[stage.name]
                    for n in block:
                        start = clock()
                        run()
                        wait()
                        elapsed = clock() - start
                        if n >= warmup:
                            kept.append(elapsed)
                if chain is not None:
                    for n in block:
                        to_opportunity, to_order = await chain.once(*chain_waits)
                        if n >= warmup:
                            samples[TICK_TO_OPPORTUNITY].append(to_opportunity)
                            samples[TICK_TO_ORDER].append(to_order)
                await trio.lowlevel.checkpoint()
        finally:
            gc.enable()
            gc.unfreeze()
        nursery.cancel_scope.cancel()
    return samples


def _summary(samples: Sequence[float], reference: float) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, q in QUANTILES:
        summary[f"{name}_us"] = round(percentile(samples, q) * 1e6, 3)
    summary["ratio"] = {name: round(percentile(samples, q) / reference, 4) for name, q in QUANTILES}
    return summary


def profile(
    iterations: int = 600,
    *,
    only: Sequence[str] | None = None,
    delays: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Run the profile; return the report (the JSON written by ``--output``).

    ``only`` keeps just those stages (the calibration always runs). ``delays`` plants a
    slowdown (seconds) in named stages; when None, ``ARBITRADE_LATENCY_INJECT`` is read.
    Logging is left as configured: :func:`quiet_logs` silences it for the command line.

    Raises:
        UnknownStage: ``only`` or ``delays`` names a stage that does not exist.
        AssertionError: a stage no longer does what it is meant to time (e.g. the risk gate
            refused a profiled cycle); the message says which.
    """
    if delays is None:
        delays = parse_injections([environment_injections()])
    known = ["calibration", *STAGE_NAMES, TICK_TO_OPPORTUNITY, TICK_TO_ORDER]
    for name in [*(only or ()), *delays]:
        if name not in known:
            raise UnknownStage(f"no stage named {name!r}; stages: {', '.join(known)}")
    wanted = set(only) if only else set(known)
    stages = [calibration(), *sync_stages(wanted)]
    with_chain = bool(wanted & {TICK_TO_OPPORTUNITY, TICK_TO_ORDER})
    warmup = max(20, iterations // 10)
    started = time.perf_counter()
    samples = trio.run(_measure, stages, with_chain, iterations, warmup, delays)
    reference = percentile(samples["calibration"], 0.5)
    descriptions = {s.name: s.description for s in stages}
    descriptions[TICK_TO_OPPORTUNITY] = TICK_TO_OPPORTUNITY_DESCRIPTION
    descriptions[TICK_TO_ORDER] = TICK_TO_ORDER_DESCRIPTION
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "iterations": iterations,
        "warmup": warmup,
        "seconds": round(time.perf_counter() - started, 2),
        "injected_us": {name: seconds * 1e6 for name, seconds in delays.items()},
        "calibration": _summary(samples["calibration"], reference),
        "stages": {
            name: {"description": descriptions[name], **_summary(values, reference)}
            for name, values in samples.items()
            if name != "calibration"
        },
    }
    return report


def quiet_logs() -> None:
    """Silence structlog and stdlib logging below CRITICAL (the stages log warnings by design,
    e.g. pairs the graph skips, and a log line inside a timed call would be measured)."""
    logging.disable(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def format_table(report: dict[str, Any]) -> str:
    """The report as a text table: microseconds, then ratios to the calibration p50."""
    calibration_p50 = report["calibration"]["p50_us"]
    machine = report["machine"]
    lines = [
        f"{report['iterations']} iterations (+{report['warmup']} warm-up) in "
        f"{report['seconds']} s; calibration p50 {calibration_p50:.1f} us; load "
        f"{machine['load_average_1m']} on {machine['cpu_count']} cores",
        f"{'stage':<18} {'p50 us':>9} {'p95 us':>9} {'p99 us':>9} "
        f"{'p50 x':>8} {'p95 x':>8} {'p99 x':>8}",
    ]
    rows = [("calibration", report["calibration"]), *report["stages"].items()]
    for name, stage in rows:
        ratio = stage["ratio"]
        lines.append(
            f"{name:<18} {stage['p50_us']:>9.1f} {stage['p95_us']:>9.1f} {stage['p99_us']:>9.1f} "
            f"{ratio['p50']:>8.3f} {ratio['p95']:>8.3f} {ratio['p99']:>8.3f}"
        )
    if report["injected_us"]:
        planted = ", ".join(f"{k} +{v:g} us" for k, v in report["injected_us"].items())
        lines.append(f"planted slowdown: {planted}")
    return "\n".join(lines)


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """``--iterations``, ``--stage`` and ``--inject-delay`` (shared with the guard)."""
    parser.add_argument("--iterations", type=int, default=600, help="measured iterations")
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="NAME",
        help="profile only this stage (repeatable; calibration always runs)",
    )
    parser.add_argument(
        "--inject-delay",
        action="append",
        default=[],
        metavar="STAGE=MICROSECONDS",
        help=f"plant a busy-wait in a stage (testing the guard; also ${INJECT_ENV})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_profile_arguments(parser)
    parser.add_argument("--output", type=Path, help="write the JSON report here")
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")
    quiet_logs()
    try:
        delays = parse_injections([environment_injections(), *args.inject_delay])
        report = profile(args.iterations, only=args.stage or None, delays=delays)
    except (UnknownStage, ValueError) as error:
        print(f"profile_latency: {error}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
