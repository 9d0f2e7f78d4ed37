"""Raw WebSocket v2 book frames -> checksum-verified L2 books: ours vs python-kraken-sdk.

Run: ``.venv/bin/python benchmarks/bench_book.py [--passes N] [--symbols N] [--updates N]``

The stream is the real BTC/USD recording (tests/fixtures/kraken) plus generated books for
instruments with price precisions 1..7 (qty precisions 0..8), interleaved at random, each
starting with its snapshot; generated checksums come from a straightforward Decimal
implementation of Kraken's algorithm. Every contender gets the same raw frames (bytes):

* ``orjson.loads`` alone: the floor (no book at all);
* ours: ``Decoder.decode`` -> ``BookMessage`` (ticks/lots) -> ``OrderBook.apply`` (checksum);
* python-kraken-sdk's ``SpotOrderBookClient``: ``json.loads`` as its connector does, then its
  ``on_message`` driven without a network or event loop tick (its REST precision lookup is
  stubbed with the same precisions).

Throughput comes from passes timed as a whole in CPU time (``process_time``: the machines are
shared, and CPU time leaves out the moments another process held the core); p50/p99 from
passes that time each frame with ``perf_counter_ns`` (wall clock, so a busy neighbour shows in
the p99). The garbage collector is off during measurement for every contender (a
production process would ``gc.freeze()`` after start-up). Each pass starts from empty books.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from arbitrade.kraken import Decoder
from arbitrade.market.book import OrderBook

RECORDING = Path(__file__).parent.parent / "tests/fixtures/kraken/book-btc-usd-v2-recorded.json"


# -- stream generation ---------------------------------------------------------------------


def _number(units: int, precision: int) -> orjson.Fragment:
    text = format(Decimal(units).scaleb(-precision), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".") if precision else text
    return orjson.Fragment(text.encode())


def _reference_checksum(asks: dict[int, int], bids: dict[int, int], pp: int, qp: int) -> int:
    def piece(units: int, precision: int) -> str:
        return f"{Decimal(units).scaleb(-precision):.{precision}f}".replace(".", "").lstrip("0")

    text = "".join(piece(p, pp) + piece(asks[p], qp) for p in sorted(asks)[:10])
    text += "".join(piece(p, pp) + piece(bids[p], qp) for p in sorted(bids, reverse=True)[:10])
    return zlib.crc32(text.encode())


def generate_book_frames(
    symbol: str, price_precision: int, qty_precision: int, updates: int, rng: random.Random
) -> list[bytes]:
    """A snapshot and ``updates`` update frames (depth 10) with correct checksums.

    Each update changes one to three levels near the top (inserts, qty changes, deletes),
    never crossing the book; the generator truncates to depth 10 afterwards as Kraken does.
    """
    depth = 10
    mid = rng.randrange(10**price_precision * 5, 10**price_precision * 50_000)
    spread = rng.randrange(1, 5)
    asks = {mid + spread + i * rng.randrange(1, 4): 0 for i in range(depth)}
    bids = {mid - i * rng.randrange(1, 4): 0 for i in range(depth)}
    for side in (asks, bids):
        for price in side:
            side[price] = rng.randrange(1, 10 ** (qty_precision + 2))

    def level(price: int, qty: int) -> dict[str, Any]:
        return {"price": _number(price, price_precision), "qty": _number(qty, qty_precision)}

    def frame(kind: str, b: list[tuple[int, int]], a: list[tuple[int, int]]) -> bytes:
        item: dict[str, Any] = {
            "symbol": symbol,
            "bids": [level(*x) for x in b],
            "asks": [level(*x) for x in a],
            "checksum": _reference_checksum(asks, bids, price_precision, qty_precision),
        }
        if kind == "update":
            item["timestamp"] = "2024-01-01T00:00:00.000000Z"
        return orjson.dumps({"channel": "book", "type": kind, "data": [item]})

    frames = [
        frame(
            "snapshot",
            sorted(bids.items(), reverse=True),
            sorted(asks.items()),
        )
    ]
    for _ in range(updates):
        changed: dict[str, list[tuple[int, int]]] = {"bids": [], "asks": []}
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            name = rng.choice(("bids", "asks"))
            side = bids if name == "bids" else asks
            best = max(side) if name == "bids" else min(side)
            roll = rng.random()
            # python-kraken-sdk truncates after each level, not after the message; a delete
            # after an insertion on the same side is where the two disagree, so the shared
            # stream never has one (tests/market cover that case for our book).
            inserted = any(q for _, q in changed[name])
            if roll < 0.3 and len(side) > 1 and not inserted:  # delete an existing level
                price = rng.choice(list(side))
                del side[price]
                changed[name].append((price, 0))
            else:  # insert or change near the top
                offset = rng.randrange(-3, 8)
                price = best - offset if name == "bids" else best + offset
                other_best = min(asks) if name == "bids" else max(bids)
                if (name == "bids" and price >= other_best) or (
                    name == "asks" and price <= other_best
                ):
                    price = best
                qty = rng.randrange(1, 10 ** (qty_precision + 2))
                side[price] = qty
                changed[name].append((price, qty))
        for side in (bids, asks):  # truncate as Kraken does, without sending deletes
            keep = sorted(side, reverse=side is bids)[:depth]
            for price in list(side):
                if price not in keep:
                    del side[price]
        frames.append(frame("update", changed["bids"], changed["asks"]))
    return frames


def build_stream(
    symbols: int, updates: int, seed: int
) -> tuple[list[bytes], dict[str, tuple[int, int]]]:
    """The interleaved multi-symbol stream and each symbol's (price, qty) precisions."""
    rng = random.Random(seed)
    recording = json.loads(RECORDING.read_text())
    per_symbol: dict[str, list[bytes]] = {
        "BTC/USD": [orjson.dumps(recording["init"])]
        + [orjson.dumps(u) for u in recording["updates"]]
    }
    precisions = {"BTC/USD": (1, 8)}
    for i in range(symbols):
        price_precision = 1 + i % 7
        qty_precision = rng.randrange(0, 9)
        symbol = f"S{i}/USD"
        precisions[symbol] = (price_precision, qty_precision)
        per_symbol[symbol] = generate_book_frames(
            symbol, price_precision, qty_precision, updates, rng
        )
    stream: list[bytes] = []
    cursors = dict.fromkeys(per_symbol, 0)
    while cursors:
        symbol = rng.choice(list(cursors))
        stream.append(per_symbol[symbol][cursors[symbol]])
        cursors[symbol] += 1
        if cursors[symbol] == len(per_symbol[symbol]):
            del cursors[symbol]
    return stream, precisions


