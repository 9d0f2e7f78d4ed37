"""The simulator streaming book updates for a ~1,000-pair Kraken-shaped universe.

Run: ``.venv/bin/python benchmarks/bench_sim.py [--seconds S] [--extra-assets N]``

Two measurements, printed as tables:

* the market model alone (no network): milliseconds of CPU per tick and book changes per tick;
* the server over loopback: one trio-websocket client subscribes to ``book`` (depth 10) for
  every pair (in batches of 50 symbols per request, as a client would), then counts the book
  frames it receives for S seconds at tick periods of 100 ms and 50 ms, alongside the server
  process's CPU use. Client and server share one process and one core's worth of Trio loop,
  so the figures are a floor for the server alone.
"""

from __future__ import annotations

import argparse
import time

import orjson
import trio
from trio_websocket import open_websocket_url

from arbitrade.sim import MarketModel, MarketSettings, SimConfig, build_universe, serve_simulator


def bench_model(extra_assets: int, ticks: int) -> tuple[int, float, float]:
    universe = build_universe(extra_assets=extra_assets)
    model = MarketModel(universe, seed=1)
    started = time.process_time()
    changed = sum(len(model.step().changed) for _ in range(ticks))
    cpu = time.process_time() - started
    return len(universe.pairs), cpu / ticks * 1000, changed / ticks


async def bench_server(extra_assets: int, tick_seconds: float, seconds: float) -> dict[str, float]:
    market = MarketSettings(tick_seconds=tick_seconds)
    config = SimConfig(extra_assets=extra_assets, market=market)
    frames = 0
    async with trio.open_nursery() as nursery:
        running = await nursery.start(serve_simulator, config)
        symbols = [pair.symbol for pair in running.simulator.universe.pairs]
        async with open_websocket_url(running.ws_public_url, max_message_size=2**24) as ws:
            for start in range(0, len(symbols), 50):
                request = {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": symbols[start : start + 50]},
                }
                await ws.send_message(orjson.dumps(request).decode())
            # Let the snapshots go by, then count updates.
            with trio.move_on_after(2.0):
                while True:
                    await ws.get_message()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            with trio.move_on_after(seconds):
                while True:
                    message = await ws.get_message()
                    if message.startswith('{"channel":"book"'):
                        frames += 1
            cpu = time.process_time() - cpu_start
            wall = time.perf_counter() - wall_start
        nursery.cancel_scope.cancel()
    return {"pairs": len(symbols), "frames_per_s": frames / wall, "cpu_share": cpu / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--extra-assets", type=int, default=220)
    args = parser.parse_args()

    pairs, ms_per_tick, changed = bench_model(args.extra_assets, 200)
    print("market model alone (CPU time)")
    print("| pairs | ms CPU / tick | books changed / tick |")
    print("|---|---|---|")
    print(f"| {pairs} | {ms_per_tick:.2f} | {changed:.0f} |")
    print()
    print(f"server over loopback, book depth 10 for every pair, {args.seconds:.0f} s each")
    print("| tick | pairs | book frames/s received | process CPU share |")
    print("|---|---|---|---|")
    for tick in (0.1, 0.05):
        result = trio.run(bench_server, args.extra_assets, tick, args.seconds)
        print(
            f"| {tick * 1000:.0f} ms | {result['pairs']:.0f} | {result['frames_per_s']:.0f} "
            f"| {result['cpu_share']:.0%} |"
        )


if __name__ == "__main__":
    main()
