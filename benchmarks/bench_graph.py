"""One top-of-book update -> every cycle through that pair evaluated, sized, rounded.

Run: ``.venv/bin/python benchmarks/bench_graph.py [--updates N] [--cycle-length 3|4]``

The universe is the simulator's Kraken-shaped one (``arbitrade.sim.build_universe``; about
1,000 pairs with ``--extra-assets 200``), fees from ``config/fees.toml`` (tier 0: 0.40 % taker,
0.20 % on stablecoin/FX pairs), homes USD, EUR, USDT, BTC. Books are 10 levels a side around
each asset's reference price with tier-dependent spreads. The update stream picks a pair
(uniformly, or weighted by liquidity tier with ``--weighted``) and either moves its best prices
(``--move-fraction`` of updates), or changes quantities only (Kraken's usual update), or, with
probability ``--mispricing-rate``, shifts its mid by 2 % so cycles through it become
profitable and the exact sizing runs.

Every contender sees the same updates, side by side in one run:

* ``incremental`` - :class:`arbitrade.graph.CycleDetector`: screen of the rings through the
  pair, exact depth sizing of those that pass, ``Opportunity`` messages built;
* ``all rings`` - re-screen every home-anchored ring of the graph (float sums, no sizing);
* ``Bellman-Ford`` - negative-cycle detection over ``-log(rate net of fee)`` of every edge from
  a virtual source, early exit when a round relaxes nothing (the strong form), and the textbook
  form (V-1 rounds, as many open-source arbitrage bots run it) on fewer updates.

Times are wall clock per update (``perf_counter_ns``) with the garbage collector off.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from arbitrade.graph import CycleDetector, GraphSettings, PairGraph, load_taker_fees
from arbitrade.messages import BookTop, Instrument
from arbitrade.sim import build_universe

HOMES = ("USD", "EUR", "USDT", "BTC")
HALF_SPREAD_BY_TIER = {1: 0.0001, 2: 0.0004, 3: 0.0015, 4: 0.004}
WEIGHT_BY_TIER = {1: 40.0, 2: 8.0, 3: 1.0, 4: 0.5}


# -- market generation ----------------------------------------------------------------------


def kraken_universe(extra_assets: int) -> tuple[list[Instrument], dict[str, float], list[int]]:
    """Instruments, a reference USD price per asset, and each pair's liquidity tier."""
    universe = build_universe(extra_assets=extra_assets)
    instruments = [
        Instrument(
            symbol=pair.symbol,
            base=pair.base.name,
            quote=pair.quote.name,
            price_precision=pair.price_precision,
            qty_precision=pair.qty_precision,
            price_increment=pair.price_increment,
            qty_increment=pair.qty_increment,
            qty_min=pair.ordermin,
            cost_min=pair.costmin,
            status=pair.status,
        )
        for pair in universe.pairs
    ]
    fair = {asset.name: asset.usd_price for asset in universe.assets}
    return instruments, fair, [pair.tier for pair in universe.pairs]


class BookMaker:
    """Ten-level books around a mid, at the instrument's precisions."""

    def __init__(self, instrument: Instrument, mid: float, tier: int, rng: random.Random) -> None:
        self.instrument = instrument
        self.fair = mid
        self.half_spread = HALF_SPREAD_BY_TIER[tier]
        self.rng = rng
        self.sequence = 0
        self.bids: list[tuple[int, int]] = []
        self.asks: list[tuple[int, int]] = []
        self.reprice(mid)

    def _lots(self) -> int:
        usd_notional = self.rng.uniform(200, 20_000)
        base_price_usd = max(self.fair, 1e-12)
        qty = usd_notional / base_price_usd / max(self.fair, 1e-12) * self.fair
        return max(1, int(qty * 10**self.instrument.qty_precision))

    def reprice(self, mid: float) -> None:
        scale = 10**self.instrument.price_precision
        bid = max(1, int(mid * (1 - self.half_spread) * scale))
        ask = max(bid + 1, int(mid * (1 + self.half_spread) * scale) + 1)
        gap = max(1, int(mid * scale * 0.0002))
        self.bids = [(bid - i * gap, self._lots()) for i in range(10) if bid - i * gap > 0]
        self.asks = [(ask + i * gap, self._lots()) for i in range(10)]

    def requantify(self) -> None:
        side = self.bids if self.rng.random() < 0.5 else self.asks
        if side:
            index = min(int(self.rng.expovariate(0.7)), len(side) - 1)
            side[index] = (side[index][0], self._lots())

    def top(self) -> BookTop:
        self.sequence += 1
        return BookTop(
            symbol=self.instrument.symbol,
            bids=tuple(self.bids),
            asks=tuple(self.asks),
            price_precision=self.instrument.price_precision,
            qty_precision=self.instrument.qty_precision,
            received_at=time.monotonic(),
            sequence=self.sequence,
        )


