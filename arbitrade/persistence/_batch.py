"""The unit of work between the sink (Trio side) and the writer (its own thread)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class TableRows:
    """Rows for one table, each a tuple in the table's column order."""

    table: str
    rows: tuple[tuple[Any, ...], ...]


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
        return sum(len(table.rows) for table in self.tables)


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
