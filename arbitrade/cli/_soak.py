"""``arbitrade soak``: the fault soak and the kill-and-reopen cycles, judged as a table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import trio
from rich.console import Console

if TYPE_CHECKING:
    from arbitrade.soak._checks import Check, KindSummary


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "soak",
        help="run the bot in sim mode under random faults, then check it lost nothing",
        description=(
            "Run the whole bot in sim mode while every simulator fault knob and crashes of "
            "its own actors fire in a seeded random order; then check recovery, orders "
            "doubled, rows lost, PnL and memory, and (with --kills) SIGKILL `arbitrade run` "
            "during writes and reopen its database. Exits 1 if a check fails."
        ),
    )
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the fault soak")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault plan")
    parser.add_argument("--kills", type=int, default=0, help="SIGKILL-and-reopen cycles after it")
    parser.add_argument(
        "--venue",
        choices=("exchange", "paper"),
        default="exchange",
        help="exchange: orders go to the embedded simulator (default); paper: run_app's fills",
    )
    parser.add_argument(
        "--extra-assets", type=int, default=0, help="synthetic assets (215: about 1,000 pairs)"
    )
    parser.add_argument(
        "--sim-in-process",
        action="store_true",
        help="serve the simulator on the bot's own loop (default: a child process of its own)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep database and logs here")
    parser.add_argument(
        "--advisory",
        type=_advisory,
        default=(),
        metavar="CHECKS",
        help=(
            "comma list of checks reported but not failing the run: "
            + ", ".join(ADVISORY)
            + " (the timing checks, for a shared CI machine; correctness checks always count)"
        ),
    )
    parser.set_defaults(handler=_soak)


ADVISORY: dict[str, tuple[str, ...]] = {
    "recovery": ("faults recovered", "recover p50 / p99", "recover p99"),
    "visibility": ("faults in restart/audit log",),
    "trading": ("still trading",),
    "memory": ("bot memory (RSS)",),
}
"""Checks that may be made advisory, by the name ``--advisory`` takes: each measures time or
load (how fast, how much), never whether an order doubled, a row was lost or PnL is off."""


def _advisory(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ADVISORY]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown check {', '.join(unknown)}; choose from {', '.join(ADVISORY)}"
        )
    return names


def failed_checks(checks: list[Check], advisory: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The failed checks' names: ``(counting, advisory)``."""
    lenient = {check for name in advisory for check in ADVISORY[name]}
    failed = [c.name for c in checks if c.verdict.value == "FAIL"]
    return [n for n in failed if n not in lenient], [n for n in failed if n in lenient]


def _soak(args: argparse.Namespace) -> int:
    from arbitrade.logs import configure_logging
    from arbitrade.soak import SoakOptions, print_report, run_soak
    from arbitrade.soak._kill import run_kill_cycles

    configure_logging(level="WARNING")
    console = Console(width=None if sys.stdout.isatty() else 140)
    checks: list[Check] = []
    summaries: tuple[KindSummary, ...] = ()
    figures: list[tuple[str, str]] = []
    workdir: Path | None = args.workdir
    if args.minutes > 0:
        options = SoakOptions(
            minutes=args.minutes,
            seed=args.seed,
            venue=args.venue,
            extra_assets=args.extra_assets,
            workdir=workdir,
            simulator_in_process=args.sim_in_process,
        )
        report = trio.run(run_soak, options)
        checks += list(report.checks)
        summaries = report.summaries
        figures += list(report.figures)
        workdir = report.workdir
    if args.kills > 0:
        kills = run_kill_cycles(args.kills, seed=args.seed, workdir=workdir)
        checks += list(kills.checks)
        figures += list(kills.figures)
    print_report(console, summaries, checks, figures)
    if workdir is not None:
        console.print(f"database and bot log: {workdir}")
    counting, lenient = failed_checks(checks, args.advisory)
    if lenient:
        console.print(f"advisory (not failing the run): {', '.join(lenient)} failed")
    return 1 if counting else 0
