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
from arbitrade.execution.portfolio import PositionLedger, is_position_cycle
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
    """The realised PnL the portfolio must have booked: :attr:`cycle_pnl` plus
    :attr:`position_pnl`."""
    fill_flows: Mapping[str, Decimal]
    realised_pnl_first: Decimal | None
    realised_pnl_last: Decimal | None
    cycle_pnl: Decimal = Decimal(0)
    """The executor's PnL of ordinary (triangular) cycles, from the ``cycles`` table."""
    position_pnl: Decimal = Decimal(0)
    """Stat-arb position cycles that finished, valued at average cost from their fills."""
    position_cycles: int = 0


def position_pnl(
    fills: list[Fill], finished: Mapping[str, Decimal], home: str
) -> tuple[Decimal, int]:
    """Realised PnL of the finished position cycles and how many there were, as the
    portfolio books them: their fills, in order, through a :class:`PositionLedger` (average
    cost, fees realised when paid). A finished cycle with a fill the ledger cannot value
    counts its executor PnL (``finished``), as the portfolio does; fills of cycles not
    finished are pending, not realised."""
    ledger = PositionLedger(home)
    by_cycle: dict[str, Decimal] = {}
    unvalued: set[str] = set()
    seen: set[str] = set()
    for fill in fills:
        if fill.exec_id in seen or not is_position_cycle(fill.cycle_id):
            continue
        seen.add(fill.exec_id)
        if not ledger.values(fill):
            unvalued.add(fill.cycle_id)
            continue
        by_cycle[fill.cycle_id] = by_cycle.get(fill.cycle_id, Decimal(0)) + ledger.apply(fill)
    cycles = [c for c in finished if is_position_cycle(c)]
    total = sum(
        (finished[c] if c in unvalued else by_cycle.get(c, Decimal(0)) for c in cycles),
        Decimal(0),
    )
    return total, len(cycles)


def money(path: Path, home: str = "USD") -> Money:
    """Fills, cycles (ordinary and position), and the first and last portfolio snapshot's
    realised PnL; ``home`` is the currency positions are valued in."""
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT exec_id, cl_ord_id, cycle_id, symbol, side, price, qty, fee, fee_asset, "
            "liquidity, at_monotonic FROM fills ORDER BY rowid"
        ).fetchall()
        cycle_rows = connection.execute("SELECT cycle_id, pnl FROM cycles").fetchall()
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
    finished = {str(c): Decimal(pnl) for c, pnl in cycle_rows}
    ordinary = sum((v for c, v in finished.items() if not is_position_cycle(c)), Decimal(0))
    positions, position_cycles = position_pnl(fills, finished, home)
    return Money(
        fills=len(fills),
        cycles=len(cycle_rows),
        cycles_pnl=ordinary + positions,
        cycle_pnl=ordinary,
        position_pnl=positions,
        position_cycles=position_cycles,
        fill_flows={a: v.normalize() for a, v in fill_flows(fills).items() if v},
        realised_pnl_first=Decimal(snapshots[0][0]) if snapshots else None,
        realised_pnl_last=Decimal(snapshots[-1][0]) if snapshots else None,
    )
