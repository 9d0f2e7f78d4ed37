"""The writer commits a batch wholly or not at all, and never twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.persistence import Batch, BatchWriteFailed, DuckDBWriter, TableRows


def _audit_rows(count: int) -> TableRows:
    rows = [("k", "a", f"s-{n}", "{}", float(n), 0.0) for n in range(count)]
    return TableRows.from_rows("audit_events", rows)


def _count(writer: DuckDBWriter, table: str) -> int:
    return int(writer.connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


@pytest.fixture
def writer(tmp_path: Path) -> DuckDBWriter:
    opened = DuckDBWriter(tmp_path / "db.duckdb")
    opened.open()
    return opened


class TestWrite:
    def test_write_when_a_later_table_fails_keeps_nothing_of_the_batch(
        self, writer: DuckDBWriter
    ) -> None:
        """One transaction: a bad cycles row rolls back the audit rows before it."""
        bad = TableRows.from_rows("cycles", [("c", "completed", "USD", "not a number", "0", 1.0)])
        with pytest.raises(BatchWriteFailed, match="pnl"):
            writer.write(Batch("sink", 1, (_audit_rows(3), bad)))
        assert (_count(writer, "audit_events"), _count(writer, "sink_batches")) == (0, 0)
        writer.write(Batch("sink", 2, (_audit_rows(2),)))
        assert _count(writer, "audit_events") == 2

    def test_write_when_a_committed_batch_is_retried_does_not_double_it(
        self, writer: DuckDBWriter
    ) -> None:
        """A retry of a committed batch is recognised and skipped."""
        batch = Batch("sink", 1, (_audit_rows(3),))
        writer.write(batch)
        again = writer.write(Batch("sink", 1, batch.tables, retry=True))
        assert again.already_committed
        assert _count(writer, "audit_events") == 3

    def test_close_when_reopened_finds_every_row(self, tmp_path: Path) -> None:
        """A clean close checkpoints; the next open sees everything."""
        path = tmp_path / "db.duckdb"
        first = DuckDBWriter(path)
        first.open()
        first.write(Batch("sink", 1, (_audit_rows(5),)))
        first.close()
        first.close()  # a second close does nothing
        second = DuckDBWriter(path)
        second.open()
        assert _count(second, "audit_events") == 5
        second.close()


def _memory_limit(writer: DuckDBWriter) -> str:
    """DuckDB's memory_limit as it reports it, on the opened (then closed) writer."""
    writer.open()
    try:
        row = writer.connection.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"
        ).fetchone()
    finally:
        writer.close()
    return str(row[0]) if row else ""


class TestMemory:
    def test_open_when_default_bounds_duckdb_buffer_pool(self, tmp_path: Path) -> None:
        """The writer's connection caps DuckDB's buffer pool (default 64 MB, DuckDB reports
        MiB) instead of DuckDB's 80 % of the machine's RAM, so the RSS plateaus."""
        assert _memory_limit(DuckDBWriter(tmp_path / "a.duckdb")) == "61.0 MiB"

    def test_open_when_limit_given_uses_it(self, tmp_path: Path) -> None:
        """A caller's limit replaces the default."""
        writer = DuckDBWriter(tmp_path / "a.duckdb", memory_limit="128MB")
        assert _memory_limit(writer) == "122.0 MiB"
