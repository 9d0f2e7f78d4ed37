"""Does stat-arb pay its fees on the simulator? The pair model on the market model's books.

:func:`simulate` steps the simulator's market model (no server, no actors) tick by tick, feeds
the top of each leg's book to a :class:`~arbitrade.strategy.stat_arb.PairModel` built from the
given settings, and fills every leg of every intent at once at the touch (asks for buys, bids
for sells) with a taker fee, telling the model its fills and finished cycles as the executor
would. Simulated hours take seconds, so the defaults can be checked against the fees::

    .venv/bin/python -m tests.strategy.stat_arb_economics [--seconds 1800] [--seeds 7 8 9]

What it leaves out: the risk gate's refusals, partial fills and the paper venue's latency (the
end-to-end run in tests/integration/test_stat_arb_sim.py has those).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from arbitrade.messages import BookTop, CycleFinished, Fill, Instrument, Opportunity, Side
from arbitrade.sim import MarketSettings, MeanRevertingPair, SimConfig, Simulator
from arbitrade.sim._book import Side as BookSide
from arbitrade.strategy.stat_arb import (
    ClosePosition,
    Intent,
    PairModel,
    StatArbSettings,
    load_stat_arb_settings,
)

TAKER_FEE = Decimal("0.004")
"""Kraken's taker fee at the lowest volume tier (config/fees.toml), as the paper venue charges."""


@attrs.frozen
class Economics:
    """A simulated stat-arb run in numbers (USD)."""

    first_entry_seconds: float | None
    entries: int
    round_trips: int
    exits: Mapping[str, int]
    """Closes by reason (exit, stop, max_holding, ...)."""
    gross: Decimal
    """Cash flow of every fill before fees, plus what is held at the last mids."""
    fees: Decimal

    @property
    def net(self) -> Decimal:
        """``gross - fees``."""
        return self.gross - self.fees


def _instrument(simulator: Simulator, symbol: str) -> Instrument:
    pair = next(p for p in simulator.universe.pairs if p.symbol == symbol)
    return Instrument(
        symbol=symbol,
        base=pair.base.name,
        quote=pair.quote.name,
        price_precision=pair.price_precision,
        qty_precision=pair.qty_precision,
        price_increment=Decimal(1).scaleb(-pair.price_precision),
        qty_increment=Decimal(1).scaleb(-pair.qty_precision),
        qty_min=pair.ordermin,
        cost_min=Decimal("0.5"),
        status="online",
    )


def simulate(
    seconds: float,
    *,
    seed: int = 7,
    settings: StatArbSettings | None = None,
    link: MeanRevertingPair | None = None,
) -> Economics:
    """Run the first configured pair for ``seconds`` simulated seconds (see the module)."""
    settings = settings if settings is not None else load_stat_arb_settings(environ={})
    spec = settings.pairs[0]
    market = MarketSettings(mispricing_rate=0.0, levels_per_side=10, deep_levels_per_side=10)
    if link is not None:
        market = attrs.evolve(market, mean_reverting=(link,))
    symbols = (spec.y, spec.x)
    simulator = Simulator(SimConfig(seed=seed, symbols=symbols, market=market))
    instruments = {symbol: _instrument(simulator, symbol) for symbol in symbols}
    ids = itertools.count(1)
    model = PairModel(spec, settings, instruments, lambda: f"sa-economics-{next(ids)}")
    touch: dict[str, tuple[Decimal, Decimal]] = {}
    held = dict.fromkeys(symbols, Decimal(0))
    cash = fees = Decimal(0)
    entries = round_trips = 0
    exits: dict[str, int] = {}
    first: float | None = None
    sequence = itertools.count()
    tick = market.tick_seconds

    def execute(intent: Intent, now: float) -> list[Intent]:
        nonlocal cash, fees
        opportunity: Opportunity = (
            intent.opportunity if isinstance(intent, ClosePosition) else intent
        )
        for leg in opportunity.legs:
            bid, ask = touch[leg.symbol]
            price = ask if leg.side is Side.BUY else bid
            fee = leg.qty * price * TAKER_FEE
            signed = leg.qty if leg.side is Side.BUY else -leg.qty
            cash -= signed * price
            fees += fee
            held[leg.symbol] += signed
            exec_id = str(next(sequence))
            fill = Fill(
                exec_id, exec_id, opportunity.id, leg.symbol, leg.side, price, leg.qty,
                fee, "USD", "t", now,
            )  # fmt: skip
            model.on_fill(fill, now)
        finished = CycleFinished(opportunity.id, "completed", "USD", Decimal(0), Decimal(0), now)
        return model.on_cycle_finished(finished, now)

    for step in range(round(seconds / tick)):
        simulator.model.step()
        now = step * tick
        for symbol in symbols:
            book = simulator.model.book(symbol)
            bid, ask = book.best(BookSide.BID), book.best(BookSide.ASK)
            if bid is None or ask is None:
                continue
            precision = instruments[symbol].price_precision
            touch[symbol] = (Decimal(bid).scaleb(-precision), Decimal(ask).scaleb(-precision))
            top = BookTop(
                symbol, ((bid, 10**12),), ((ask, 10**12),), precision,
                instruments[symbol].qty_precision, now, next(sequence),
            )  # fmt: skip
            intents = model.on_book(top, now)
            while intents:
                follow: list[Intent] = []
                for intent in intents:
                    if isinstance(intent, ClosePosition):
                        round_trips += 1
                        exits[intent.reason] = exits.get(intent.reason, 0) + 1
                    else:
                        entries += 1
                        first = now if first is None else first
                    follow += execute(intent, now)
                intents = follow
    marked = sum((qty * (touch[s][0] + touch[s][1]) / 2 for s, qty in held.items()), Decimal(0))
    return Economics(first, entries, round_trips, exits, cash + marked, fees)


def main(argv: list[str] | None = None) -> None:
    """Print one row per seed for the repository's settings and simulator defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    args = parser.parse_args(argv)
    columns = ("seed", "first s", "entries", "trips", "gross", "fees", "net")
    widths = (4, 8, 7, 5, 9, 9, 9)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    for seed in args.seeds:
        result: Any = simulate(args.seconds, seed=seed)
        print(
            f"{seed:>4} {result.first_entry_seconds or float('nan'):>8.0f} {result.entries:>7}"
            f" {result.round_trips:>5} {result.gross:>9.2f} {result.fees:>9.2f} {result.net:>9.2f}"
        )


if __name__ == "__main__":
    main()
