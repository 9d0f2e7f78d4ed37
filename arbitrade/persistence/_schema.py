"""Versioned schema migrations, run at start-up by the writer and by ``arbitrade db migrate``.

A migration is a numbered list of SQL statements applied in one transaction together with its
row in ``schema_migrations``: a migration is either wholly applied or not at all, and applying
them twice changes nothing. Released migrations are never edited; a change is a new version.
"""

from __future__ import annotations

import attrs
import duckdb
import structlog

from arbitrade.persistence._errors import SchemaError, SchemaTooNew
from arbitrade.persistence._tables import BALANCE, LEG, MONEY

log = structlog.get_logger(__name__)


@attrs.frozen
class Migration:
    """One schema version: ``statements`` run in order, in one transaction."""

    version: int
    name: str
    statements: tuple[str, ...]


_INITIAL = (
    f"""CREATE TABLE opportunities (
        id VARCHAR NOT NULL, strategy VARCHAR NOT NULL, home VARCHAR NOT NULL,
        legs {LEG}[] NOT NULL,
        start_amount {MONEY} NOT NULL, end_amount {MONEY} NOT NULL,
        profit {MONEY} NOT NULL, profit_bps {MONEY} NOT NULL,
        book_ages DOUBLE[] NOT NULL, received_at DOUBLE NOT NULL, detected_at DOUBLE NOT NULL)""",
    """CREATE TABLE risk_decisions (
        opportunity_id VARCHAR NOT NULL, accepted BOOLEAN NOT NULL, reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL, at_monotonic DOUBLE NOT NULL)""",
    f"""CREATE TABLE orders (
        cl_ord_id VARCHAR NOT NULL, cycle_id VARCHAR NOT NULL, symbol VARCHAR NOT NULL,
        side VARCHAR NOT NULL, order_type VARCHAR NOT NULL, limit_price {MONEY} NOT NULL,
        qty {MONEY} NOT NULL, filled_qty {MONEY} NOT NULL, state VARCHAR NOT NULL,
        reason VARCHAR NOT NULL, at_monotonic DOUBLE NOT NULL, venue_order_id VARCHAR NOT NULL)""",
    f"""CREATE TABLE fills (
        exec_id VARCHAR NOT NULL, cl_ord_id VARCHAR NOT NULL, cycle_id VARCHAR NOT NULL,
        symbol VARCHAR NOT NULL, side VARCHAR NOT NULL, price {MONEY} NOT NULL,
        qty {MONEY} NOT NULL, fee {MONEY} NOT NULL, fee_asset VARCHAR NOT NULL,
        liquidity VARCHAR NOT NULL, at_monotonic DOUBLE NOT NULL)""",
    f"""CREATE TABLE cycles (
        cycle_id VARCHAR NOT NULL, outcome VARCHAR NOT NULL, home VARCHAR NOT NULL,
        pnl {MONEY} NOT NULL, unwind_cost {MONEY} NOT NULL, at_monotonic DOUBLE NOT NULL)""",
    f"""CREATE TABLE portfolio_snapshots (
        balances {BALANCE}[] NOT NULL, realised_pnl_today {MONEY} NOT NULL,
        realised_pnl_total {MONEY} NOT NULL, home VARCHAR NOT NULL,
        at_monotonic DOUBLE NOT NULL, at_wall DOUBLE NOT NULL)""",
    """CREATE TABLE audit_events (
        kind VARCHAR NOT NULL, actor VARCHAR NOT NULL, subject VARCHAR NOT NULL,
        detail VARCHAR NOT NULL, at_monotonic DOUBLE NOT NULL, at_wall DOUBLE NOT NULL)""",
    """CREATE TABLE supervisor_events (
        event VARCHAR NOT NULL, path VARCHAR NOT NULL, name VARCHAR NOT NULL,
        at_monotonic DOUBLE NOT NULL, fields VARCHAR NOT NULL)""",
    """CREATE TABLE backtest_reports (
        report_id VARCHAR NOT NULL, created_at_wall DOUBLE NOT NULL, strategy VARCHAR NOT NULL,
        parameters VARCHAR NOT NULL, metrics VARCHAR NOT NULL, report VARCHAR NOT NULL)""",
    """CREATE TABLE market_frames (
        received_wall_ns BIGINT NOT NULL, received_monotonic_ns BIGINT NOT NULL,
        connection_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, payload VARCHAR NOT NULL)""",
    """CREATE TABLE dead_letters (
        message_type VARCHAR NOT NULL, error VARCHAR NOT NULL, message VARCHAR NOT NULL,
        at_wall DOUBLE NOT NULL)""",
    """CREATE TABLE sink_batches (
        sink_id VARCHAR NOT NULL, sequence BIGINT NOT NULL, row_count BIGINT NOT NULL,
        committed_at_wall DOUBLE NOT NULL)""",
)

_CLOSE_COLUMNS = tuple(
    f"ALTER TABLE opportunities ADD COLUMN {name} VARCHAR DEFAULT ''"
    for name in ("closes_position", "close_pair", "close_reason")
)
"""Version 2: stat-arb closes (ClosePosition) are opportunities rows that name their position."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial tables", _INITIAL),
    Migration(2, "opportunities: stat-arb close columns", _CLOSE_COLUMNS),
)
"""Every migration, oldest first. Append; never edit a released one."""

_CREATE_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"""


def schema_version(connection: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to the database (0 for a new file). Read-only."""
    # fetchall, not fetchone: DuckDB 2 refuses further work while a result is unfinished.
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations' "
        "AND schema_name = 'main' AND database_name = current_database()"
    ).fetchall()
    if not exists[0][0]:
        return 0
    rows = connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    return int(rows[0][0])


def migrate(
    connection: duckdb.DuckDBPyConnection,
    *,
    where: str = "database",
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> tuple[int, ...]:
    """Apply the migrations the database lacks, each in its own transaction.

    Returns the versions applied now (empty when the schema was already current).

    Raises:
        SchemaTooNew: the database has a version newer than the newest in ``migrations``;
            nothing is changed.
        SchemaError: a migration failed; it is rolled back, the earlier ones stay applied.
    """
    versions = [migration.version for migration in migrations]
    if versions != sorted(set(versions)):
        raise SchemaError(f"migration versions must increase strictly, got {versions}")
    connection.execute(_CREATE_LEDGER)
    current = schema_version(connection)
    known = versions[-1] if versions else 0
    if current > known:
        raise SchemaTooNew(where, current, known)
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= current:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            connection.execute("COMMIT")
        except duckdb.Error as error:
            connection.execute("ROLLBACK")
            raise SchemaError(
                f"{where}: migration {migration.version} ({migration.name}) failed and was "
                f"rolled back: {error}"
            ) from error
        log.info(
            "persistence.migrated", where=where, version=migration.version, name=migration.name
        )
        applied.append(migration.version)
    return tuple(applied)
