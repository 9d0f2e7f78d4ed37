"""``arbitrade record``: store raw WebSocket frames as zstd Parquet for backtests.

Against the configured public WebSocket URL (``KRAKEN_WS_PUBLIC_URL``), or ``--url``; in sim
mode without ``--url`` an embedded simulator is served on loopback and recorded over a real
socket. ``--simulated`` instead records the simulator in-process on a virtual clock (an hour
of market in a few minutes of CPU: fixtures and benchmarks). Stops after ``--duration``
seconds or on Ctrl-C; what was received is written either way. A bad option (no symbol, an
unknown channel, a depth Kraken does not offer, a duration that is not positive) prints one
line (``configuration error: --flag: ...``) and exits 1 before anything is opened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

import trio

from arbitrade.cli._common import add_config_arguments, settings_or_exit
from arbitrade.logs import configure_logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record raw WebSocket frames to Parquet for backtests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="recording folder")
    parser.add_argument("--symbols", default="BTC/USD,ETH/USD,ETH/BTC", help="comma list")
    parser.add_argument("--channels", default="book", help="comma list: book, ticker, trade")
    parser.add_argument("--depth", type=int, default=10, help="book depth (10, 25, 100...)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to record")
    parser.add_argument("--url", default="", help="WebSocket URL (default: from settings)")
    parser.add_argument(
        "--simulated", action="store_true", help="record the simulator on a virtual clock"
    )
    parser.add_argument("--seed", type=int, default=None, help="simulator seed (sim mode)")
    parser.set_defaults(handler=_record)


RECORDABLE_CHANNELS: Final = ("book", "ticker", "trade", "ohlc")
"""Public channels ``--channels`` may name (``instrument`` is always recorded)."""
BOOK_DEPTHS: Final = (10, 25, 100, 500, 1000)
"""Depths Kraken's v2 book channel accepts."""


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _problem(symbols: list[str], channels: list[str], depth: int, duration: float) -> str:
    """The first bad option as ``--flag: problem`` (empty when all are fine)."""
    if not symbols:
        return "--symbols: name at least one pair (BTC/USD,ETH/USD)"
    if not channels:
        return f"--channels: name at least one of {', '.join(RECORDABLE_CHANNELS)}"
    unknown = [channel for channel in channels if channel not in RECORDABLE_CHANNELS]
    if unknown:
        return (
            f"--channels: unknown channel {unknown[0]!r} "
            f"(expected some of {', '.join(RECORDABLE_CHANNELS)})"
        )
    if "book" in channels and depth not in BOOK_DEPTHS:
        return f"--depth: expected one of {', '.join(map(str, BOOK_DEPTHS))}, got {depth}"
    if not duration > 0:  # NaN too
        return f"--duration: must be more than zero seconds, got {duration}"
    return ""


def _record(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config, args.env_file)
    if settings is None:
        return 1
    configure_logging(level=settings.log_level, json=settings.log_json)
    symbols, channels = _split(args.symbols), _split(args.channels)
    problem = _problem(symbols, channels, args.depth, args.duration)
    if problem:
        print(f"configuration error: {problem}", file=sys.stderr)
        return 1
    seed = settings.sim_seed if args.seed is None else args.seed
    if args.simulated:
        from arbitrade.backtest._simrecord import record_simulator

        result = record_simulator(
            args.out,
            symbols=symbols,
            seconds=args.duration,
            seed=seed,
            depth=args.depth,
            channels=channels,
        )
        print(f"recorded {result.statistics.frames} frames to {args.out}")
        return 0
    url = args.url or ("" if settings.mode.value == "sim" else settings.kraken_ws_public_url)
    try:
        frames = trio.run(
            _record_live, args.out, url, symbols, channels, args.depth, args.duration, seed
        )
    except KeyboardInterrupt:
        return 130
    print(f"recorded {frames} frames to {args.out}")
    return 0


async def _record_live(
    out: Path,
    url: str,
    symbols: list[str],
    channels: list[str],
    depth: int,
    duration: float,
    seed: int,
) -> int:
    from arbitrade.backtest import RecordingTransport, open_recorder
    from arbitrade.kraken import KrakenWsClient, TrioWebsocketTransport

    with open_recorder(out) as recorder:
        async with trio.open_nursery() as nursery:
            if not url:
                from arbitrade.sim import SimConfig, serve_simulator

                running = await nursery.start(
                    serve_simulator, SimConfig(seed=seed, symbols=tuple(symbols))
                )
                url = running.ws_public_url
            client = KrakenWsClient(
                url, transport=RecordingTransport(TrioWebsocketTransport(), recorder)
            )
            await nursery.start(client.run)
            await client.subscribe("instrument", snapshot=True)
            for channel in channels:
                params = {"depth": depth} if channel == "book" else {}
                await client.subscribe(channel, symbols, **params)

            async def drain() -> None:
                async for _ in client.messages:
                    pass

            nursery.start_soon(drain)
            await trio.sleep(duration)
            nursery.cancel_scope.cancel()
        return recorder.statistics().frames
