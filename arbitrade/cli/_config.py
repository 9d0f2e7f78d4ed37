"""``arbitrade config check``: validate the configuration and print it, secrets masked."""

from __future__ import annotations

import argparse

from arbitrade.cli._common import add_config_arguments, settings_or_exit
from arbitrade.config._load import masked


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", help="inspect the configuration")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate settings and print them, secrets masked")
    add_config_arguments(check)
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config, args.env_file)
    if settings is None:
        return 1
    width = max(len(name) for name in masked(settings))
    for name, value in masked(settings).items():
        print(f"{name.ljust(width)}  {value}")
    print("configuration ok")
    return 0
