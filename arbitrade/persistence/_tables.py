"""The shape of every table the sink writes: column names, SQL types and the Arrow types that
batches are built with.

Decimals travel as text in Arrow batches and are cast to ``DECIMAL(38,18)`` by DuckDB inside
the INSERT (building Arrow decimals from Python ``Decimal`` objects costs about 100 µs per
value with pyarrow 26, text about 0.1 µs). The text is checked for exactness before it is
made (:func:`arbitrade.persistence._exact.decimal_text`), so the cast never rounds.

These definitions describe the *latest* schema; the migrations in ``_schema`` create it. A test
compares both, so they cannot drift apart.
"""

from __future__ import annotations

import attrs
import pyarrow as pa

MONEY = "DECIMAL(38,18)"
"""Every amount, price, quantity, fee and PnL: exact to 18 decimals, 20 integer digits."""

LEG = (
    f"STRUCT(symbol VARCHAR, side VARCHAR, price {MONEY}, qty {MONEY}, "
    "from_asset VARCHAR, to_asset VARCHAR)"
)
BALANCE = f"STRUCT(asset VARCHAR, amount {MONEY})"

_LEG_ARROW = pa.struct(
    [
        ("symbol", pa.string()),
        ("side", pa.string()),
        ("price", pa.string()),
        ("qty", pa.string()),
        ("from_asset", pa.string()),
        ("to_asset", pa.string()),
    ]
)
_BALANCE_ARROW = pa.struct([("asset", pa.string()), ("amount", pa.string())])


@attrs.frozen
class Column:
    """One column: its name, its SQL type, and the Arrow type a batch carries it in."""

    name: str
    sql_type: str
    arrow_type: pa.DataType

    @property
    def select_expression(self) -> str:
        """How the INSERT reads this column from an Arrow batch (with the exact cast)."""
        return f'CAST("{self.name}" AS {self.sql_type}) AS "{self.name}"'


def text(name: str) -> Column:
    """A VARCHAR column."""
    return Column(name, "VARCHAR", pa.string())


def money(name: str) -> Column:
    """A DECIMAL(38,18) column, carried as exact text."""
    return Column(name, MONEY, pa.string())


def real(name: str) -> Column:
    """A DOUBLE column (times in seconds, statistics)."""
    return Column(name, "DOUBLE", pa.float64())


def whole(name: str) -> Column:
    """A BIGINT column."""
    return Column(name, "BIGINT", pa.int64())


def flag(name: str) -> Column:
    """A BOOLEAN column."""
    return Column(name, "BOOLEAN", pa.bool_())


@attrs.frozen
class Table:
    """A table the sink appends to."""

    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in table order."""
        return tuple(column.name for column in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of a batch for this table."""
        return pa.schema([(column.name, column.arrow_type) for column in self.columns])

    def insert_sql(self, source: str) -> str:
        """``INSERT INTO <table> (...) SELECT <casts> FROM <source>``."""
        names = ", ".join(f'"{name}"' for name in self.column_names)
        selects = ", ".join(column.select_expression for column in self.columns)
        return f"INSERT INTO {self.name} ({names}) SELECT {selects} FROM {source}"  # noqa: S608 - names are ours


OPPORTUNITIES = Table(
    "opportunities",
    (
        text("id"),
        text("strategy"),
        text("home"),
        Column("legs", f"{LEG}[]", pa.list_(_LEG_ARROW)),
        money("start_amount"),
        money("end_amount"),
        money("profit"),
        money("profit_bps"),
        Column("book_ages", "DOUBLE[]", pa.list_(pa.float64())),
        real("received_at"),
        real("detected_at"),
        # A stat-arb ClosePosition's opportunity is a row here too (its cycle's orders and
        # fills point at its id); these say which position it closes. '' on every other row.
        text("closes_position"),
        text("close_pair"),
        text("close_reason"),
    ),
)

RISK_DECISIONS = Table(
    "risk_decisions",
    (
        text("opportunity_id"),
        flag("accepted"),
        text("reason"),
        text("detail"),
        real("at_monotonic"),
    ),
)

ORDERS = Table(
    "orders",
    (
        text("cl_ord_id"),
        text("cycle_id"),
        text("symbol"),
        text("side"),
        text("order_type"),
        money("limit_price"),
        money("qty"),
        money("filled_qty"),
        text("state"),
        text("reason"),
        real("at_monotonic"),
        text("venue_order_id"),
    ),
)

FILLS = Table(
    "fills",
    (
        text("exec_id"),
        text("cl_ord_id"),
        text("cycle_id"),
        text("symbol"),
        text("side"),
        money("price"),
        money("qty"),
        money("fee"),
        text("fee_asset"),
        text("liquidity"),
        real("at_monotonic"),
    ),
)

CYCLES = Table(
    "cycles",
    (
        text("cycle_id"),
        text("outcome"),
        text("home"),
        money("pnl"),
        money("unwind_cost"),
        real("at_monotonic"),
    ),
)

PORTFOLIO_SNAPSHOTS = Table(
    "portfolio_snapshots",
    (
        Column("balances", f"{BALANCE}[]", pa.list_(_BALANCE_ARROW)),
        money("realised_pnl_today"),
        money("realised_pnl_total"),
        text("home"),
        real("at_monotonic"),
        real("at_wall"),
    ),
)

AUDIT_EVENTS = Table(
    "audit_events",
    (
        text("kind"),
        text("actor"),
        text("subject"),
        text("detail"),
        real("at_monotonic"),
        real("at_wall"),
    ),
)

SUPERVISOR_EVENTS = Table(
    "supervisor_events",
    (
        text("event"),
        text("path"),
        text("name"),
        real("at_monotonic"),
        text("fields"),
    ),
)

MARKET_FRAMES = Table(
    "market_frames",
    (
        whole("received_wall_ns"),
        whole("received_monotonic_ns"),
        text("connection_id"),
        text("channel"),
        text("payload"),
    ),
)

DEAD_LETTERS = Table(
    "dead_letters",
    (
        text("message_type"),
        text("error"),
        text("message"),
        real("at_wall"),
    ),
)

SINK_TABLES: tuple[Table, ...] = (
    OPPORTUNITIES,
    RISK_DECISIONS,
    ORDERS,
    FILLS,
    CYCLES,
    PORTFOLIO_SNAPSHOTS,
    AUDIT_EVENTS,
    SUPERVISOR_EVENTS,
    MARKET_FRAMES,
    DEAD_LETTERS,
)
"""Every table the sink appends to, by the order batches write them."""

TABLES_BY_NAME = {table.name: table for table in SINK_TABLES}
