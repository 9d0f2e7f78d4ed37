"""Reading the bot's DuckDB file after a run (or after a kill): counts, batches, money.

Every function opens the file read-only and closes it again; none writes.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import attrs
import duckdb

from arbitrade.execution import fill_flows
from arbitrade.messages import Fill, Side
from arbitrade.persistence import MIGRATIONS, schema_version
from arbitrade.persistence._tables import SINK_TABLES


def table_counts(path: Path) -> dict[str, int]:
    """Rows per sink table.

    Raises:
        duckdb.Error: the file cannot be opened (locked, corrupt).
    """
    with duckdb.connect(str(path), read_only=True) as connection:
        return {table.name: _count(connection, table.name) for table in SINK_TABLES}


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    query = f"SELECT count(*) FROM {table}"  # noqa: S608 - our own table names
    return int(connection.execute(query).fetchall()[0][0])


@attrs.frozen
class Consistency:
    """What a reopened database holds, and whether it is whole."""

    schema_version: int
    migrations_intact: bool
    batches: int
    batch_rows: int
    """Rows the committed batches say they wrote (``sink_batches.row_count``)."""
    table_rows: int
    """Rows in the sink tables."""
    client_order_ids: frozenset[str]
    repeated_client_order_ids: tuple[str, ...]
    """Ids whose first ('pending') row appears more than once, or under two cycles."""

    @property
    def batches_whole(self) -> bool:
        """Every committed batch is there, and nothing besides them."""
        return self.batch_rows == self.table_rows


def consistency(path: Path) -> Consistency:
    """Open the file read-only and check it (see :class:`Consistency`).

    Raises:
        duckdb.Error: the file does not open.
    """
    with duckdb.connect(str(path), read_only=True) as connection:
        version = schema_version(connection)
        applied = {
            int(v)
            for (v,) in connection.execute("SELECT version FROM schema_migrations").fetchall()
        }
        batches, batch_rows = connection.execute(
            "SELECT count(*), coalesce(sum(row_count), 0) FROM sink_batches"
        ).fetchall()[0]
        table_rows = sum(_count(connection, t.name) for t in SINK_TABLES)
        first_rows = connection.execute(
            "SELECT cl_ord_id, cycle_id FROM orders WHERE state = 'pending'"
        ).fetchall()
        ids = connection.execute("SELECT DISTINCT cl_ord_id FROM orders").fetchall()
    return Consistency(
        schema_version=version,
        migrations_intact=applied == {m.version for m in MIGRATIONS},
        batches=int(batches),
        batch_rows=int(batch_rows),
        table_rows=table_rows,
        client_order_ids=frozenset(str(i) for (i,) in ids),
        repeated_client_order_ids=repeated_ids(first_rows),
    )


def repeated_ids(first_rows: list[tuple[str, str]]) -> tuple[str, ...]:
    """Client order ids announced (state pending) more than once or under two cycles."""
    counts = collections.Counter(cl for cl, _ in first_rows)
    cycles: dict[str, set[str]] = collections.defaultdict(set)
    for cl, cycle in first_rows:
        cycles[cl].add(cycle)
    return tuple(sorted(cl for cl, n in counts.items() if n > 1 or len(cycles[cl]) > 1))


@attrs.frozen
class Money:
    """What DuckDB says was traded and earned."""

    fills: int
    cycles: int
    cycles_pnl: Decimal
    fill_flows: Mapping[str, Decimal]
    realised_pnl_first: Decimal | None
    realised_pnl_last: Decimal | None


def money(path: Path) -> Money:
    """Fills, cycles and the first and last portfolio snapshot's realised PnL."""
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT exec_id, cl_ord_id, cycle_id, symbol, side, price, qty, fee, fee_asset, "
            "liquidity, at_monotonic FROM fills ORDER BY rowid"
        ).fetchall()
        cycles = connection.execute(
            "SELECT count(*), coalesce(sum(pnl), 0) FROM cycles"
        ).fetchall()[0]
        snapshots = connection.execute(
            "SELECT realised_pnl_total FROM portfolio_snapshots ORDER BY at_monotonic"
        ).fetchall()
    fills = [
        Fill(
            exec_id=r[0],
            cl_ord_id=r[1],
            cycle_id=r[2],
            symbol=r[3],
            side=Side(r[4]),
            price=Decimal(r[5]),
            qty=Decimal(r[6]),
            fee=Decimal(r[7]),
            fee_asset=r[8],
            liquidity=r[9],
            at=r[10],
        )
        for r in rows
    ]
    return Money(
        fills=len(fills),
        cycles=int(cycles[0]),
        cycles_pnl=Decimal(cycles[1]),
        fill_flows={a: v.normalize() for a, v in fill_flows(fills).items() if v},
        realised_pnl_first=Decimal(snapshots[0][0]) if snapshots else None,
        realised_pnl_last=Decimal(snapshots[-1][0]) if snapshots else None,
    )
