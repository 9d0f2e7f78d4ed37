"""Consistent backups of the database and restoring one.

A backup is a new DuckDB file filled by ``COPY FROM DATABASE`` after a ``CHECKPOINT``: a
transactionally consistent copy made through the connection that holds the file, so it is
safe while that connection is idle (the CLI takes the file's lock; stop the bot first).
"""

from __future__ import annotations

import datetime
import shutil
import time
from pathlib import Path

import duckdb
import structlog

from arbitrade.persistence._errors import PersistenceError, SchemaTooNew
from arbitrade.persistence._schema import MIGRATIONS, schema_version

log = structlog.get_logger(__name__)

_ALIAS = "arbitrade_backup"


def stamp(now_wall: float | None = None) -> str:
    """A UTC timestamp for file names: ``20261126T090500Z``."""
    when = datetime.datetime.fromtimestamp(
        time.time() if now_wall is None else now_wall, datetime.UTC
    )
    return when.strftime("%Y%m%dT%H%M%SZ")


def backup_database(connection: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Copy every table of the connection's database into a new file ``target``.

    Raises:
        PersistenceError: ``target`` exists, or DuckDB could not write it (the partial file
            is removed).
    """
    if target.exists():
        raise PersistenceError(f"backup {target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = connection.execute("SELECT current_database()").fetchall()[0][0]
    try:
        connection.execute("CHECKPOINT")
        connection.execute(f"ATTACH '{_quote(target)}' AS {_ALIAS}")
        try:
            connection.execute(f'COPY FROM DATABASE "{source}" TO {_ALIAS}')
        finally:
            connection.execute(f"DETACH {_ALIAS}")
    except duckdb.Error as error:
        target.unlink(missing_ok=True)
        raise PersistenceError(f"backup to {target} failed: {error}") from error
    log.info("persistence.backup.done", path=str(target))
    return target


def restore_database(backup: Path, database: Path, *, now_wall: float | None = None) -> Path:
    """Put ``backup`` in place of ``database``; return where the old file was moved.

    The backup is checked first (it opens, and its schema is not newer than this code). The
    current file and its write-ahead log are moved aside (``<name>.before-restore-<stamp>``),
    never deleted, so a restore can itself be undone.

    Raises:
        PersistenceError: the backup is missing or unreadable, or ``database`` is in use by
            another process (nothing was changed).
        SchemaTooNew: the backup comes from a newer Arbitrade (nothing was changed).
    """
    if not backup.is_file():
        raise PersistenceError(f"backup {backup} does not exist")
    try:
        with duckdb.connect(str(backup), read_only=True) as check:
            version = schema_version(check)
    except duckdb.Error as error:
        raise PersistenceError(f"backup {backup} cannot be read: {error}") from error
    known = MIGRATIONS[-1].version
    if version > known:
        raise SchemaTooNew(str(backup), version, known)
    if database.exists():
        try:
            duckdb.connect(str(database)).close()  # takes the lock: fails if the bot runs
        except duckdb.Error as error:
            raise PersistenceError(f"{database} is in use, stop the bot first: {error}") from error
    aside = database.with_name(f"{database.name}.before-restore-{stamp(now_wall)}")
    wal = database.with_name(database.name + ".wal")
    if database.exists():
        database.replace(aside)
    if wal.exists():
        wal.replace(aside.with_name(aside.name + ".wal"))
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(backup, database)
    log.info(
        "persistence.restore.done", backup=str(backup), database=str(database), aside=str(aside)
    )
    return aside


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
