"""The ``arbitrade`` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (a function taking the parsed arguments and returning an exit code).
Add a command by writing the module and naming it in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from arbitrade import __version__

_COMMAND_MODULES = (
    "arbitrade.cli._run",
    "arbitrade.cli._config",
    "arbitrade.cli._secrets",
    "arbitrade.cli._sim",
    "arbitrade.cli._db",
    "arbitrade.cli._record",
    "arbitrade.cli._backtest",
    "arbitrade.cli._ops",
    "arbitrade.cli._soak",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="arbitrade", description="Arbitrage bot for the Kraken spot exchange."
    )
    parser.add_argument("--version", action="version", version=f"arbitrade {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = args.handler(args)
    return code