# -- contenders ------------------------------------------------------------------------------


def make_orjson(precisions: dict[str, tuple[int, int]]) -> Callable[[bytes], None]:
    loads = orjson.loads

    def process(raw: bytes) -> None:
        loads(raw)

    return process


def make_ours(precisions: dict[str, tuple[int, int]]) -> Callable[[bytes], None]:
    decoder = Decoder(precisions)
    books = {
        s: OrderBook(s, price_precision=p, qty_precision=q) for s, (p, q) in precisions.items()
    }
    decode = decoder.decode

    def process(raw: bytes) -> None:
        message = decode(raw)
        result = books[message.symbol].apply(message)  # type: ignore[union-attr]
        if result is not None:
            raise AssertionError(f"ours: {result}")

    return process


class _FakeMarket:
    def __init__(self, precisions: dict[str, tuple[int, int]]) -> None:
        self._precisions = precisions

    def get_asset_pairs(self, pair: str) -> dict[str, dict[str, int]]:
        price, qty = self._precisions[pair]
        return {pair: {"pair_decimals": price, "lot_decimals": qty}}


def make_sdk(precisions: dict[str, tuple[int, int]]) -> Callable[[bytes], None]:
    from kraken.spot import SpotOrderBookClient

    async def construct() -> Any:  # its base class wants a running asyncio loop
        client = SpotOrderBookClient(depth=10, callback=lambda pair, message: None)
        await client.close()  # its unused aiohttp session; on_message needs no network
        return client

    client = asyncio.run(construct())
    client._SpotOrderBookClient__market = _FakeMarket(precisions)
    books = client._SpotOrderBookClient__book
    loads = json.loads

    def process(raw: bytes) -> None:
        message = loads(raw)
        coroutine = client.on_message(message)
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        else:  # pragma: no cover - it never awaits without a mismatch
            raise AssertionError("sdk awaited")
        if not books[message["data"][0]["symbol"]]["valid"]:
            raise AssertionError("sdk: checksum mismatch")

    return process


# -- measurement -----------------------------------------------------------------------------


def measure(
    contenders: dict[str, Callable[[dict[str, tuple[int, int]]], Callable[[bytes], None]]],
    stream: list[bytes],
    precisions: dict[str, tuple[int, int]],
    passes: int,
) -> dict[str, tuple[float, float, float]]:
    """Per contender: (frames per second, p50 µs, p99 µs).

    Contenders take turns pass by pass, so a noisy neighbour on the shared machine slows
    them alike. Each pass starts from fresh books.
    """
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    samples: dict[str, list[int]] = {name: [] for name in contenders}
    clock = time.perf_counter_ns
    for _ in range(passes):
        for name, make in contenders.items():
            process = make(precisions)
            start = time.process_time()
            for raw in stream:
                process(raw)
            rates[name].append(len(stream) / (time.process_time() - start))
        for name, make in contenders.items():
            process = make(precisions)
            timings = samples[name]
            for raw in stream:
                t0 = clock()
                process(raw)
                timings.append(clock() - t0)
    results = {}
    for name in contenders:
        timings = sorted(samples[name])
        p50 = timings[len(timings) // 2] / 1000
        p99 = timings[int(len(timings) * 0.99)] / 1000
        results[name] = (statistics.median(rates[name]), p50, p99)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=14, help="generated instruments")
    parser.add_argument("--updates", type=int, default=500, help="updates per generated symbol")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    stream, precisions = build_stream(args.symbols, args.updates, args.seed)
    print(
        f"stream: {len(stream)} frames, {len(precisions)} symbols, price precisions "
        f"{sorted({p for p, _ in precisions.values()})}, passes {args.passes}, "
        f"Python {sys.version.split()[0]}"
    )
    contenders = {
        "orjson.loads alone (floor)": make_orjson,
        "arbitrade Decoder + OrderBook": make_ours,
        "python-kraken-sdk SpotOrderBookClient": make_sdk,
    }
    gc.collect()
    gc.disable()
    try:
        results = measure(contenders, stream, precisions, args.passes)
    finally:
        gc.enable()
    sdk_rate = results["python-kraken-sdk SpotOrderBookClient"][0]
    ours_rate = results["arbitrade Decoder + OrderBook"][0]
    header = (
        f"| {'contender':<40} | {'frames/s':>10} | {'p50 µs':>7} | {'p99 µs':>7} |"
        f" {'vs sdk':>7} | {'vs ours':>7} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, (rate, p50, p99) in results.items():
        print(
            f"| {name:<40} | {rate:>10,.0f} | {p50:>7.2f} | {p99:>7.2f} |"
            f" {rate / sdk_rate:>6.2f}x | {rate / ours_rate:>6.2f}x |"
        )


if __name__ == "__main__":
    main()
