"""The DuckDB writer: one connection, batches appended through Arrow, one transaction each.

Blocking and single-threaded by design: :class:`DuckDBWriter` is driven by exactly one thread
(the pykka actor in ``_thread``, or a command-line tool). Batches arrive as Arrow IPC chunks
and reach DuckDB by ``INSERT ... SELECT`` from the registered Arrow table, about 100 times
faster than ``executemany`` (see ``benchmarks/bench_sink.py``).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa
import structlog

from arbitrade.persistence._arrow import decode_chunks
from arbitrade.persistence._batch import Batch, BatchCommitted
from arbitrade.persistence._errors import BatchWriteFailed
from arbitrade.persistence._schema import migrate
from arbitrade.persistence._tables import TABLES_BY_NAME

log = structlog.get_logger(__name__)

_SOURCE = "_arbitrade_sink_rows"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_database(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating the folder and file if needed) and migrate the database.

    Raises:
        SchemaTooNew, SchemaError: see :func:`migrate`.
        duckdb.IOException: the file is locked by another process or unreadable.
    """
    where = str(path)
    if where != ":memory:" and not read_only:
        Path(where).parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(where, read_only=read_only)
    if not read_only:
        try:
            migrate(connection, where=where)
        except BaseException:
            connection.close()
            raise
    return connection


MEMORY_LIMIT: Final = "64MB"
"""DuckDB's buffer pool bound for the bot's connection (the RSS target is 300 MB in all)."""


class DuckDBWriter:
    """Owns one DuckDB connection and commits batches. Use it from one thread only.

    ``open`` connects and migrates; ``write`` commits one batch in one transaction (all of it
    or, on error, none of it); ``close`` checkpoints (folding the write-ahead log into the
    file) and closes. After a kill -9 the next ``open`` replays the write-ahead log: every
    committed batch is there and no partial one.
    """

    def __init__(
        self, path: Path | str, *, threads: int = 1, memory_limit: str = MEMORY_LIMIT
    ) -> None:
        self.path = str(path)
        self.threads = threads
        self.memory_limit = memory_limit
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection.

        Raises:
            RuntimeError: ``open`` was not called, or the writer is closed.
        """
        if self._connection is None:
            raise RuntimeError(f"the writer of {self.path} is not open")
        return self._connection

    def open(self) -> None:
        """Connect and run pending migrations (see :func:`open_database` for errors)."""
        if self._connection is None:
            self._connection = open_database(self.path)
            # One DuckDB worker thread: a batch insert gains nothing from parallel
            # execution, and more threads would compete with the Trio loop for the cores.
            self._connection.execute(f"SET threads = {self.threads}")
            # DuckDB's buffer pool keeps the pages it wrote cached up to 80 % of the
            # machine's RAM by default: the bot's RSS then grows with the database (about
            # 9 MB per 100k rows in a test). A bound makes it plateau; larger work spills
            # to DuckDB's temporary directory beside the file.
            self._connection.execute("SET memory_limit = ?", [self.memory_limit])
            self._warm_up()
            log.info("persistence.writer.opened", path=self.path)

    def _warm_up(self) -> None:
        # DuckDB's first Arrow scan loads its Arrow support (tens of milliseconds holding
        # the GIL, so the Trio loop stalls): pay that at start-up, before the sink starts,
        # rather than at the first batch. pandas is not loaded (see _no_pandas).
        batch = pa.RecordBatch.from_arrays([pa.array(["1"], pa.string())], names=["x"])
        schema = batch.schema
        again = pa.ipc.read_record_batch(pa.py_buffer(batch.serialize().to_pybytes()), schema)
        self.connection.from_arrow(pa.Table.from_batches([again])).fetchall()

    def is_committed(self, sink_id: str, sequence: int) -> bool:
        """True when the batch ``(sink_id, sequence)`` is in ``sink_batches``."""
        found = self.connection.execute(
            "SELECT 1 FROM sink_batches WHERE sink_id = ? AND sequence = ? LIMIT 1",
            [sink_id, sequence],
        ).fetchall()
        return bool(found)

    def write(self, batch: Batch) -> BatchCommitted:
        """Commit every row of ``batch`` and its ``sink_batches`` row in one transaction.

        A retried batch that is already committed is not written again.

        Raises:
            BatchWriteFailed: a row did not fit its column or DuckDB failed (disk full, I/O
                error); the transaction was rolled back, so none of the batch is stored.
        """
        started = time.perf_counter()
        connection = self.connection
        if batch.retry and self.is_committed(batch.sink_id, batch.sequence):
            return BatchCommitted(
                batch.sink_id, batch.sequence, batch.row_count, 0.0, already_committed=True
            )
        table = ""
        try:
            statements = ["BEGIN TRANSACTION"]
            for part in batch.tables:
                if not part.row_count:
                    continue
                table = part.table
                definition = TABLES_BY_NAME[part.table]
                # Re-registering a name replaces it: no unregister round trip needed.
                source = f"{_SOURCE}_{definition.name}"
                connection.register(source, decode_chunks(definition, part.chunks))
                statements.append(definition.insert_sql(source))
            table = ""
            statements.append(
                f"INSERT INTO sink_batches VALUES ({_literal(batch.sink_id)}, "  # noqa: S608
                f"{int(batch.sequence)}, {int(batch.row_count)}, {time.time()!r})"
            )
            statements.append("COMMIT")
            # One call for the whole transaction: each call into DuckDB must take the GIL
            # back, and while the Trio thread is busy that can cost a switch interval (5 ms).
            connection.execute(";\n".join(statements))
        except (duckdb.Error, pa.ArrowException, KeyError, ValueError, TypeError) as error:
            self._rollback()
            raise BatchWriteFailed(
                batch.batch_id, table, f"{type(error).__name__}: {error}"
            ) from error
        return BatchCommitted(
            batch.sink_id, batch.sequence, batch.row_count, time.perf_counter() - started
        )

    def _rollback(self) -> None:
        # When BEGIN itself failed there is nothing to roll back.
        with contextlib.suppress(duckdb.TransactionException):
            self.connection.execute("ROLLBACK")

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file."""
        self.connection.execute("CHECKPOINT")

    def close(self) -> None:
        """Checkpoint and close; a second call does nothing. A failed checkpoint is logged
        and the connection still closed (the write-ahead log keeps the data)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute("CHECKPOINT")
        except duckdb.Error as error:
            log.warning("persistence.writer.checkpoint_failed", path=self.path, error=str(error))
        connection.close()
        log.info("persistence.writer.closed", path=self.path)