def make_stream(
    makers: Sequence[BookMaker],
    weights: Sequence[float] | None,
    count: int,
    *,
    move_fraction: float,
    mispricing_rate: float,
    rng: random.Random,
) -> list[tuple[BookTop, str]]:
    """``count`` updates, each labelled 'move', 'quantity', 'mispricing' or 'correction'.

    A mispricing is taken away (the pair repriced near fair) a few updates later, as the
    market's own arbitrageurs would.
    """
    picks = rng.choices(range(len(makers)), weights=weights, k=count)
    corrections: dict[int, int] = {}  # stream position -> maker to correct
    stream = []
    for position, picked in enumerate(picks):
        index = corrections.pop(position, picked)
        maker = makers[index]
        roll = rng.random()
        if index != picked:
            maker.reprice(maker.fair)
            kind = "correction"
        elif roll < mispricing_rate:
            maker.reprice(maker.fair * (1.02 if rng.random() < 0.5 else 0.98))
            kind = "mispricing"
            later = position + 1 + int(rng.expovariate(1 / 5))
            while later in corrections:
                later += 1
            corrections[later] = index
        elif roll < mispricing_rate + move_fraction:
            maker.reprice(maker.fair * (1 + rng.gauss(0, maker.half_spread / 3)))
            kind = "move"
        else:
            maker.requantify()
            kind = "quantity"
        stream.append((maker.top(), kind))
    return stream


# -- the whole-graph contenders -------------------------------------------------------------


class EdgeWeights:
    """``-log(rate net of taker fee)`` per directed edge from the current tops (both baselines)."""

    def __init__(self, graph: PairGraph) -> None:
        self.graph = graph
        self.asset_id = {asset: i for i, asset in enumerate(sorted(graph.assets))}
        self.edges: list[list[float]] = []  # [source, target, cost] (mutable cost)
        self.costs = [math.inf] * (2 * len(graph.pairs))
        for pair in graph.pairs:
            base = self.asset_id[pair.instrument.base]
            quote = self.asset_id[pair.instrument.quote]
            self.edges.append([base, quote, math.inf])
            self.edges.append([quote, base, math.inf])

    def update(self, top: BookTop) -> int:
        index = self.graph.index_of(top.symbol)
        assert index is not None
        pair = self.graph.pairs[index]
        fee = float(pair.fee_rate)
        scale = 10**top.price_precision
        sell = -math.log(top.bids[0][0] / scale * (1 - fee)) if top.bids else math.inf
        buy = math.log(top.asks[0][0] / scale * (1 + fee)) if top.asks else math.inf
        self.costs[2 * index] = sell
        self.costs[2 * index + 1] = buy
        self.edges[2 * index][2] = sell
        self.edges[2 * index + 1][2] = buy
        return index


def bellman_ford_has_negative_cycle(nodes: int, edges: list[list[float]], early_exit: bool) -> bool:
    """Negative-cycle detection from a virtual source linked to every node at cost 0."""
    distance = [0.0] * nodes
    for _ in range(nodes - 1):
        changed = False
        for source, target, cost in edges:
            candidate = distance[int(source)] + cost
            if candidate < distance[int(target)] - 1e-12:
                distance[int(target)] = candidate
                changed = True
        if early_exit and not changed:
            break
    for source, target, cost in edges:
        if distance[int(source)] + cost < distance[int(target)] - 1e-12:
            return True
    return False


def make_bellman_ford(graph: PairGraph, early_exit: bool) -> Callable[[BookTop], object]:
    weights = EdgeWeights(graph)
    nodes = len(weights.asset_id)
    edges = [[int(s), int(t), c] for s, t, c in weights.edges]
    weights.edges = edges

    def process(top: BookTop) -> object:
        weights.update(top)
        return bellman_ford_has_negative_cycle(nodes, edges, early_exit)

    return process


def make_all_rings(graph: PairGraph) -> Callable[[BookTop], object]:
    weights = EdgeWeights(graph)
    triangles = [ring for ring in graph.rings if len(ring) == 3]
    longer = [ring for ring in graph.rings if len(ring) == 4]
    threshold = -1e-9

    def process(top: BookTop) -> object:
        weights.update(top)
        costs = weights.costs
        found = [(a, b, c) for a, b, c in triangles if costs[a] + costs[b] + costs[c] < threshold]
        found += [
            (a, b, c, d)
            for a, b, c, d in longer
            if costs[a] + costs[b] + costs[c] + costs[d] < threshold
        ]
        return found

    return process


# -- measurement ---------------------------------------------------------------------------


