"""``arbitrade sim``: serve the Kraken simulator on loopback until interrupted."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

import trio

from arbitrade.logs import configure_logging

if TYPE_CHECKING:
    from arbitrade.sim import SimConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="serve the Kraken simulator (REST, WebSocket v2) on loopback",
        description=(
            "Serve a Kraken look-alike: REST under /0/public and /0/private, WebSocket v2 at "
            "/v2 and /v2-auth, fault knobs at /sim/faults. The default test key pair "
            "(arbitrade.sim.DEFAULT_API_KEY / DEFAULT_API_SECRET) is accepted unless "
            "--no-default-key is given."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one, printed)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the market model")
    parser.add_argument(
        "--stop-with-stdin",
        action="store_true",
        help="stop when standard input closes (a parent that holds the pipe, even if it dies)",
    )
    parser.add_argument("--api-key", action="append", default=[], help="accepted API key")
    parser.add_argument(
        "--api-secret", action="append", default=[], help="its base64 secret (same order)"
    )
    parser.add_argument(
        "--permissions",
        action="append",
        default=[],
        help="comma list of query,trade,websocket,withdraw for each --api-key "
        "(default query,trade,websocket)",
    )
    parser.add_argument("--no-default-key", action="store_true", help="refuse the default key")
    parser.add_argument("--symbols", default="", help="comma list of v2 symbols to list only")
    parser.add_argument("--extra-assets", type=int, default=0, help="synthetic assets to add")
    parser.add_argument("--tick-seconds", type=float, default=0.1, help="market tick period")
    parser.add_argument(
        "--mispricing-rate", type=float, default=0.02, help="chance per tick of a mispricing"
    )
    faults = parser.add_argument_group("faults (also settable at POST /sim/faults)")
    faults.add_argument(
        "--system-status",
        default="online",
        choices=("online", "maintenance", "cancel_only", "post_only"),
    )
    faults.add_argument("--drop-every", type=float, default=0.0, help="drop WS every N seconds")
    faults.add_argument("--stall", action="append", default=[], help="withhold a channel")
    faults.add_argument("--ack-delay", type=float, default=0.0, help="delay every answer (s)")
    faults.add_argument("--corrupt-checksums", type=int, default=0, help="next N book checksums")
    faults.add_argument("--garbage-frames", type=int, default=0, help="next N garbage frames")
    faults.add_argument("--truncated-frames", type=int, default=0, help="next N cut frames")
    faults.add_argument("--rate-limit-errors", type=int, default=0, help="next N REST calls")
    faults.add_argument("--nonce-errors", type=int, default=0, help="next N REST calls")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(handler=_sim)


def build_config(args: argparse.Namespace) -> SimConfig:
    """The SimConfig for parsed arguments. Raises SimConfigError or SystemExit on misuse."""
    import attrs

    from arbitrade.sim import ApiKey, FaultSettings, MarketSettings, SimConfig
    from arbitrade.sim._config import DEFAULT_PERMISSIONS, default_api_keys

    if len(args.api_key) != len(args.api_secret):
        raise SystemExit("each --api-key needs one --api-secret")
    keys = [] if args.no_default_key else list(default_api_keys())
    for index, (key, secret) in enumerate(zip(args.api_key, args.api_secret, strict=True)):
        text = args.permissions[index] if index < len(args.permissions) else ""
        permissions = frozenset(p.strip() for p in text.split(",") if p.strip())
        keys.append(ApiKey(key, secret, permissions or DEFAULT_PERMISSIONS))
    market = attrs.evolve(
        MarketSettings(), tick_seconds=args.tick_seconds, mispricing_rate=args.mispricing_rate
    )
    faults = FaultSettings(
        stalled_channels=frozenset(args.stall),
        corrupt_checksums=args.corrupt_checksums,
        garbage_frames=args.garbage_frames,
        truncated_frames=args.truncated_frames,
        ack_delay_seconds=args.ack_delay,
        rate_limit_errors=args.rate_limit_errors,
        nonce_errors=args.nonce_errors,
        system_status=args.system_status,
        drop_every_seconds=args.drop_every,
    )
    symbols = tuple(s for s in args.symbols.split(",") if s) or None
    return SimConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        api_keys=tuple(keys),
        market=market,
        symbols=symbols,
        extra_assets=args.extra_assets,
        faults=faults,
    )


def _sim(args: argparse.Namespace) -> int:
    from arbitrade.sim import RunningSimulator, SimConfigError, serve_simulator

    configure_logging(level=args.log_level)
    try:
        config = build_config(args)
    except SimConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            running: RunningSimulator = await nursery.start(serve_simulator, config)
            print(f"arbitrade sim listening on port {running.port}", flush=True)
            print(f"  REST       {running.rest_url}/0/public/Time", flush=True)
            print(f"  WS public  {running.ws_public_url}", flush=True)
            print(f"  WS private {running.ws_private_url}", flush=True)
            print(f"  faults     {running.control_url}/faults", flush=True)
            if args.stop_with_stdin:
                await _wait_for_stdin_close()
                nursery.cancel_scope.cancel()

    failures: list[OSError] = []
    try:
        try:
            trio.run(main)
        except* OSError as group:  # the port is taken, the host is not ours
            failures = [e for e in _leaves(group) if isinstance(e, OSError)]
    except KeyboardInterrupt:
        return 130
    for failure in failures:
        print(f"cannot listen on {args.host}:{args.port}: {failure.strerror}", file=sys.stderr)
    return 1 if failures else 0


async def _wait_for_stdin_close() -> None:
    """Return once standard input reaches its end (the parent closed it, or died)."""
    stream = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    async with stream:
        while await stream.receive_some(4096):
            pass


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found
