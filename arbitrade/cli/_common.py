"""Helpers shared by subcommands: loading settings with one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

from arbitrade.config import ConfigError, Settings, load_settings
from arbitrade.config._load import DEFAULT_DOTENV, DEFAULT_TOML


def add_config_arguments(parser: object) -> None:
    """Add ``--config`` and ``--env-file`` to a subcommand's parser."""
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    parser.add_argument("--config", type=Path, default=DEFAULT_TOML, help="TOML settings file")
    parser.add_argument("--env-file", type=Path, default=DEFAULT_DOTENV, help=".env file")


def settings_or_exit(config: Path, env_file: Path) -> Settings | None:
    """Load settings; on a ConfigError print its one line to stderr and return None."""
    try:
        return load_settings(toml_path=config, dotenv_path=env_file)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return None
