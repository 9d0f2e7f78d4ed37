"""Rows waiting for their batch, on the Trio side of the sink.

Turning a message into its row, and rows into Arrow, happens here as messages arrive (a few
microseconds each), so the writer thread only hands ready Arrow data to DuckDB. A message
whose amounts cannot be stored exactly becomes a ``dead_letters`` row (its type, the error
and its repr), never a rounded row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from arbitrade.persistence._arrow import encode_rows
from arbitrade.persistence._batch import Batch, TableRows
from arbitrade.persistence._errors import UnrepresentableDecimal
from arbitrade.persistence._rows import Row, mapping_for
from arbitrade.persistence._tables import DEAD_LETTERS, TABLES_BY_NAME

log = structlog.get_logger(__name__)


class RowBuffer:
    """Rows per table in arrival order, encoded to Arrow every ``chunk_rows`` rows, with the
    Trio time the oldest one arrived.

    Encoding a chunk takes about a microsecond per row on the caller's thread (the Trio
    loop): ``chunk_rows`` bounds that pause (128 rows: about a tenth of a millisecond).
    """

    def __init__(
        self, wall_clock: Callable[[], float] = time.time, *, chunk_rows: int = 128
    ) -> None:
        self._wall_clock = wall_clock
        self._chunk_rows = chunk_rows
        self._pending: dict[str, list[Row]] = {}
        self._chunks: dict[str, list[bytes]] = {}
        self._counts: dict[str, int] = {}
        self.rows = 0
        """Rows buffered now."""
        self.oldest_at: float | None = None
        """Trio time at which the oldest buffered row arrived (None when empty)."""
        self.dead_letters = 0
        """Messages stored as dead letters since the buffer was made."""
        self.ignored: dict[str, int] = {}
        """Messages of types that are not persisted, by type name."""

    def add(self, message: Any, now: float) -> None:
        """Turn ``message`` into its row and keep it; ``now`` is the Trio time.

        Raises:
            pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a row function produced a value
                that does not fit its column (a bug in the registry, not bad data).
        """
        mapping = mapping_for(type(message))
        if mapping is None:
            name = type(message).__name__
            if name not in self.ignored:
                log.warning("persistence.sink.unmapped_type", message_type=name)
            self.ignored[name] = self.ignored.get(name, 0) + 1
            return
        try:
            row = mapping.to_row(message)
            table = mapping.table.name
        except UnrepresentableDecimal as error:
            log.error(
                "persistence.sink.dead_letter",
                message_type=type(message).__name__,
                error=str(error),
            )
            row = (type(message).__name__, str(error), repr(message), self._wall_clock())
            table = DEAD_LETTERS.name
            self.dead_letters += 1
        pending = self._pending.get(table)
        if pending is None:
            pending = self._pending[table] = []
            self._chunks[table] = []
            self._counts[table] = 0
        pending.append(row)
        self._counts[table] += 1
        if self.rows == 0:
            self.oldest_at = now
        self.rows += 1
        if len(pending) >= self._chunk_rows:
            self._encode(table)

    def _encode(self, table: str) -> None:
        pending = self._pending[table]
        if pending:
            self._chunks[table].append(encode_rows(TABLES_BY_NAME[table], pending))
            self._pending[table] = []

    def take(self, sink_id: str, sequence: int) -> Batch:
        """Remove every buffered row as one batch (tables in first-arrival order)."""
        parts: list[TableRows] = []
        for table in self._pending:
            self._encode(table)
            parts.append(TableRows(table, tuple(self._chunks[table]), self._counts[table]))
        self._pending.clear()
        self._chunks.clear()
        self._counts.clear()
        self.rows = 0
        self.oldest_at = None
        return Batch(sink_id, sequence, tuple(parts))
