"""Errors of the persistence layer, each under a built-in category.

Exception tree::

    PersistenceError (Exception)
    ├── UnrepresentableDecimal (PersistenceError, ValueError)
    ├── SchemaError (PersistenceError)
    │   └── SchemaTooNew
    ├── BatchWriteFailed (PersistenceError, OSError)
    └── ArchiveError (PersistenceError)
        └── ArchiveVerificationFailed

DuckDB's own exceptions never cross this package's public functions: they are translated here,
``from`` the original, with the table, batch or file they concern attached.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path


class PersistenceError(Exception):
    """Base of every error raised by ``arbitrade.persistence``."""


class UnrepresentableDecimal(PersistenceError, ValueError):
    """A Decimal does not fit DECIMAL(38,18) exactly (more than 18 fractional digits, more
    than 20 integer digits, or not finite). Nothing is rounded: the row is refused."""

    def __init__(self, field: str, value: Decimal) -> None:
        self.field = field
        self.value = value
        super().__init__(
            f"{field}: expected a finite number with at most 20 integer and 18 fractional "
            f"digits (DECIMAL(38,18)), got {value!s}"
        )


class SchemaError(PersistenceError):
    """The database's schema cannot be brought to the version this code expects."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer Arbitrade: this code must not write to it."""

    def __init__(self, path: str, database_version: int, known_version: int) -> None:
        self.path = path
        self.database_version = database_version
        self.known_version = known_version
        super().__init__(
            f"{path} is at schema version {database_version}, newer than this code's "
            f"{known_version}: upgrade Arbitrade or restore an older backup"
        )


class BatchWriteFailed(PersistenceError, OSError):
    """A batch could not be committed: none of it is in the database (a failed transaction
    is rolled back)."""

    def __init__(self, batch_id: str, table: str, reason: str) -> None:
        self.batch_id = batch_id
        self.table = table
        self.reason = reason
        where = f" into {table}" if table else ""
        super().__init__(f"batch {batch_id}{where} was not committed: {reason}")


class ArchiveError(PersistenceError):
    """Archiving failed; the rows are still in the database."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"archive {path} failed, nothing was deleted: {reason}")


class ArchiveVerificationFailed(ArchiveError):
    """The Parquet file read back does not match the rows exported (count or checksum)."""
