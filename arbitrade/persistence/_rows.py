"""Which message goes to which table, as which row: one registry entry per persisted type.

Adding a persisted type is one :class:`RowMapping` in ``_MAPPINGS``: the table it goes to, a
function from message to row (a tuple in the table's column order, Decimals as exact text) and
one from a row read back to the message. Row functions run on the Trio side for every message,
so they stay plain attribute reads.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import orjson

from actors import (
    ChildCrashed,
    ChildRestarted,
    ChildStarted,
    ChildStopped,
    SupervisorEscalated,
    SupervisorEvent,
)
from arbitrade.messages import (
    AuditEvent,
    CycleFinished,
    Fill,
    Leg,
    Opportunity,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    Side,
)
from arbitrade.persistence._exact import decimal_text
from arbitrade.persistence._frames import RecordedFrame
from arbitrade.persistence._tables import (
    AUDIT_EVENTS,
    CYCLES,
    FILLS,
    MARKET_FRAMES,
    OPPORTUNITIES,
    ORDERS,
    PORTFOLIO_SNAPSHOTS,
    RISK_DECISIONS,
    SUPERVISOR_EVENTS,
    Table,
)
from arbitrade.strategy._stat_messages import ClosePosition

type Row = tuple[Any, ...]


@attrs.frozen
class RowMapping[M]:
    """How one message type is stored.

    Attributes:
        message_type: The type (subclasses are found through it too).
        table: The table its rows go to.
        to_row: Message to row, in ``table``'s column order. Raises
            ``UnrepresentableDecimal`` for an amount that does not fit exactly.
        select: SQL that reads the rows back, in insertion order, shaped for ``from_row``.
        from_row: A row of ``select`` back to the message (equal to the one stored).
    """

    message_type: type[M]
    table: Table
    to_row: Callable[[M], Row]
    select: str
    from_row: Callable[[Row], M]


def _select_all(table: Table, where: str = "") -> str:
    names = ", ".join(table.column_names)
    return f"SELECT {names} FROM {table.name} {where} ORDER BY rowid"  # noqa: S608 - names are ours


# --- opportunities ----------------------------------------------------------------------------
def _opportunity_row(o: Opportunity) -> Row:
    legs = tuple(
        (
            leg.symbol,
            leg.side.value,
            decimal_text(leg.price, "Leg.price"),
            decimal_text(leg.qty, "Leg.qty"),
            leg.from_asset,
            leg.to_asset,
        )
        for leg in o.legs
    )
    return (
        o.id,
        o.strategy,
        o.home,
        legs,
        decimal_text(o.start_amount, "Opportunity.start_amount"),
        decimal_text(o.end_amount, "Opportunity.end_amount"),
        decimal_text(o.profit, "Opportunity.profit"),
        decimal_text(o.profit_bps, "Opportunity.profit_bps"),
        o.book_ages,
        o.received_at,
        o.detected_at,
        "",
        "",
        "",
    )


def _close_row(c: ClosePosition) -> Row:
    return (*_opportunity_row(c.opportunity)[:-3], c.position_id, c.pair, c.reason)


def _close_from_row(row: Row) -> ClosePosition:
    return ClosePosition(
        opportunity=_opportunity_from_row(row), pair=row[12], position_id=row[11], reason=row[13]
    )


def _opportunity_from_row(row: Row) -> Opportunity:
    legs = tuple(
        Leg(
            symbol=leg["symbol"],
            side=Side(leg["side"]),
            price=leg["price"],
            qty=leg["qty"],
            from_asset=leg["from_asset"],
            to_asset=leg["to_asset"],
        )
        for leg in row[3]
    )
    return Opportunity(
        id=row[0],
        strategy=row[1],
        home=row[2],
        legs=legs,
        start_amount=row[4],
        end_amount=row[5],
        profit=row[6],
        profit_bps=row[7],
        book_ages=tuple(row[8]),
        received_at=row[9],
        detected_at=row[10],
    )


# --- risk decisions ---------------------------------------------------------------------------
def _accepted_row(decision: RiskAccepted) -> Row:
    return (decision.opportunity.id, True, "accepted", "", decision.at)


def _accepted_from_row(row: Row) -> RiskAccepted:
    return RiskAccepted(opportunity=_opportunity_from_row(row[:-1]), at=row[-1])


_OPPORTUNITY_COLUMNS = ", ".join(f"o.{name}" for name in OPPORTUNITIES.column_names)
_SELECT_ACCEPTED = (
    f"SELECT {_OPPORTUNITY_COLUMNS}, d.at_monotonic FROM risk_decisions d "  # noqa: S608
    "JOIN opportunities o ON o.id = d.opportunity_id WHERE d.accepted ORDER BY d.rowid"
)


def _rejected_row(decision: RiskRejected) -> Row:
    return (decision.opportunity_id, False, decision.reason, decision.detail, decision.at)


def _rejected_from_row(row: Row) -> RiskRejected:
    return RiskRejected(opportunity_id=row[0], reason=row[2], detail=row[3], at=row[4])


# --- execution --------------------------------------------------------------------------------
def _order_row(u: OrderUpdate) -> Row:
    return (
        u.cl_ord_id,
        u.cycle_id,
        u.symbol,
        u.side.value,
        u.order_type,
        decimal_text(u.limit_price, "OrderUpdate.limit_price"),
        decimal_text(u.qty, "OrderUpdate.qty"),
        decimal_text(u.filled_qty, "OrderUpdate.filled_qty"),
        u.state.value,
        u.reason,
        u.at,
        u.venue_order_id,
    )


def _order_from_row(row: Row) -> OrderUpdate:
    return OrderUpdate(
        cl_ord_id=row[0],
        cycle_id=row[1],
        symbol=row[2],
        side=Side(row[3]),
        order_type=row[4],
        limit_price=row[5],
        qty=row[6],
        filled_qty=row[7],
        state=OrderState(row[8]),
        reason=row[9],
        at=row[10],
        venue_order_id=row[11],
    )


def _fill_row(f: Fill) -> Row:
    return (
        f.exec_id,
        f.cl_ord_id,
        f.cycle_id,
        f.symbol,
        f.side.value,
        decimal_text(f.price, "Fill.price"),
        decimal_text(f.qty, "Fill.qty"),
        decimal_text(f.fee, "Fill.fee"),
        f.fee_asset,
        f.liquidity,
        f.at,
    )


def _fill_from_row(row: Row) -> Fill:
    return Fill(
        exec_id=row[0],
        cl_ord_id=row[1],
        cycle_id=row[2],
        symbol=row[3],
        side=Side(row[4]),
        price=row[5],
        qty=row[6],
        fee=row[7],
        fee_asset=row[8],
        liquidity=row[9],
        at=row[10],
    )


def _cycle_row(c: CycleFinished) -> Row:
    return (
        c.cycle_id,
        c.outcome,
        c.home,
        decimal_text(c.pnl, "CycleFinished.pnl"),
        decimal_text(c.unwind_cost, "CycleFinished.unwind_cost"),
        c.at,
    )


def _cycle_from_row(row: Row) -> CycleFinished:
    return CycleFinished(
        cycle_id=row[0], outcome=row[1], home=row[2], pnl=row[3], unwind_cost=row[4], at=row[5]
    )


# --- portfolio and audit ----------------------------------------------------------------------
def _snapshot_row(s: PortfolioSnapshot) -> Row:
    balances = tuple(
        (asset, decimal_text(amount, f"PortfolioSnapshot.balances[{asset}]"))
        for asset, amount in s.balances
    )
    return (
        balances,
        decimal_text(s.realised_pnl_today, "PortfolioSnapshot.realised_pnl_today"),
        decimal_text(s.realised_pnl_total, "PortfolioSnapshot.realised_pnl_total"),
        s.home,
        s.at,
        s.at_wall,
    )


def _snapshot_from_row(row: Row) -> PortfolioSnapshot:
    balances: tuple[tuple[str, Decimal], ...] = tuple(
        (item["asset"], item["amount"]) for item in row[0]
    )
    return PortfolioSnapshot(
        balances=balances,
        realised_pnl_today=row[1],
        realised_pnl_total=row[2],
        home=row[3],
        at=row[4],
        at_wall=row[5],
    )


def _audit_row(a: AuditEvent) -> Row:
    return (a.kind, a.actor, a.subject, a.detail, a.at, a.at_wall)


def _audit_from_row(row: Row) -> AuditEvent:
    return AuditEvent(
        kind=row[0], actor=row[1], subject=row[2], detail=row[3], at=row[4], at_wall=row[5]
    )


# --- supervisor events (the restart log) ------------------------------------------------------
_SUPERVISOR_EVENT_TYPES: dict[str, type[SupervisorEvent]] = {
    cls.event: cls
    for cls in (
        ChildStarted,
        ChildCrashed,
        ChildRestarted,
        ChildStopped,
        SupervisorEscalated,
        SupervisorEvent,
    )
}
_COMMON_FIELDS = frozenset({"path", "name", "at"})


def _supervisor_row(e: SupervisorEvent) -> Row:
    extra = {
        field.name: getattr(e, field.name)
        for field in attrs.fields(type(e))
        if field.name not in _COMMON_FIELDS
    }
    return (e.event, e.path, e.name, e.at, orjson.dumps(extra).decode())


def _supervisor_from_row(row: Row) -> SupervisorEvent:
    cls = _SUPERVISOR_EVENT_TYPES[row[0]]
    extra: dict[str, Any] = orjson.loads(row[4])
    return cls(path=row[1], name=row[2], at=row[3], **extra)


# --- recorded frames --------------------------------------------------------------------------
def _frame_row(f: RecordedFrame) -> Row:
    return (f.received_wall_ns, f.received_monotonic_ns, f.connection_id, f.channel, f.payload)


def _frame_from_row(row: Row) -> RecordedFrame:
    return RecordedFrame(
        received_wall_ns=row[0],
        received_monotonic_ns=row[1],
        connection_id=row[2],
        channel=row[3],
        payload=row[4],
    )


_MAPPINGS: tuple[RowMapping[Any], ...] = (
    RowMapping(
        Opportunity,
        OPPORTUNITIES,
        _opportunity_row,
        _select_all(OPPORTUNITIES, "WHERE closes_position = ''"),
        _opportunity_from_row,
    ),
    RowMapping(
        ClosePosition,
        OPPORTUNITIES,
        _close_row,
        _select_all(OPPORTUNITIES, "WHERE closes_position <> ''"),
        _close_from_row,
    ),
    RowMapping(RiskAccepted, RISK_DECISIONS, _accepted_row, _SELECT_ACCEPTED, _accepted_from_row),
    RowMapping(
        RiskRejected,
        RISK_DECISIONS,
        _rejected_row,
        _select_all(RISK_DECISIONS, "WHERE NOT accepted"),
        _rejected_from_row,
    ),
    RowMapping(OrderUpdate, ORDERS, _order_row, _select_all(ORDERS), _order_from_row),
    RowMapping(Fill, FILLS, _fill_row, _select_all(FILLS), _fill_from_row),
    RowMapping(CycleFinished, CYCLES, _cycle_row, _select_all(CYCLES), _cycle_from_row),
    RowMapping(
        PortfolioSnapshot,
        PORTFOLIO_SNAPSHOTS,
        _snapshot_row,
        _select_all(PORTFOLIO_SNAPSHOTS),
        _snapshot_from_row,
    ),
    RowMapping(AuditEvent, AUDIT_EVENTS, _audit_row, _select_all(AUDIT_EVENTS), _audit_from_row),
    RowMapping(
        SupervisorEvent,
        SUPERVISOR_EVENTS,
        _supervisor_row,
        _select_all(SUPERVISOR_EVENTS),
        _supervisor_from_row,
    ),
    RowMapping(
        RecordedFrame, MARKET_FRAMES, _frame_row, _select_all(MARKET_FRAMES), _frame_from_row
    ),
)

ROW_MAPPINGS: dict[type[Any], RowMapping[Any]] = {m.message_type: m for m in _MAPPINGS}
"""The registry: persisted message type -> how it is stored."""

_resolved: dict[type[Any], RowMapping[Any] | None] = dict(ROW_MAPPINGS)


def mapping_for(message_type: type[Any]) -> RowMapping[Any] | None:
    """The mapping of ``message_type`` or its nearest registered base class; None if the
    type is not persisted (the answer is cached per type)."""
    try:
        return _resolved[message_type]
    except KeyError:
        pass
    found = next(
        (ROW_MAPPINGS[base] for base in message_type.__mro__ if base in ROW_MAPPINGS), None
    )
    _resolved[message_type] = found
    return found
