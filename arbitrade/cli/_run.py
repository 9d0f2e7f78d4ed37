"""``arbitrade run``: start the bot (sim mode by default) with its dashboard."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import trio

from arbitrade.cli._common import add_config_arguments, settings_or_exit
from arbitrade.config import ConfigError
from arbitrade.logs import configure_logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the bot and its dashboard")
    add_config_arguments(parser)
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="store every raw market frame under DIR (zstd Parquet) for backtests",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config, args.env_file)
    if settings is None:
        return 1
    configure_logging(level=settings.log_level, json=settings.log_json)
    from arbitrade.components import load_components

    try:
        components = load_components()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    try:
        return _run_app(settings, components, args.record)
    except KeyboardInterrupt:
        return 130


def _run_app(settings: Any, components: Any, record: Path | None) -> int:
    """Run the app; a configuration error found while starting (a file a component names
    cannot be read) is one line on stderr and exit code 1, not a traceback."""
    from arbitrade.app import run_app

    errors: list[ConfigError] = []
    try:
        trio.run(functools.partial(run_app, settings, components, record=record))
    except* ConfigError as group:
        errors = _leaves(group)
    for error in errors:
        print(f"configuration error: {error}", file=sys.stderr)
    return 1 if errors else 0


def _leaves(group: BaseExceptionGroup[ConfigError]) -> list[ConfigError]:
    found: list[ConfigError] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found.extend(_leaves(error))
        else:
            found.append(error)
    return found
