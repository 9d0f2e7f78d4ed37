"""``arbitrade db ...`` commands, run through the real command line entry point."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import pytest

from arbitrade.cli import main
from arbitrade.cli._db import parse_duration
from arbitrade.persistence import MIGRATIONS, open_database

DAY = 86_400.0


def _seed(path: Path) -> None:
    now = time.time()
    with open_database(path) as connection:
        connection.executemany(
            "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("risk.accepted", "root/risk", "old", "{}", 1.0, now - 40 * DAY),
                ("risk.accepted", "root/risk", "new", "{}", 2.0, now - 1 * DAY),
            ],
        )


def _subjects(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute("SELECT subject FROM audit_events ORDER BY rowid").fetchall()
    return [row[0] for row in rows]


class TestDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"), [("30d", 30 * DAY), ("12h", 43_200), ("90m", 5400), ("2w", 14 * DAY)]
    )
    def test_parse_when_unit_is_known_returns_seconds(self, text: str, seconds: float) -> None:
        """Durations are a whole number and a unit."""
        assert parse_duration(text) == seconds

    def test_parse_when_unit_is_missing_says_what_it_expects(self) -> None:
        """A bare number is refused with an example of the format."""
        with pytest.raises(argparse.ArgumentTypeError, match="like 30d"):
            parse_duration("30")


class TestCommands:
    def test_migrate_when_file_is_new_creates_it_at_the_latest_version(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """db migrate creates and migrates the file, and says the version."""
        path = tmp_path / "data" / "arbitrade.duckdb"
        assert main(["db", "migrate", "--db", str(path)]) == 0
        assert f"schema version {MIGRATIONS[-1].version}" in capsys.readouterr().out
        assert main(["db", "migrate", "--db", str(path)]) == 0

    def test_archive_when_rows_are_old_moves_them_and_reports_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """db archive --older-than 30d moves only the old row to a Parquet file."""
        path = tmp_path / "arbitrade.duckdb"
        _seed(path)
        assert main(["db", "archive", "--older-than", "30d", "--db", str(path)]) == 0
        assert "archived 1 audit rows" in capsys.readouterr().out
        assert _subjects(path) == ["new"]
        (archive,) = tmp_path.glob("arbitrade.audit_events.*.parquet")
        with duckdb.connect() as connection:
            rows = connection.execute("SELECT subject FROM read_parquet(?)", [str(archive)])
            assert rows.fetchall() == [("old",)]

    def test_maintain_then_restore_when_run_brings_back_the_backed_up_rows(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A maintain backup restores the database as it was after archiving."""
        path = tmp_path / "arbitrade.duckdb"
        _seed(path)
        assert main(["db", "maintain", "--older-than", "30d", "--db", str(path)]) == 0
        (backup,) = (tmp_path / "backups").glob("*.duckdb")
        with open_database(path) as connection:
            connection.execute("DELETE FROM audit_events")
        assert main(["db", "restore", str(backup), "--db", str(path)]) == 0
        assert _subjects(path) == ["new"]
        assert "previous file is kept" in capsys.readouterr().out
        assert list(tmp_path.glob("arbitrade.duckdb.before-restore-*"))

    def test_restore_when_backup_is_missing_changes_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A missing backup is refused before the database is touched."""
        path = tmp_path / "arbitrade.duckdb"
        _seed(path)
        assert main(["db", "restore", str(tmp_path / "nope.duckdb"), "--db", str(path)]) == 1
        assert "does not exist" in capsys.readouterr().err
        assert _subjects(path) == ["old", "new"]
