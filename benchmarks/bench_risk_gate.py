"""The risk gate's decision cost, with and without book states known (issue #13).

Run: ``.venv/bin/python benchmarks/bench_risk_gate.py [--decisions N] [--books N]``

Times :meth:`arbitrade.risk.RiskGateCore.decide` on the default test triangle (three legs, a
funded portfolio) in four situations: no book state seen (what the gate did before the
book-health check: unit tests and scripted venues still look like this); ``--books`` books
announced live (a full universe) with the triangle's among them; the same with one leg's book
stale (rejected by ``check_books_live`` before the profit, sizing and limit checks); and, for
comparison, one leg's book too old by its age (rejected one check later by ``check_book_age``).
Each accepted cycle is finished at once (``on_cycle_finished``, timed too) so the open-cycle
and balance limits never bind; rejected ones leave nothing behind.

CPU time per decision (``process_time``: the machine is shared) over the whole run, and p50/p99
of per-decision wall time (``perf_counter_ns``). The garbage collector is off while timing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from decimal import Decimal
from typing import Any

from arbitrade.messages import (
    BookHealth,
    BookStateChanged,
    CycleFinished,
    Leg,
    Opportunity,
    PortfolioSnapshot,
    Side,
)
from arbitrade.risk import RiskGateCore, RiskSettings

D = Decimal
WALL = 1_790_000_000.0
LEGS = (
    Leg("BTC/USD", Side.BUY, D("50000"), D("0.01"), "USD", "BTC"),
    Leg("ETH/BTC", Side.BUY, D("0.05"), D("0.2"), "BTC", "ETH"),
    Leg("ETH/USD", Side.SELL, D("2600"), D("0.2"), "ETH", "USD"),
)
BALANCES = (("USD", D(10**9)), ("BTC", D(10**6)), ("ETH", D(10**7)))


def opportunity(number: int, now: float, ages: tuple[float, ...]) -> Opportunity:
    return Opportunity(
        id=f"opp-{number}",
        strategy="triangular",
        home="USD",
        legs=LEGS,
        start_amount=D("500"),
        end_amount=D("520"),
        profit=D("20"),
        profit_bps=D("400"),
        book_ages=ages,
        received_at=now,
        detected_at=now,
    )


def core_with(books: int, stale: str | None) -> RiskGateCore:
    settings = RiskSettings(
        rate_tier="pro", rate_budget_fraction=D(1), max_open_cycles=1000, max_open_orders=10**5
    )
    core = RiskGateCore(settings)
    core.on_portfolio(PortfolioSnapshot(BALANCES, D(0), D(0), "USD", 0.0, WALL))
    symbols = [f"X{i}/USD" for i in range(max(0, books - len(LEGS)))]
    if books:
        symbols += [leg.symbol for leg in LEGS]
    for symbol in symbols:
        core.on_book_state(BookStateChanged(symbol, BookHealth.LIVE, "snapshot", 0.0))
    if stale is not None:
        core.on_book_state(BookStateChanged(stale, BookHealth.STALE, "feed lagging", 0.0))
    return core


def run(decisions: int, books: int, stale: str | None, old: bool) -> dict[str, Any]:
    core = core_with(books, stale)
    ages = (0.1, 9.0, 0.1) if old else (0.1, 0.1, 0.1)
    walls: list[int] = []
    accepted = 0
    gc.disable()
    try:
        started = time.process_time()
        for number in range(decisions):
            # decisions a second apart: the rate counter decays between them
            now = 1_000.0 + number
            before = time.perf_counter_ns()
            decision = core.decide(opportunity(number, now, ages), now, WALL)
            if decision.accepted:
                accepted += 1
                finished = CycleFinished(f"opp-{number}", "completed", "USD", D(1), D(0), now)
                core.on_cycle_finished(finished, now, WALL)
            walls.append(time.perf_counter_ns() - before)
        cpu = time.process_time() - started
    finally:
        gc.enable()
    walls.sort()
    return {
        "cpu_us": cpu / decisions * 1e6,
        "p50_us": statistics.median(walls) / 1e3,
        "p99_us": walls[int(len(walls) * 0.99) - 1] / 1e3,
        "accepted": accepted,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--books", type=int, default=1_000)
    args = parser.parse_args(argv)
    cases = [
        ("no book state seen", 0, None, False),
        (f"{args.books} books live", args.books, None, False),
        (f"{args.books} books, one leg stale", args.books, "ETH/BTC", False),
        (f"{args.books} books live, one leg too old", args.books, None, True),
    ]
    print(f"RiskGateCore.decide, {args.decisions} decisions per case (3-leg triangle)")
    header = "| case | CPU us/decision | p50 us | p99 us | accepted |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for name, books, stale, old in cases:
        result = run(args.decisions, books, stale, old)
        print(
            f"| {name} | {result['cpu_us']:.1f} | {result['p50_us']:.1f} "
            f"| {result['p99_us']:.1f} | {result['accepted']} |"
        )


if __name__ == "__main__":
    main()
