"""Moving old audit rows to Parquet: export, verify, and only then delete.

Everything happens in one DuckDB transaction: the rows to move are fingerprinted (count and
an order-independent checksum of every column), copied to a zstd Parquet file beside the
database, read back and fingerprinted again; only if both fingerprints agree are they
deleted and the transaction committed. Any failure rolls back (nothing deleted) and removes
the partial file.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import duckdb
import structlog

from arbitrade.persistence._errors import ArchiveError, ArchiveVerificationFailed
from arbitrade.persistence._tables import AUDIT_EVENTS

log = structlog.get_logger(__name__)

_COLUMNS = ", ".join(AUDIT_EVENTS.column_names)
_FINGERPRINT = f"count(*), coalesce(sum(hash({_COLUMNS})::HUGEINT), 0)"


@attrs.frozen
class Fingerprint:
    """How many rows, and the sum of their row hashes (order-independent, counts repeats)."""

    rows: int
    checksum: int


@attrs.frozen
class ArchiveResult:
    """What ``archive_audit_events`` did."""

    path: Path | None
    """The Parquet file written, or None when no row was old enough."""
    rows: int
    """Rows moved (exported, verified and deleted)."""
    checksum: int
    """The verified checksum of the moved rows."""
    cutoff_wall: float
    """Rows with ``at_wall`` (Unix seconds) before this were moved."""


def read_parquet_fingerprint(connection: duckdb.DuckDBPyConnection, path: Path) -> Fingerprint:
    """The fingerprint of the rows in a Parquet file, computed by DuckDB from the file."""
    rows = connection.execute(
        f"SELECT {_FINGERPRINT} FROM read_parquet(?)",  # noqa: S608 - our column names
        [str(path)],
    ).fetchall()
    return Fingerprint(int(rows[0][0]), int(rows[0][1]))


def archive_path(database: Path, now_wall: float) -> Path:
    """``<folder>/<stem>.audit_events.<UTC stamp>.parquet`` beside the database."""
    stamp = datetime.datetime.fromtimestamp(now_wall, tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return database.with_name(f"{database.stem}.audit_events.{stamp}.parquet")


def archive_audit_events(
    connection: duckdb.DuckDBPyConnection,
    target: Path,
    *,
    older_than: float,
    now_wall: float | None = None,
    read_back: Callable[[duckdb.DuckDBPyConnection, Path], Fingerprint] = (
        read_parquet_fingerprint
    ),
) -> ArchiveResult:
    """Move audit rows with ``at_wall`` older than ``older_than`` seconds to ``target``.

    ``read_back`` fingerprints the written file (a seam for tests). The connection must not
    be inside a transaction.

    Raises:
        ArchiveError: the export failed (folder missing, disk full...): nothing was deleted
            and no file is left behind; ``target`` already exists: nothing was done.
        ArchiveVerificationFailed: the file read back does not match the rows: nothing was
            deleted and the file was removed.
    """
    now = time.time() if now_wall is None else now_wall
    cutoff = now - older_than
    if target.exists():
        raise ArchiveError(target, "the file already exists")
    where = "WHERE at_wall < ?"
    partial = target.with_name(target.name + ".partial")
    connection.execute("BEGIN TRANSACTION")
    try:
        expected = _fingerprint(connection, where, cutoff)
        if expected.rows == 0:
            connection.execute("ROLLBACK")
            return ArchiveResult(None, 0, 0, cutoff)
        try:
            connection.execute(
                f"COPY (SELECT {_COLUMNS} FROM audit_events {where} ORDER BY rowid) "  # noqa: S608
                f"TO '{_quote(partial)}' (FORMAT parquet, COMPRESSION zstd)",
                [cutoff],
            )
        except duckdb.Error as error:
            raise ArchiveError(target, f"export failed: {error}") from error
        found = read_back(connection, partial)
        if found != expected:
            raise ArchiveVerificationFailed(
                target,
                f"read back {found.rows} rows (checksum {found.checksum}), expected "
                f"{expected.rows} (checksum {expected.checksum})",
            )
        deleted = connection.execute(f"DELETE FROM audit_events {where}", [cutoff]).fetchall()  # noqa: S608
        if deleted[0][0] != expected.rows:
            raise ArchiveVerificationFailed(
                target, f"would delete {deleted[0][0]} rows, exported {expected.rows}"
            )
        partial.replace(target)
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            connection.execute("ROLLBACK")
        if target.exists() and not _committed(connection, cutoff):
            target.unlink()
        partial.unlink(missing_ok=True)
        raise
    log.info(
        "persistence.archive.done",
        path=str(target),
        rows=expected.rows,
        checksum=expected.checksum,
        cutoff_wall=cutoff,
    )
    return ArchiveResult(target, expected.rows, expected.checksum, cutoff)


def _fingerprint(connection: duckdb.DuckDBPyConnection, where: str, cutoff: float) -> Fingerprint:
    rows = connection.execute(
        f"SELECT {_FINGERPRINT} FROM audit_events {where}",  # noqa: S608 - our names
        [cutoff],
    ).fetchall()
    return Fingerprint(int(rows[0][0]), int(rows[0][1]))


def _committed(connection: duckdb.DuckDBPyConnection, cutoff: float) -> bool:
    """After a failure: are the old rows gone (the commit itself went through)?"""
    with contextlib.suppress(duckdb.Error):
        rows = connection.execute(
            "SELECT count(*) FROM audit_events WHERE at_wall < ?", [cutoff]
        ).fetchall()
        return int(rows[0][0]) == 0
    return False


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
