"""The unit of work between the sink (Trio side) and the writer (its own thread)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from arbitrade.persistence._arrow import decode_chunks, encode_rows
from arbitrade.persistence._tables import TABLES_BY_NAME


@attrs.frozen
class TableRows:
    """Rows for one table as Arrow IPC chunks (immutable bytes, cheap to hand to a thread)."""

    table: str
    chunks: tuple[bytes, ...]
    row_count: int

    @classmethod
    def from_rows(cls, table: str, rows: Sequence[tuple[Any, ...]]) -> TableRows:
        """Encode ``rows`` (tuples in the table's column order) as one chunk.

        Raises:
            KeyError: ``table`` is not a sink table.
            pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a value does not fit its column.
        """
        if not rows:
            return cls(table, (), 0)
        return cls(table, (encode_rows(TABLES_BY_NAME[table], rows),), len(rows))

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows decoded again (for tests and debugging; Decimals are still text)."""
        arrow = decode_chunks(TABLES_BY_NAME[self.table], self.chunks)
        columns = [column.to_pylist() for column in arrow.columns]
        return [tuple(row) for row in zip(*columns, strict=True)] if columns else []


@attrs.frozen
class Batch:
    """Rows for several tables, committed in one transaction or not at all.

    ``(sink_id, sequence)`` names the batch uniquely: ``sink_id`` is fresh for every sink
    incarnation and ``sequence`` counts its batches from 1. ``retry`` is true when the batch
    was offered before and may already be committed (the writer then checks
    ``sink_batches`` first, so a retry never doubles rows).
    """

    sink_id: str
    sequence: int
    tables: tuple[TableRows, ...]
    retry: bool = False

    @property
    def batch_id(self) -> str:
        """``<sink_id>:<sequence>``, as logs and errors print it."""
        return f"{self.sink_id}:{self.sequence}"

    @property
    def row_count(self) -> int:
        """Rows over all tables."""
        return sum(table.row_count for table in self.tables)


@attrs.frozen
class BatchCommitted:
    """The writer's reply: the batch is durable in the database."""

    sink_id: str
    sequence: int
    row_count: int
    seconds: float
    """Time spent in the writer thread on this batch."""
    already_committed: bool = False
    """True when a retried batch had been committed before (nothing was written now)."""
