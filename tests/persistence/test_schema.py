"""Migrations are versioned, run once, and describe the tables the sink writes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from arbitrade.persistence import (
    MIGRATIONS,
    Migration,
    SchemaError,
    SchemaTooNew,
    migrate,
    schema_version,
)
from arbitrade.persistence._tables import SINK_TABLES

EXPECTED_TABLES = {
    "schema_migrations",
    "opportunities",
    "risk_decisions",
    "orders",
    "fills",
    "cycles",
    "portfolio_snapshots",
    "audit_events",
    "supervisor_events",
    "backtest_reports",
    "market_frames",
    "dead_letters",
    "sink_batches",
}


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in connection.execute("SHOW TABLES").fetchall()}


class TestMigrate:
    def test_migrate_when_database_is_new_creates_every_table(self) -> None:
        """A new database gets every table and records each version applied."""
        connection = duckdb.connect()
        applied = migrate(connection)
        assert applied == tuple(m.version for m in MIGRATIONS)
        assert _tables(connection) == EXPECTED_TABLES
        assert schema_version(connection) == MIGRATIONS[-1].version

    def test_migrate_when_run_twice_changes_nothing(self, tmp_path: Path) -> None:
        """The second run, even after reopening the file, applies nothing."""
        path = tmp_path / "db.duckdb"
        with duckdb.connect(str(path)) as connection:
            migrate(connection)
            connection.execute("INSERT INTO cycles VALUES ('c', 'completed', 'USD', 1.5, 0, 1.0)")
        with duckdb.connect(str(path)) as connection:
            assert migrate(connection) == ()
            versions = connection.execute("SELECT count(*) FROM schema_migrations").fetchall()
            assert versions == [(len(MIGRATIONS),)]
            assert connection.execute("SELECT count(*) FROM cycles").fetchall() == [(1,)]

    def test_migrate_when_a_new_version_appears_applies_only_it(self) -> None:
        """A later migration runs on a database at the previous version."""
        connection = duckdb.connect()
        migrate(connection)
        later = Migration(MIGRATIONS[-1].version + 1, "notes", ("CREATE TABLE notes (x INTEGER)",))
        assert migrate(connection, migrations=(*MIGRATIONS, later)) == (later.version,)
        assert "notes" in _tables(connection)

    def test_migrate_when_version_1_holds_opportunities_adds_empty_close_columns(self) -> None:
        """Version 2 gives existing opportunities rows '' in the stat-arb close columns."""
        connection = duckdb.connect()
        migrate(connection, migrations=MIGRATIONS[:1])
        connection.execute(
            "INSERT INTO opportunities VALUES "
            "('o1', 'triangular', 'USD', [], 1, 1, 0, 0, [], 1.0, 1.0)"
        )
        assert migrate(connection) == (2,)
        rows = connection.execute(
            "SELECT id, closes_position, close_pair, close_reason FROM opportunities"
        ).fetchall()
        assert rows == [("o1", "", "", "")]

    def test_migrate_when_database_is_newer_refuses(self) -> None:
        """A database migrated by newer code is left untouched."""
        connection = duckdb.connect()
        later = Migration(MIGRATIONS[-1].version + 1, "notes", ("CREATE TABLE notes (x INTEGER)",))
        migrate(connection, migrations=(*MIGRATIONS, later))
        with pytest.raises(SchemaTooNew, match="newer than this code"):
            migrate(connection)

    def test_migrate_when_a_statement_fails_rolls_that_migration_back(self) -> None:
        """A failing migration leaves no table and no version row behind."""
        connection = duckdb.connect()
        migrate(connection)
        broken = Migration(
            MIGRATIONS[-1].version + 1,
            "broken",
            ("CREATE TABLE half (x INTEGER)", "CREATE TABLE oops (x NOSUCHTYPE)"),
        )
        with pytest.raises(SchemaError, match="broken"):
            migrate(connection, migrations=(*MIGRATIONS, broken))
        assert "half" not in _tables(connection)
        assert schema_version(connection) == MIGRATIONS[-1].version

    def test_migrate_when_versions_do_not_increase_refuses(self) -> None:
        """Migrations must be numbered strictly upwards."""
        twice = (MIGRATIONS[0], MIGRATIONS[0])
        with pytest.raises(SchemaError, match="increase"):
            migrate(duckdb.connect(), migrations=twice)


class TestTableDefinitions:
    @pytest.mark.parametrize("table", SINK_TABLES, ids=lambda t: t.name)
    def test_definition_when_compared_with_migrated_schema_matches(self, table: object) -> None:
        """The sink's column list and types equal what the migrations created."""
        from arbitrade.persistence._tables import Table

        assert isinstance(table, Table)
        connection = duckdb.connect()
        migrate(connection)
        described = connection.execute(f"DESCRIBE {table.name}").fetchall()
        actual = [(row[0], row[1]) for row in described]
        expected = [(c.name, c.sql_type) for c in table.columns]
        assert actual == expected