def time_each(process: Callable[[BookTop], object], stream: Sequence[BookTop]) -> list[float]:
    """Microseconds per update."""
    clock = time.perf_counter_ns
    out = []
    gc.disable()
    try:
        for top in stream:
            start = clock()
            process(top)
            out.append((clock() - start) / 1000)
    finally:
        gc.enable()
    return out


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--baseline-updates", type=int, default=300)
    parser.add_argument("--textbook-updates", type=int, default=20)
    parser.add_argument("--extra-assets", type=int, default=200)
    parser.add_argument("--cycle-length", type=int, choices=(3, 4), default=3)
    parser.add_argument("--move-fraction", type=float, default=0.3)
    parser.add_argument("--mispricing-rate", type=float, default=0.002)
    parser.add_argument("--weighted", action="store_true", help="busier hubs (by tier)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import logging

    import structlog  # keep the graph's start-up lines out of the table

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

    rng = random.Random(args.seed)
    instruments, fair, tiers = kraken_universe(args.extra_assets)
    fees = load_taker_fees(GraphSettings())
    started = time.perf_counter()
    graph = PairGraph(
        instruments, fees=fees, home_currencies=HOMES, max_cycle_length=args.cycle_length
    )
    detector = CycleDetector(graph, min_profit_bps=Decimal(0))
    built = time.perf_counter() - started
    makers = []
    maker_tiers = []
    for instrument, tier in zip(instruments, tiers, strict=True):
        if graph.index_of(instrument.symbol) is None:
            continue
        mid = fair[instrument.base] / fair[instrument.quote]
        makers.append(BookMaker(instrument, mid, tier, rng))
        maker_tiers.append(tier)
    snapshots = [maker.top() for maker in makers]
    weights = [WEIGHT_BY_TIER[tier] for tier in maker_tiers] if args.weighted else None
    labelled = make_stream(
        makers,
        weights,
        args.updates,
        move_fraction=args.move_fraction,
        mispricing_rate=args.mispricing_rate,
        rng=rng,
    )
    stream = [top for top, _ in labelled]
    kinds = [kind for _, kind in labelled]

    for top in snapshots:
        detector.on_book_top(top)
    ours = time_each(detector.on_book_top, stream)
    stats = detector.statistics()

    contenders: list[tuple[str, list[float]]] = [("incremental (ours)", ours)]
    baseline_stream = stream[: args.baseline_updates]
    for name, make, count in (
        ("all rings re-screened", make_all_rings, args.baseline_updates),
        ("Bellman-Ford, early exit", lambda g: make_bellman_ford(g, True), args.baseline_updates),
        (
            "Bellman-Ford, V-1 rounds",
            lambda g: make_bellman_ford(g, False),
            args.textbook_updates,
        ),
    ):
        process = make(graph)
        for top in snapshots:
            process(top)
        contenders.append((name, time_each(process, baseline_stream[:count])))

    print(
        f"universe: {len(graph.pairs)} online pairs, {len(graph.assets)} assets, "
        f"{len(graph.rings)} directed rings ({graph.cycle_count} home-anchored cycles) of length "
        f"<= {args.cycle_length}; built in {built:.2f} s; "
        f"rings per pair p50 {percentile([len(r) for r in graph.rings_through_pair], 0.5)}, "
        f"max {max(len(r) for r in graph.rings_through_pair)}"
    )
    print(
        f"stream: {args.updates} updates ({'tier-weighted' if args.weighted else 'uniform'} "
        f"pairs), {kinds.count('move')} price moves, {kinds.count('quantity')} quantity-only, "
        f"{kinds.count('mispricing')} 2 % mispricings (each corrected a few updates later); "
        f"python {sys.version.split()[0]}"
    )
    print()
    header = (
        "| contender | updates | p50 µs | p99 µs | mean µs | updates/s | p50 ratio | p99 ratio |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base50, base99 = percentile(ours, 0.5), percentile(ours, 0.99)
    for name, times in contenders:
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        mean = statistics.fmean(times)
        print(
            f"| {name} | {len(times)} | {p50:.1f} | {p99:.1f} | {mean:.1f} | "
            f"{1e6 / mean:,.0f} | {p50 / base50:,.0f}x | {p99 / base99:,.0f}x |"
        )
    print()
    print("incremental detector by update kind:")
    print("| kind | updates | p50 µs | p99 µs | max µs |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("move", "quantity", "mispricing", "correction"):
        times = [t for t, k in zip(ours, kinds, strict=True) if k == kind]
        if times:
            print(
                f"| {kind} | {len(times)} | {percentile(times, 0.5):.1f} | "
                f"{percentile(times, 0.99):.1f} | {max(times):.1f} |"
            )
    print()
    print(
        f"detector: {stats.rescreens} re-screens, {stats.rings_screened} rings screened, "
        f"{stats.sizings} exact sizings, {stats.opportunities} opportunities, "
        f"rejected {dict(stats.rejected)}"
    )


if __name__ == "__main__":
    main()
