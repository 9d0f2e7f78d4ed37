"""An independent ledger over a finished run's DuckDB file: PnL recomputed from the fills.

Nothing here imports the executor or the portfolio: each cycle's realised PnL is recomputed
from the ``fills`` table alone (plus the cycle's ``opportunities`` row for reference prices)
with exact Decimal arithmetic, by the rule the executor documents and nothing more:

* every fill moves its base and quote (a buy adds base and spends ``qty * price`` quote, a
  sell the reverse) and takes ``fee`` of ``fee_asset``;
* home currency counts as it is; any other asset the cycle leaves behind is valued at its
  reference price: the volume-weighted price of the cycle's *leg* fills on ``ASSET/HOME``,
  else the price implied by walking the opportunity's legs from home (fees left out).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import duckdb

ZERO = Decimal(0)


@attrs.frozen
class FillRow:
    """One row of ``fills``."""

    exec_id: str
    cl_ord_id: str
    cycle_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    at: float


def leg_order_ids(cycle_id: str, legs: int) -> set[str]:
    """The client order ids of a cycle's legs, by the documented scheme (BLAKE2b-128 of
    ``arbitrade.cl_ord_id.v1/<cycle>/leg/<index>`` laid out as a UUID): unwinds have others."""
    ids = set()
    for index in range(legs):
        digest = hashlib.blake2b(
            f"arbitrade.cl_ord_id.v1/{cycle_id}/leg/{index}".encode(), digest_size=16
        ).hexdigest()
        variant = "89ab"[int(digest[16], 16) & 3]
        ids.add(
            f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:]}"
        )
    return ids


@attrs.frozen
class LegRow:
    """One leg of a stored opportunity."""

    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    from_asset: str
    to_asset: str


def split(symbol: str) -> tuple[str, str]:
    """``BTC/USD`` -> ``("BTC", "USD")``."""
    base, _, quote = symbol.partition("/")
    return base, quote


def flows(fills: Iterable[FillRow]) -> dict[str, Decimal]:
    """Net movement of every asset over ``fills``, fees included."""
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        base, quote = split(fill.symbol)
        cost = fill.qty * fill.price
        if fill.side == "buy":
            moved[base] += fill.qty
            moved[quote] -= cost
        else:
            moved[base] -= fill.qty
            moved[quote] += cost
        moved[fill.fee_asset] -= fill.fee
    return dict(moved)


def implied_values(home: str, legs: Iterable[LegRow]) -> dict[str, Decimal]:
    """One unit of each asset in home currency, at the legs' own prices (fees left out)."""
    legs = list(legs)
    values = {home: Decimal(1)}
    for _ in legs:
        for leg in legs:
            base, quote = split(leg.symbol)
            if leg.price <= 0:
                continue
            if quote in values and base not in values:
                values[base] = values[quote] * leg.price
            elif base in values and quote not in values:
                values[quote] = values[base] / leg.price
    return values


def reference_prices(
    home: str, fills: Iterable[FillRow], legs: list[LegRow], leg_ids: set[str]
) -> dict[str, Decimal]:
    """Home value of each asset: VWAP of the cycle's leg fills on ``ASSET/HOME``, else implied."""
    references = implied_values(home, legs)
    quantity: dict[str, Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        base, quote = split(fill.symbol)
        if fill.cl_ord_id in leg_ids and quote == home:
            quantity[base] += fill.qty
            cost[base] += fill.qty * fill.price
    for asset, qty in quantity.items():
        if qty > 0:
            references[asset] = cost[asset] / qty
    return references


def cycle_pnl(cycle_id: str, home: str, fills: list[FillRow], legs: list[LegRow]) -> Decimal:
    """A cycle's realised PnL in ``home``, recomputed from its fills."""
    references = reference_prices(home, fills, legs, leg_order_ids(cycle_id, len(legs)))
    pnl = ZERO
    for asset, amount in flows(fills).items():
        if asset == home:
            pnl += amount
        elif asset in references:
            pnl += amount * references[asset]
    return pnl


@attrs.frozen
class Stored:
    """What a run left in its database, read back with plain SQL."""

    fills: list[FillRow]
    legs: dict[str, list[LegRow]]
    """Opportunity id -> its legs."""
    cycles: list[tuple[str, str, str, Decimal, float]]
    """(cycle_id, outcome, home, pnl, at) per finished cycle."""
    counts: dict[str, int]
    """Rows per table."""

    def fills_of(self, cycle_id: str) -> list[FillRow]:
        return [fill for fill in self.fills if fill.cycle_id == cycle_id]


TABLES = (
    "opportunities",
    "risk_decisions",
    "orders",
    "fills",
    "cycles",
    "portfolio_snapshots",
    "audit_events",
    "supervisor_events",
    "schema_migrations",
)


def read_store(connection: duckdb.DuckDBPyConnection) -> Stored:
    """Read fills, opportunity legs, cycles and row counts."""
    fills = [
        FillRow(*row)
        for row in connection.execute(
            "SELECT exec_id, cl_ord_id, cycle_id, symbol, side, price, qty, fee, fee_asset,"
            " at_monotonic FROM fills ORDER BY rowid"
        ).fetchall()
    ]
    legs: dict[str, list[LegRow]] = {}
    for opportunity_id, stored_legs in connection.execute(
        "SELECT id, legs FROM opportunities"
    ).fetchall():
        legs[opportunity_id] = [LegRow(**leg) for leg in stored_legs]
    cycles = [
        (str(a), str(b), str(c), Decimal(d), float(e))
        for a, b, c, d, e in connection.execute(
            "SELECT cycle_id, outcome, home, pnl, at_monotonic FROM cycles ORDER BY rowid"
        ).fetchall()
    ]
    counts = {
        table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        for table in TABLES
    }
    return Stored(fills, legs, cycles, counts)


def table_rows(path: Path, table: str, *, leave_out: Iterable[str] = ()) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in write order, without the columns in ``leave_out``."""
    with duckdb.connect(str(path), read_only=True) as connection:
        columns = [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                " ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if name not in set(leave_out)
        ]
        select = ", ".join(f'"{name}"' for name in columns)
        return connection.execute(f"SELECT {select} FROM {table} ORDER BY rowid").fetchall()
