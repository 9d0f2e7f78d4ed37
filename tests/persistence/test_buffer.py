"""The Trio-side buffer: rows per table in order, encoded in chunks, taken as one batch."""

from __future__ import annotations

from arbitrade.messages import AuditEvent
from arbitrade.persistence._buffer import RowBuffer


def _audit(number: int) -> AuditEvent:
    return AuditEvent("k", "a", f"s-{number}", "{}", float(number), 0.0)


class TestRowBuffer:
    def test_take_when_rows_span_several_chunks_returns_them_all_in_order(self) -> None:
        """Chunking is invisible: every row comes back, in arrival order."""
        buffer = RowBuffer(chunk_rows=4)
        for number in range(10):
            buffer.add(_audit(number), now=float(number))
        batch = buffer.take("sink", 7)
        (part,) = batch.tables
        assert (part.table, part.row_count, len(part.chunks)) == ("audit_events", 10, 3)
        assert [row[2] for row in part.rows()] == [f"s-{n}" for n in range(10)]
        assert (batch.batch_id, batch.row_count) == ("sink:7", 10)

    def test_take_when_done_empties_the_buffer(self) -> None:
        """After take the buffer is empty and has no oldest row."""
        buffer = RowBuffer()
        buffer.add(_audit(1), now=5.0)
        assert (buffer.rows, buffer.oldest_at) == (1, 5.0)
        buffer.take("sink", 1)
        assert (buffer.rows, buffer.oldest_at) == (0, None)
        assert buffer.take("sink", 2).tables == ()
