"""Archiving moves old audit rows to Parquet, verifies the file, and only then deletes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from arbitrade.persistence import ArchiveError, ArchiveVerificationFailed, open_database
from arbitrade.persistence._archive import (
    Fingerprint,
    archive_audit_events,
    archive_path,
    read_parquet_fingerprint,
)

NOW = 1_790_000_000.0
DAY = 86_400.0


def _database(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    path = tmp_path / "arbitrade.duckdb"
    connection = open_database(path)
    rows = [
        ("risk.accepted", "root/risk", f"old-{n}", "{}", float(n), NOW - 40 * DAY + n)
        for n in range(5)
    ] + [("risk.rejected", "root/risk", "new", "{}", 9.0, NOW - DAY)]
    connection.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?)", rows)
    return connection, path


def _subjects(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute("SELECT subject FROM audit_events ORDER BY rowid").fetchall()
    return [row[0] for row in rows]


class TestArchive:
    def test_archive_when_rows_are_old_moves_them_to_a_verified_parquet_file(
        self, tmp_path: Path
    ) -> None:
        """Old rows land in a zstd Parquet file beside the database and leave the table."""
        connection, path = _database(tmp_path)
        target = archive_path(path, NOW)
        result = archive_audit_events(connection, target, older_than=30 * DAY, now_wall=NOW)
        assert result.path == target
        assert target.parent == path.parent
        assert result.rows == 5
        assert _subjects(connection) == ["new"]
        archived = connection.execute(
            "SELECT subject FROM read_parquet(?) ORDER BY at_monotonic", [str(target)]
        ).fetchall()
        assert [row[0] for row in archived] == [f"old-{n}" for n in range(5)]
        codecs = connection.execute(
            "SELECT DISTINCT compression FROM parquet_metadata(?)", [str(target)]
        ).fetchall()
        assert codecs == [("ZSTD",)]
        assert read_parquet_fingerprint(connection, target).checksum == result.checksum

    def test_archive_when_no_row_is_old_enough_writes_no_file(self, tmp_path: Path) -> None:
        """Nothing to move: no file, no deletion."""
        connection, path = _database(tmp_path)
        target = archive_path(path, NOW)
        result = archive_audit_events(connection, target, older_than=365 * DAY, now_wall=NOW)
        assert (result.path, result.rows) == (None, 0)
        assert not target.exists()
        assert len(_subjects(connection)) == 6

    def test_archive_when_export_fails_deletes_nothing(self, tmp_path: Path) -> None:
        """A file that cannot be written leaves every row in place."""
        connection, _ = _database(tmp_path)
        target = tmp_path / "no-such-folder" / "audit.parquet"
        with pytest.raises(ArchiveError, match="nothing was deleted"):
            archive_audit_events(connection, target, older_than=30 * DAY, now_wall=NOW)
        assert len(_subjects(connection)) == 6
        assert not target.exists()

    def test_archive_when_read_back_differs_deletes_nothing_and_removes_the_file(
        self, tmp_path: Path
    ) -> None:
        """A failed verification keeps the rows and leaves no archive behind."""
        connection, path = _database(tmp_path)
        target = archive_path(path, NOW)

        def corrupted(connection: duckdb.DuckDBPyConnection, file: Path) -> Fingerprint:
            found = read_parquet_fingerprint(connection, file)
            return Fingerprint(found.rows, found.checksum + 1)

        with pytest.raises(ArchiveVerificationFailed, match="checksum"):
            archive_audit_events(
                connection, target, older_than=30 * DAY, now_wall=NOW, read_back=corrupted
            )
        assert len(_subjects(connection)) == 6
        assert list(tmp_path.glob("*.parquet*")) == []

    def test_archive_when_target_exists_refuses(self, tmp_path: Path) -> None:
        """An existing archive is never overwritten."""
        connection, path = _database(tmp_path)
        target = archive_path(path, NOW)
        target.write_bytes(b"keep me")
        with pytest.raises(ArchiveError, match="already exists"):
            archive_audit_events(connection, target, older_than=30 * DAY, now_wall=NOW)
        assert target.read_bytes() == b"keep me"
        assert len(_subjects(connection)) == 6
