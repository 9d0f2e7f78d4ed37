"""Rows waiting for their batch, on the Trio side of the sink.

Turning a message into its row happens here, as the message arrives (a few microseconds),
so the writer thread only moves data. A message whose amounts cannot be stored exactly
becomes a ``dead_letters`` row (its type, the error and its repr), never a rounded row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from arbitrade.persistence._batch import Batch, TableRows
from arbitrade.persistence._errors import UnrepresentableDecimal
from arbitrade.persistence._rows import Row, mapping_for
from arbitrade.persistence._tables import DEAD_LETTERS

log = structlog.get_logger(__name__)


class RowBuffer:
    """Rows per table in arrival order, with the Trio time the oldest one arrived."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._wall_clock = wall_clock
        self._tables: dict[str, list[Row]] = {}
        self.rows = 0
        """Rows buffered now."""
        self.oldest_at: float | None = None
        """Trio time at which the oldest buffered row arrived (None when empty)."""
        self.dead_letters = 0
        """Messages stored as dead letters since the buffer was made."""
        self.ignored: dict[str, int] = {}
        """Messages of types that are not persisted, by type name."""

    def add(self, message: Any, now: float) -> None:
        """Turn ``message`` into its row and keep it; ``now`` is the Trio time."""
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
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = []
        rows.append(row)
        if self.rows == 0:
            self.oldest_at = now
        self.rows += 1

    def take(self, sink_id: str, sequence: int, limit: int | None = None) -> Batch:
        """Remove up to ``limit`` rows (all when None), oldest first per table, as a batch."""
        budget = self.rows if limit is None else min(limit, self.rows)
        parts: list[TableRows] = []
        taken = 0
        for table, rows in list(self._tables.items()):
            if taken >= budget:
                break
            count = min(len(rows), budget - taken)
            parts.append(TableRows(table, tuple(rows[:count])))
            if count == len(rows):
                del self._tables[table]
            else:
                del rows[:count]
            taken += count
        self.rows -= taken
        if self.rows == 0:
            self.oldest_at = None
        return Batch(sink_id, sequence, tuple(parts))
