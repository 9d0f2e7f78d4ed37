"""A burst faster than the book feed can read: how far behind it falls and how fast it catches up.

    .venv/bin/python benchmarks/bench_feed_lag.py [--pairs 101] [--burst-rate 20000]
        [--burst-seconds 3] [--rate 300] [--seconds 15]

An in-memory exchange (no socket) sends ``book`` updates with valid checksums for a
Kraken-shaped set of triangles (``Cn/USD``, ``Cn/BTC``, ``BTC/USD``), each stamped with the
wall time it was sent: ``--burst-rate`` frames/s for ``--burst-seconds``, then ``--rate``
frames/s. The app's market supervisor reads them: the real :class:`BookFeed` and the real pair
graph evaluating every top. The exchange notes when each frame was sent and when the client
took it: that difference is the lag, measured outside the feed, the same way for every mode.

Modes, one after the other in one process (ratios are the point; absolute numbers depend on
the machine's load):

* ``before``: one frame per read, one top per frame, no lag detection (the feed before #13);
* ``batched reads``: ready frames read in one go, still one top per frame, lag detection on;
* ``conflated``: ready frames as one batch, each book's last top once per batch, tops held
  while lagging (the default now).

After the plan the last rate goes on until a frame is taken less than 0.5 s late (60 s at most).
It prints the lag every second for each mode, then per mode: worst lag, seconds from the end
of the burst until the lag is back under 0.5 s (catch-up), tops published, frames applied and
checksum-verified, and the feed's own lag episodes.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import orjson
import trio

from actors import SupervisorSpec, System
from arbitrade.graph import GraphSettings, TakerFees
from arbitrade.kraken import KrakenConnectionClosed
from arbitrade.logs import configure_logging
from arbitrade.market import MarketSettings, OrderBook
from arbitrade.market.feeds import FeedLag, FeedStatistics, GetFeedLag, GetFeedStatistics
from arbitrade.market.wiring import market_supervisor
from arbitrade.sim._time import rfc3339

FEED = "root/market/feed.book"
CAUGHT_UP = 0.5
STAMP = "@STAMP@"


@attrs.frozen
class Pair:
    symbol: str
    price_precision: int
    mid: int
    """Mid price in ticks."""


def universe(pairs: int) -> list[Pair]:
    coins = max(1, (pairs - 1) // 2)
    out = [Pair("BTC/USD", 1, 500_000)]
    for n in range(coins):
        usd = 10 + n
        out.append(Pair(f"C{n}/USD", 4, usd * 10_000))
        out.append(Pair(f"C{n}/BTC", 8, round(usd / 50_000 * 10**8)))
    return out


def instrument_frame(pairs: list[Pair]) -> str:
    entries = []
    assets = set()
    for pair in pairs:
        base, quote = pair.symbol.split("/")
        assets |= {base, quote}
        entries.append(
            {
                "symbol": pair.symbol,
                "base": base,
                "quote": quote,
                "status": "online",
                "price_precision": pair.price_precision,
                "qty_precision": 8,
                "price_increment": float(f"1e-{pair.price_precision}"),
                "qty_increment": 1e-8,
                "qty_min": 0.0001,
                "cost_min": 0.00002,
                "marginable": False,
            }
        )
    data = {
        "assets": [
            {"id": a, "status": "enabled", "precision": 8, "precision_display": 5}
            for a in sorted(assets)
        ],
        "pairs": entries,
    }
    return orjson.dumps({"channel": "instrument", "type": "snapshot", "data": data}).decode()


def _levels(levels: list[tuple[int, int]], pp: int) -> list[dict[str, float]]:
    return [{"price": p / 10**pp, "qty": q / 10**8} for p, q in levels]


def _frame(pair: Pair, kind: str, bids: Any, asks: Any, checksum: int) -> str:
    item = {
        "symbol": pair.symbol,
        "bids": _levels(bids, pair.price_precision),
        "asks": _levels(asks, pair.price_precision),
        "checksum": checksum,
        "timestamp": STAMP,
    }
    return orjson.dumps({"channel": "book", "type": kind, "data": [item]}).decode()


def book_frames(pairs: list[Pair], count: int, seed: int) -> tuple[list[str], list[str]]:
    """Snapshots, and ``count`` updates over random pairs with the checksums they produce."""
    rng = random.Random(seed)
    books = {}
    snapshots = []
    for pair in pairs:
        book = OrderBook(pair.symbol, price_precision=pair.price_precision, qty_precision=8)
        bids = [(pair.mid - 1 - i, 100_000_000 + i) for i in range(10)]
        asks = [(pair.mid + 1 + i, 100_000_000 + i) for i in range(10)]
        book.apply_snapshot(bids, asks)
        books[pair.symbol] = book
        snapshots.append(_frame(pair, "snapshot", bids, asks, book.checksum()))
    updates = []
    improved: dict[str, bool] = {}
    for _ in range(count):
        pair = rng.choice(pairs)
        book = books[pair.symbol]
        step = rng.random()
        if step < 0.3:  # a better bid comes and goes: the graph re-screens on both
            price = pair.mid
            qty = 0 if improved.get(pair.symbol) else 50_000_000
            improved[pair.symbol] = not improved.get(pair.symbol)
            bids, asks = [(price, qty)], []
        elif step < 0.65:
            bids, asks = [(pair.mid - 1 - rng.randrange(10), rng.randrange(1, 10**9))], []
        else:
            bids, asks = [], [(pair.mid + 1 + rng.randrange(10), rng.randrange(1, 10**9))]
        book.apply_update(bids, asks)
        updates.append(_frame(pair, "update", bids, asks, book.checksum()))
    return snapshots, updates


class BurstExchange:
    """The exchange side: frames sent on a schedule, stamped when sent; notes when taken."""

    def __init__(self, head: list[str], updates: list[str], *, ready_reads: bool) -> None:
        self.head = head
        self.updates = updates
        self.ready_reads = ready_reads
        self.produced = 0
        self.finished = False
        self.drained = trio.Event()
        self.taken: list[tuple[float, float]] = []
        """(taken at, lag) per update frame, on the wall clock."""
        send, receive = trio.open_memory_channel[tuple[float, str]](math.inf)
        self._send, self._receive = send, receive
        self._replies: list[str] = []
        self.connected = trio.Event()

    async def produce(self, plan: list[tuple[float, int]]) -> None:
        """Send ``plan``'s (seconds, frames per second) phases: every 10 ms, what is due by
        then (so a busy loop delays frames, it does not drop them)."""
        for frame in self.head:
            self._send.send_nowait((time.time(), frame))
        for seconds, rate in plan:
            began = trio.current_time()
            first = self.produced
            while (elapsed := trio.current_time() - began) < seconds:
                due = min(first + int(rate * elapsed), len(self.updates))
                now = time.time()
                stamp = rfc3339(now)
                for frame in self.updates[self.produced : due]:
                    self._send.send_nowait((now, frame.replace(STAMP, stamp)))
                self.produced = due
                await trio.sleep(0.01)
        # then the last rate on, until a frame is taken less than CAUGHT_UP late (60 s at most)
        began, first = trio.current_time(), self.produced
        with trio.move_on_after(60.0):
            while not self.taken or self.taken[-1][1] > CAUGHT_UP:
                due = min(first + int(rate * (trio.current_time() - began)), len(self.updates))
                now = time.time()
                stamp = rfc3339(now)
                for frame in self.updates[self.produced : due]:
                    self._send.send_nowait((now, frame.replace(STAMP, stamp)))
                self.produced = due
                await trio.sleep(0.01)
        self.finished = True
        if len(self.taken) >= self.produced:
            self.drained.set()

    def _take(self, item: tuple[float, str]) -> str:
        sent, frame = item
        now = time.time()
        if '"update"' in frame[:40]:
            self.taken.append((now, now - sent))
            if self.finished and len(self.taken) >= self.produced:
                self.drained.set()
        return frame

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Any]:
        self.connected.set()
        yield _Connection(self) if self.ready_reads else _OneAtATime(self)


class _OneAtATime:
    def __init__(self, exchange: BurstExchange) -> None:
        self.exchange = exchange

    async def receive(self) -> str:
        exchange = self.exchange
        if exchange._replies:
            await trio.lowlevel.checkpoint()
            return exchange._replies.pop(0)
        try:
            return exchange._take(await exchange._receive.receive())
        except trio.EndOfChannel:
            raise KrakenConnectionClosed("burst", "closed") from None

    async def send(self, frame: str | bytes) -> None:
        await trio.lowlevel.checkpoint()
        request = orjson.loads(frame)
        method, req_id = request.get("method"), request.get("req_id")
        if method == "ping":
            self.exchange._replies.append(
                orjson.dumps({"method": "pong", "req_id": req_id}).decode()
            )
        elif method in ("subscribe", "unsubscribe"):
            params = request.get("params") or {}
            for symbol in params.get("symbol") or [None]:
                result = {"channel": params.get("channel"), "symbol": symbol}
                reply = {"method": method, "req_id": req_id, "success": True, "result": result}
                self.exchange._replies.append(orjson.dumps(reply).decode())


class _Connection(_OneAtATime):
    def receive_nowait(self) -> str:
        exchange = self.exchange
        if exchange._replies:
            return exchange._replies.pop(0)
        return exchange._take(exchange._receive.receive_nowait())


@attrs.frozen
class Outcome:
    mode: str
    by_second: list[float | None]
    worst: float
    catch_up: float | None
    counters: FeedStatistics
    lag: FeedLag
    frames_taken: int


async def run_mode(
    mode: str,
    pairs: list[Pair],
    frames: tuple[list[str], list[str]],
    plan: list[tuple[float, int]],
) -> Outcome:
    snapshots, updates = frames
    ready_reads = mode != "before"
    exchange = BurstExchange(
        [instrument_frame(pairs), *snapshots], updates, ready_reads=ready_reads
    )
    settings = MarketSettings(
        symbols=tuple(p.symbol for p in pairs),
        channels=(),
        heartbeat_timeout=60.0,
        request_timeout=60.0,
        subscribe_batch=len(pairs),
        conflate=mode == "conflated",
    )
    graph = GraphSettings(home_currencies=("USD",), max_book_age=3600.0)
    spec = SupervisorSpec(
        "root",
        [
            market_supervisor(
                "memory://burst",
                settings,
                graph,
                TakerFees.flat(Decimal("0.0026")),
                transport=exchange,
                connection_timers=False,
                wall_clock=None if mode == "before" else time.time,
            )
        ],
    )
    system = System()
    total = sum(seconds for seconds, _ in plan)
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run, spec)
        await exchange.connected.wait()
        await trio.sleep(0.5)  # the snapshots in
        started = time.time()
        await exchange.produce(plan)
        with trio.move_on_after(60.0):  # let it drain, 60 s at most
            await exchange.drained.wait()
        await trio.sleep(1.0)  # what the client read, the feed applies
        feed = system.registry.lookup(FEED)
        counters = await feed.ask(GetFeedStatistics(), timeout=30.0)
        lag = await feed.ask(GetFeedLag(), timeout=30.0)
        nursery.cancel_scope.cancel()
    burst_end = started + plan[0][0]
    last = exchange.taken[-1][0] if exchange.taken else started
    seconds = math.ceil(max(total, last - started)) + 1
    by_second: list[float | None] = [None] * seconds
    for at, behind in exchange.taken:
        index = int(at - started)
        if 0 <= index < seconds:
            by_second[index] = max(by_second[index] or 0.0, behind)
    worst = max((behind for _, behind in exchange.taken), default=0.0)
    # behind until the last frame taken more than CAUGHT_UP late (None: still at the end)
    behind_at = [at for at, behind in exchange.taken if behind > CAUGHT_UP]
    catch_up = max(0.0, behind_at[-1] - burst_end) if behind_at else 0.0
    if exchange.taken and exchange.taken[-1][1] > CAUGHT_UP:
        catch_up = None
    return Outcome(mode, by_second, worst, catch_up, counters, lag, len(exchange.taken))


def print_tables(outcomes: list[Outcome]) -> None:
    seconds = max(len(o.by_second) for o in outcomes)
    print("\nlag (worst in each second, s), measured by the exchange when the client took a frame")
    print("| second | " + " | ".join(o.mode for o in outcomes) + " |")
    print("|---:|" + "---:|" * len(outcomes))
    for second in range(seconds):
        cells = [
            f"{o.by_second[second]:.2f}"
            if second < len(o.by_second) and o.by_second[second] is not None
            else ""
            for o in outcomes
        ]
        print(f"| {second} | " + " | ".join(cells) + " |")
    base = outcomes[0]
    print("\ncatch-up: from the end of the burst to the last frame read more than 0.5 s late")
    print(
        "\n| mode | worst lag s | catch-up s | x before | tops published | frames applied |"
        " largest batch | lag episodes | x worst lag |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        catch = f"{o.catch_up:.2f}" if o.catch_up is not None else "not in the run"
        ratio = f"{base.catch_up / o.catch_up:.1f}x" if o.catch_up and base.catch_up else "-"
        print(
            f"| {o.mode} | {o.worst:.2f} | {catch} | {ratio} | {o.counters.tops_published:,} |"
            f" {o.counters.book_messages:,} | {o.lag.largest_batch:,} | {o.lag.lag_episodes} |"
            f" {base.worst / o.worst if o.worst else 0:.1f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=101)
    parser.add_argument("--burst-rate", type=int, default=20_000)
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--modes", default="before,batched reads,conflated")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    pairs = universe(args.pairs)
    plan = [(args.burst_seconds, args.burst_rate), (args.seconds - args.burst_seconds, args.rate)]
    count = int(sum(s * r for s, r in plan) + 60 * args.rate) + 1000
    frames = book_frames(pairs, count, seed=1)
    print(
        f"{len(pairs)} pairs; burst {args.burst_rate:,} frames/s for {args.burst_seconds:g} s,"
        f" then {args.rate:,} frames/s to {args.seconds:g} s; {count:,} updates prepared"
    )
    outcomes = [trio.run(run_mode, mode, pairs, frames, plan) for mode in args.modes.split(",")]
    print_tables(outcomes)


if __name__ == "__main__":
    main()
