"""Tick-to-order through the whole pipeline: a raw WebSocket frame in -> the order handed to
the venue, and tick-to-opportunity, through every actor the running bot has on that path.

    .venv/bin/python benchmarks/bench_pipeline.py [--cycles 2000] [--gap-us 500] [--logs]

The tree is the app's (``arbitrade.app.build_tree``): persistence (DuckDB writer thread and
sink, writing to a temporary file), trading (executor, portfolio, risk gate; the paper venue)
and market, whose book feed reads from a synthetic transport instead of a socket. The frames
are Kraken WebSocket v2 text: an instrument snapshot and book snapshots (depth 10, valid
checksums) for 200 triangles ``X/USD, Y/X, Y/USD``, then, per measured cycle, one ``book``
update that shifts a whole ``Y/USD`` book 6 % up (a mispricing worth ~4.8 % after three 40 bps
taker fees) and, once the cycle is done, one that puts it back. Triangles rotate so Kraken's
per-pair trading rate counter stays below its budget.

Stamps (all ``trio.current_time()``): *frame* when the transport hands the frame to the
WebSocket client (the moment a socket read would return it); *opportunity* when the detector
found it (``Opportunity.detected_at``); *leg 1* and *leg 3* when the paper venue's ``submit``
is called. Path: client decode -> BookFeed (book apply, checksum, BookTop) -> bus -> PairGraphActor
(cycles through the pair, sizing) -> bus -> forwarder -> RiskGate -> Executor -> venue.

Settings differ from ``config/`` only where a synthetic market needs it: book-age limits of an
hour (the other legs' books are only ever snapshots here), notional limits and paper balances
large enough for any size the graph picks, no ticker/trade feeds, the ``pro`` rate tier.
``--logs`` keeps the app's structured logs on (rendered as JSON to /dev/null): the
``opportunity.found`` line is logged on the hot path, before the opportunity is published.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import statistics
import sys
import tempfile
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import orjson
import structlog
import trio

import actors
from arbitrade.app import build_tree
from arbitrade.components import load_components
from arbitrade.config import Settings
from arbitrade.execution import PaperVenue, run_trading_io
from arbitrade.graph import load_taker_fees
from arbitrade.kraken import Connection
from arbitrade.market.wiring import market_supervisor
from arbitrade.messages import TOPIC_CYCLES, TOPIC_OPPORTUNITIES, CycleFinished, Opportunity

REPO = Path(__file__).resolve().parents[1]
TRIANGLES = 200
DEPTH = 10
PP, QP = 4, 4  # price and quantity precision of every synthetic pair
FAIR = {"X/USD": 100.0, "Y/X": 0.5, "Y/USD": 50.0}
SHIFT = 1.06


def units(value: float, precision: int) -> int:
    return round(value * 10**precision)


def text(value: int, precision: int) -> str:
    return f"{value // 10**precision}.{value % 10**precision:0{precision}d}"


@attrs.define
class SyntheticBook:
    """Integer-unit levels of one pair, and Kraken's checksum of its top ten."""

    symbol: str
    bids: dict[int, int]
    asks: dict[int, int]

    @classmethod
    def around(cls, symbol: str, mid: float) -> SyntheticBook:
        tick = max(1, units(mid, PP) // 10_000)  # one basis point
        centre = units(mid, PP)
        qty = units(20.0 if mid < 1 else 10.0, QP)
        bids = {centre - tick * (i + 1): qty for i in range(DEPTH)}
        asks = {centre + tick * (i + 1): qty for i in range(DEPTH)}
        return cls(symbol, bids, asks)

    def checksum(self) -> int:
        asks = sorted(self.asks.items())[:DEPTH]
        bids = sorted(self.bids.items(), reverse=True)[:DEPTH]
        return zlib.crc32("".join(f"{p}{q}" for p, q in [*asks, *bids]).encode())

    def frame(self, kind: str, bids: dict[int, int], asks: dict[int, int]) -> str:
        def levels(side: dict[int, int]) -> str:
            return ",".join(
                f'{{"price":{text(p, PP)},"qty":{text(q, QP)}}}' for p, q in side.items()
            )

        return (
            f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{self.symbol}",'
            f'"bids":[{levels(bids)}],"asks":[{levels(asks)}],'
            f'"checksum":{self.checksum()},"timestamp":"2024-06-07T10:00:00.000000Z"}}]}}'
        )

    def snapshot(self) -> str:
        return self.frame("snapshot", self.bids, self.asks)

    def move_to(self, mid: float) -> str:
        """An update frame replacing every level by the levels around ``mid``."""
        new = SyntheticBook.around(self.symbol, mid)
        bids = {p: 0 for p in self.bids if p not in new.bids} | new.bids
        asks = {p: 0 for p in self.asks if p not in new.asks} | new.asks
        self.bids, self.asks = new.bids, new.asks
        return self.frame("update", bids, asks)


def symbols_of(index: int) -> dict[str, str]:
    x, y = f"X{index}", f"Y{index}"
    return {"X/USD": f"{x}/USD", "Y/X": f"{y}/{x}", "Y/USD": f"{y}/USD"}


def instrument_frame() -> str:
    assets = [{"id": "USD", "status": "enabled", "precision": 4, "precision_display": 2}]
    pairs = []
    for index in range(TRIANGLES):
        for role, symbol in symbols_of(index).items():
            base, quote = symbol.split("/")
            pairs.append(
                {
                    "symbol": symbol,
                    "base": base,
                    "quote": quote,
                    "status": "online",
                    "qty_precision": QP,
                    "qty_increment": 10**-QP,
                    "price_precision": PP,
                    "cost_precision": 5,
                    "marginable": False,
                    "has_index": False,
                    "cost_min": 0.5,
                    "tick_size": 10**-PP,
                    "price_increment": 10**-PP,
                    "qty_min": 0.001 if role != "Y/X" else 0.01,
                }
            )
        for asset in (f"X{index}", f"Y{index}"):
            assets.append(
                {"id": asset, "status": "enabled", "precision": 8, "precision_display": 5}
            )
    data = {"assets": assets, "pairs": pairs}
    return orjson.dumps({"channel": "instrument", "type": "snapshot", "data": data}).decode()


class SyntheticMarket:
    """The transport: answers subscriptions like Kraken and hands over pushed frames, stamping
    the moment each timed one is handed to the client."""

    def __init__(self) -> None:
        self.books = {
            symbol: SyntheticBook.around(symbol, FAIR[role])
            for index in range(TRIANGLES)
            for role, symbol in symbols_of(index).items()
        }
        self._send, self._receive = trio.open_memory_channel[tuple[str, bool]](math.inf)
        self.handed_at: float = 0.0
        self.subscribed = trio.Event()
        self._acked_books = 0

    def push(self, frame: str, *, timed: bool = False) -> None:
        self._send.send_nowait((frame, timed))

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        await trio.lowlevel.checkpoint()
        yield self  # type: ignore[misc]

    async def receive(self) -> str:
        frame, timed = await self._receive.receive()
        if timed:
            self.handed_at = trio.current_time()
        return frame

    async def send(self, frame: str | bytes) -> None:
        await trio.lowlevel.checkpoint()
        request = orjson.loads(frame)
        method, req_id = request.get("method"), request.get("req_id")
        params = request.get("params") or {}
        if method == "ping":
            self.push(orjson.dumps({"method": "pong", "req_id": req_id}).decode())
            return
        if method != "subscribe":
            return
        channel = params.get("channel")
        symbols = params.get("symbol") or [None]
        for symbol in symbols:
            result: dict[str, Any] = {"channel": channel}
            if symbol is not None:
                result["symbol"] = symbol
            ack = {"method": method, "req_id": req_id, "success": True, "result": result}
            self.push(orjson.dumps(ack).decode())
        if channel == "instrument":
            self.push(instrument_frame())
        elif channel == "book":
            for symbol in symbols:
                self.push(self.books[symbol].snapshot())
            self._acked_books += len(symbols)
            if self._acked_books >= len(self.books):
                self.subscribed.set()


class TimedPaperVenue(PaperVenue):
    """The paper venue, stamping each hand-off."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handed: list[float] = []

    async def submit(self, order: Any) -> None:
        self.handed.append(trio.current_time())
        await super().submit(order)


def balances_text() -> str:
    rich = ["USD=1000000000"] + [f"{a}{i}=1000000000" for i in range(TRIANGLES) for a in ("X", "Y")]
    return ",".join(rich)


@attrs.frozen
class Samples:
    opportunity: list[float]
    first_leg: list[float]
    last_leg: list[float]
    decode_to_detect: list[float]
    accepted: int
    offered: int


async def measure(cycles: int, gap: float, database: Path, *, persistence: bool = True) -> Samples:
    loaded = load_components()
    components = attrs.evolve(
        loaded,
        market=attrs.evolve(loaded.market, symbols=(), channels=(), heartbeat_timeout=3600.0),
        graph=attrs.evolve(loaded.graph, max_book_age=3600.0, home_currencies=("USD",)),
        risk=attrs.evolve(
            loaded.risk,
            max_book_age_seconds=3600.0,
            max_cycle_notional=Decimal(10) ** 9,
            max_leg_notional=Decimal(10) ** 9,
            daily_loss_limit=Decimal(10) ** 9,
            rate_tier="pro",
            cooldown_seconds=0.001,
        ),
        execution=attrs.evolve(loaded.execution, paper_balances=balances_text()),
    )
    fees = load_taker_fees(components.graph)
    venue = TimedPaperVenue(
        taker_fee_rate=fees.default_rate,
        balances={k: Decimal(v) for k, v in (e.split("=") for e in balances_text().split(","))},
    )
    market = SyntheticMarket()
    settings = Settings(duckdb_path=database)
    app_tree = build_tree(settings, components, venue)
    keep = {spec.name: spec for spec in app_tree.children}
    tree = attrs.evolve(
        app_tree,
        children=[
            *([keep["persistence"]] if persistence else []),
            keep["trading"],
            market_supervisor(
                "synthetic://kraken",
                components.market,
                components.graph,
                fees,
                transport=market,
            ),
        ],
    )
    samples = Samples([], [], [], [], 0, 0)
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.run)
        system: actors.System = await nursery.start(actors.run_system, tree)
        await nursery.start(
            run_trading_io,
            system.bus,
            system.registry.lookup,
            venue,
            components.execution,
            "root/trading",
        )
        opportunities = system.bus.subscribe(TOPIC_OPPORTUNITIES, actors.Lossless(100_000))
        finished = system.bus.subscribe(TOPIC_CYCLES, actors.Lossless(100_000))
        with trio.fail_after(120):
            await market.subscribed.wait()
            await trio.sleep(1.0)  # every snapshot applied, the graph built
        gc.freeze()
        warmup = min(200, cycles // 5)
        for n in range(cycles + warmup):
            index = n % TRIANGLES
            book = market.books[symbols_of(index)["Y/USD"]]
            venue.handed.clear()
            market.push(book.move_to(FAIR["Y/USD"] * SHIFT), timed=True)
            found: Opportunity | None = None
            cycle: CycleFinished | None = None
            with trio.move_on_after(1.0):
                found = await opportunities.receive()
                cycle = await finished.receive()
            frame_at = market.handed_at
            if n >= warmup and found is not None:
                samples.opportunity.append(found.detected_at - frame_at)
                samples.decode_to_detect.append(found.detected_at - found.received_at)
                legs = venue.handed[: len(found.legs)]
                if cycle is not None and len(legs) == len(found.legs):
                    samples.first_leg.append(legs[0] - frame_at)
                    samples.last_leg.append(legs[-1] - frame_at)
                    object.__setattr__(samples, "accepted", samples.accepted + 1)
                object.__setattr__(samples, "offered", samples.offered + 1)
            # put the book back, and show fresh tops of the other two legs: the paper venue
            # keeps liquidity an order took as taken until a newer top of that pair arrives
            for role in ("Y/USD", "X/USD", "Y/X"):
                market.push(market.books[symbols_of(index)[role]].move_to(FAIR[role]))
            await trio.sleep(gap)
            while True:  # drop what the restore produced (normally nothing)
                try:
                    opportunities.receive_nowait()
                except trio.WouldBlock:
                    break
        nursery.cancel_scope.cancel()
    return samples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6 if ordered else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--gap-us", type=float, default=500.0)
    parser.add_argument("--logs", action="store_true", help="keep the app's logs on (to /dev/null)")
    parser.add_argument(
        "--without-persistence", action="store_true", help="leave the DuckDB sink out of the tree"
    )
    args = parser.parse_args()
    os.chdir(REPO)  # config/ paths are relative to the checkout, as for `arbitrade run`
    sys.setswitchinterval(0.0005)  # as run_app does
    if args.logs:
        from arbitrade.logs import configure_logging

        configure_logging(level="INFO", json=True, stream=open(os.devnull, "w"))  # noqa: SIM115
    else:
        logging.disable(logging.CRITICAL)
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with tempfile.TemporaryDirectory() as folder:
        samples = trio.run(
            partial(measure, persistence=not args.without_persistence),
            args.cycles,
            args.gap_us / 1e6,
            Path(folder) / "bench.duckdb",
        )
    rows = [
        ("frame -> opportunity (detected)", samples.opportunity),
        ("  of which BookTop stamp -> detected", samples.decode_to_detect),
        ("frame -> leg 1 handed to the venue", samples.first_leg),
        ("frame -> leg 3 handed to the venue", samples.last_leg),
    ]
    print(
        f"tick-to-order through the whole tree: {samples.accepted} cycles traded of "
        f"{samples.offered} mispricings, {TRIANGLES} triangles, {args.gap_us:g} us between "
        f"cycles, logs {'on' if args.logs else 'off'}, "
        f"persistence {'off' if args.without_persistence else 'on'}"
    )
    print(f"{'path':<40} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'max us':>9} {'mean us':>9}")
    for name, values in rows:
        mean = statistics.fmean(values) * 1e6 if values else math.nan
        print(
            f"{name:<40} {pct(values, 0.5):>9.1f} {pct(values, 0.9):>9.1f} "
            f"{pct(values, 0.99):>9.1f} {max(values, default=math.nan) * 1e6:>9.1f} {mean:>9.1f}"
        )
    print("target: tick-to-order p99 <= 500 us (docs: targets)")
    load = os.getloadavg()[0]
    print(f"load average (1 min) {load:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
