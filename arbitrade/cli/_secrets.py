"""``arbitrade secrets encrypt``: encrypt the Kraken API secret for storage at rest."""

from __future__ import annotations

import argparse
import getpass
import sys

from arbitrade.cli._common import add_config_arguments, settings_or_exit
from arbitrade.logs import configure_logging
from arbitrade.vault import VaultError, encrypt_secret, load_or_create_key


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("secrets", help="encrypt secrets for storage at rest")
    actions = parser.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    encrypt = actions.add_parser(
        "encrypt", help="read a secret from stdin (or a prompt); print fernet:<token>"
    )
    add_config_arguments(encrypt)
    encrypt.set_defaults(handler=_encrypt)


def _encrypt(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config, args.env_file)
    if settings is None:
        return 1
    configure_logging(level=settings.log_level, json=settings.log_json)
    plaintext = getpass.getpass("secret: ") if sys.stdin.isatty() else sys.stdin.read().strip()
    try:
        key = load_or_create_key(settings.fernet_key, settings.duckdb_path.parent)
        print(f"fernet:{encrypt_secret(key, plaintext)}")
    except VaultError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
