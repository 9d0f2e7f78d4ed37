"""What valuing FX-joined positions costs the portfolio per book top and per fill (issue #11).

Run: ``.venv/bin/python benchmarks/bench_portfolio_fx.py [--calls N]``

Per book top (:meth:`arbitrade.execution.PortfolioBook.mark`, the portfolio actor's work for
each top routed to it): a pair the portfolio neither holds nor converts with (what a top of any
other pair would cost if one reached it; the wiring sends none), a held leg (a mark), and the
FX pair (a rate). Per fill (:meth:`PortfolioBook.apply_fill`, balances and ledger): a stat-arb
fill quoted in home, and one quoted in EUR valued through EUR/USD. Per top routed by
``run_trading_io``'s pump: the one set lookup that decides whether the portfolio gets it.

CPU time per call (``process_time``: the machine is shared) over the whole run, and p50/p99 of
per-call wall time (``perf_counter_ns``) for the per-call rows. The garbage collector is off
while timing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from arbitrade.execution import PortfolioBook
from arbitrade.messages import BookTop, Fill, Side

D = Decimal


def top(symbol: str, bid: int, precision: int) -> BookTop:
    return BookTop(symbol, ((bid, 10**8),), ((bid + 10, 10**8),), precision, 8, 0.0, 1)


def measure(label: str, calls: int, work: Callable[[int], None]) -> tuple[str, float, int, int]:
    samples: list[int] = []
    gc.disable()
    try:
        cpu = time.process_time()
        for n in range(calls):
            start = time.perf_counter_ns()
            work(n)
            samples.append(time.perf_counter_ns() - start)
        cpu = time.process_time() - cpu
    finally:
        gc.enable()
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return label, cpu / calls * 1e6, int(statistics.median(samples)), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls

    book = PortfolioBook("USD", {"USD": D(10**9), "EUR": D(10**9)}, fx_pairs=("EUR/USD",))
    book.mark(top("EUR/USD", 110_000, 5))
    book.apply_fill(
        Fill("h", "c", "sa-b-1", "BTC/EUR", Side.BUY, D(50000), D(1), D(5), "EUR", "t", 0.0)
    )
    other, held, fx = (
        top("SOL/USD", 15_000, 2),
        top("BTC/EUR", 5_000_000, 2),
        top("EUR/USD", 110_000, 5),
    )
    wanted = frozenset({"BTC/USD", "BTC/EUR", "EUR/USD"})
    routed: list[bool] = []

    def fills(symbol: str, fee_asset: str) -> Callable[[int], None]:
        def work(n: int) -> None:
            side = Side.BUY if n % 2 == 0 else Side.SELL
            book.apply_fill(
                Fill(f"{symbol}{n}", "c", "sa-b-2", symbol, side, D(50000 + n % 7), D("0.01"),
                     D("0.5"), fee_asset, "t", 0.0)
            )  # fmt: skip

        return work

    rows = [
        measure("mark: a top the portfolio ignores", calls, lambda n: book.mark(other)),
        measure("mark: a held leg's top", calls, lambda n: book.mark(held)),
        measure("mark: an FX pair's top", calls, lambda n: book.mark(fx)),
        measure(
            "route: set lookup (and a call)", calls, lambda n: routed.append(other.symbol in wanted)
        ),
        measure("fill: quoted in home (BTC/USD)", calls // 4, fills("BTC/USD", "USD")),
        measure("fill: quoted in EUR via EUR/USD", calls // 4, fills("BTC/EUR", "EUR")),
    ]
    print(f"{'what':<36} {'cpu µs/call':>12} {'p50 ns':>8} {'p99 ns':>8}")
    for label, cpu, p50, p99 in rows:
        print(f"{label:<36} {cpu:>12.3f} {p50:>8} {p99:>8}")


if __name__ == "__main__":
    main()
