"""``arbitrade db ...``: migrate, archive old audit rows, back up and restore the database.

Each command opens the DuckDB file itself, so it needs the bot stopped (DuckDB lets one
process write a file); it says so when the file is locked.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import duckdb

from arbitrade.cli._common import add_config_arguments, settings_or_exit

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as seconds.

    Raises:
        argparse.ArgumentTypeError: the text is not a whole number and one of s, m, h, d, w.
    """
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 30d, 12h, 90m, 45s or 2w, got {text!r}"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="database maintenance (stop the bot first)")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    migrate = actions.add_parser("migrate", help="apply pending schema migrations")
    _add_db_arguments(migrate)
    migrate.set_defaults(handler=_migrate)

    archive = actions.add_parser(
        "archive", help="move old audit rows to a Parquet file beside the database"
    )
    _add_db_arguments(archive)
    _add_older_than(archive)
    archive.set_defaults(handler=_archive)

    backup = actions.add_parser("backup", help="write a consistent copy of the database")
    _add_db_arguments(backup)
    backup.add_argument("--to", type=Path, help="backup file (default: backups/ beside the db)")
    backup.set_defaults(handler=_backup)

    maintain = actions.add_parser("maintain", help="archive old audit rows, then back up")
    _add_db_arguments(maintain)
    _add_older_than(maintain)
    maintain.set_defaults(handler=_maintain)

    restore = actions.add_parser(
        "restore", help="replace the database with a backup (the old file is kept aside)"
    )
    _add_db_arguments(restore)
    restore.add_argument("backup", type=Path, help="the backup file to restore")
    restore.set_defaults(handler=_restore)


def _add_db_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--db", type=Path, help="DuckDB file (default: DUCKDB_PATH)")


def _add_older_than(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=parse_duration,
        default=parse_duration("30d"),
        metavar="DURATION",
        help="move rows older than this (30d, 12h, ...; default 30d)",
    )


def _database(args: argparse.Namespace) -> Path | None:
    if args.db is not None:
        return Path(args.db)
    settings = settings_or_exit(args.config, args.env_file)
    return None if settings is None else settings.duckdb_path


def _connect(path: Path) -> duckdb.DuckDBPyConnection | None:
    """Open and migrate; on failure print one line and return None."""
    from arbitrade.persistence import PersistenceError, open_database

    try:
        return open_database(path)
    except (duckdb.Error, PersistenceError) as error:
        print(f"cannot open {path}: {error}", file=sys.stderr)
        return None


def _migrate(args: argparse.Namespace) -> int:
    from arbitrade.persistence import schema_version

    path = _database(args)
    if path is None:
        return 1
    connection = _connect(path)  # open_database migrates
    if connection is None:
        return 1
    with connection:
        print(f"{path}: schema version {schema_version(connection)}")
    return 0


def _archive(args: argparse.Namespace) -> int:
    path = _database(args)
    if path is None:
        return 1
    connection = _connect(path)
    if connection is None:
        return 1
    with connection:
        return _archive_with(connection, path, args.older_than)


def _archive_with(connection: duckdb.DuckDBPyConnection, path: Path, older_than: float) -> int:
    from arbitrade.persistence._archive import archive_audit_events, archive_path
    from arbitrade.persistence._errors import ArchiveError

    now = time.time()
    try:
        result = archive_audit_events(
            connection, archive_path(path, now), older_than=older_than, now_wall=now
        )
    except ArchiveError as error:
        print(f"archive failed: {error}", file=sys.stderr)
        return 1
    if result.path is None:
        print("no audit rows older than the cutoff: nothing archived")
    else:
        print(
            f"archived {result.rows} audit rows to {result.path} "
            f"(verified, checksum {result.checksum}) and deleted them"
        )
    return 0


def _backup_target(path: Path, explicit: Path | None) -> Path:
    from arbitrade.persistence._backup import stamp

    if explicit is not None:
        return explicit
    return path.parent / "backups" / f"{path.stem}.{stamp()}.duckdb"


def _backup_with(connection: duckdb.DuckDBPyConnection, path: Path, to: Path | None) -> int:
    from arbitrade.persistence import PersistenceError
    from arbitrade.persistence._backup import backup_database

    try:
        target = backup_database(connection, _backup_target(path, to))
    except PersistenceError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    print(f"backed up {path} to {target}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    path = _database(args)
    if path is None:
        return 1
    connection = _connect(path)
    if connection is None:
        return 1
    with connection:
        return _backup_with(connection, path, args.to)


def _maintain(args: argparse.Namespace) -> int:
    path = _database(args)
    if path is None:
        return 1
    connection = _connect(path)
    if connection is None:
        return 1
    with connection:
        code = _archive_with(connection, path, args.older_than)
        if code != 0:
            return code
        return _backup_with(connection, path, None)


def _restore(args: argparse.Namespace) -> int:
    from arbitrade.persistence import PersistenceError
    from arbitrade.persistence._backup import restore_database

    path = _database(args)
    if path is None:
        return 1
    try:
        aside = restore_database(args.backup, path)
    except PersistenceError as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    print(f"restored {args.backup} to {path}; the previous file is kept as {aside}")
    return 0
