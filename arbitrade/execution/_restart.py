"""Resuming after the whole process died: orders the last run left unfinished.

:class:`~arbitrade.execution.ExecutorMemory` lives in the process, so a SIGKILL loses it and
the ``orders`` table is the only trace. On start (live mode) the last row of every order is
read (:func:`load_unfinished_orders`, before the writer opens the file); the executor's first
incarnation then queries each order not terminal at the venue before it takes any new cycle
(:func:`resolve_unfinished`): a terminal answer ends it as the exchange says, no record ends
it EXPIRED with :data:`~arbitrade.execution.NOT_RECEIVED_REASON` (never re-sent), a live one
is reported as it stands (the bot's orders are IOC with a deadline: they close on their own;
this process cannot cancel an order it did not place), and an unreachable venue leaves the
row as it was. The audit trail is the reconnect's: one ``execution.recovered`` event listing
the orders, then one ``execution.reconciled`` per order (trigger ``process_restart``).

Not rebuilt: the orders' cycles (no ``CycleFinished`` is published for them; the cycles
table keeps no row) and fills missed while the process was down (the portfolio takes its
balances from the venue; the fills table lacks them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

import attrs
import duckdb
import orjson
import structlog
import trio

from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._reconcile import NOT_RECEIVED_REASON, RECONCILED_KIND, RECOVERED_KIND
from arbitrade.execution._venue import Venue
from arbitrade.messages import AuditEvent, OrderState, OrderUpdate
from arbitrade.persistence import read_messages

log = structlog.get_logger(__name__)

PROCESS_RESTART_TRIGGER: Final = "process_restart"
"""The ``trigger`` of audit events written when a new process resumes the last one's orders."""
_ACTOR: Final = "executor"
_STILL_OPEN: Final = frozenset({OrderState.PENDING, OrderState.OPEN, OrderState.PARTIALLY_FILLED})


def unfinished_orders(connection: duckdb.DuckDBPyConnection) -> tuple[OrderUpdate, ...]:
    """The last stored update of every order whose last state is not terminal, in the order
    the orders were first stored."""
    latest: dict[str, OrderUpdate] = {}
    for update in read_messages(connection, OrderUpdate):
        latest[update.cl_ord_id] = update
    return tuple(update for update in latest.values() if not update.state.terminal)


def load_unfinished_orders(path: Path | str) -> tuple[OrderUpdate, ...]:
    """:func:`unfinished_orders` of the database file at ``path``, opened read-only.

    Call it before the writer opens the file (DuckDB locks a file to one writing process).
    A missing file or one without an ``orders`` table yet holds no unfinished order.

    Raises:
        duckdb.IOException: the file is locked by another process or unreadable.
    """
    where = Path(path)
    if str(path) == ":memory:" or not where.exists():
        return ()
    connection = duckdb.connect(str(where), read_only=True)
    try:
        return unfinished_orders(connection)
    except duckdb.CatalogException:  # a database made before the orders table existed
        return ()
    finally:
        connection.close()


def _json(detail: object) -> str:
    return orjson.dumps(detail, option=orjson.OPT_SORT_KEYS, default=str).decode()


async def resolve_unfinished(
    venue: Venue, orders: Iterable[OrderUpdate], to_wall: Callable[[float], float]
) -> list[OrderUpdate | AuditEvent]:
    """Query each order at ``venue`` and return what to publish (see the module docstring).

    ``to_wall`` turns a Trio time into Unix seconds for the audit rows. The venue must be
    running. Never raises for one order: an unreachable venue is audited (resolution
    ``unreachable``) and the order's row is left as it was.
    """
    orders = list(orders)
    if not orders:
        return []
    now = trio.current_time()
    summary = {
        "trigger": PROCESS_RESTART_TRIGGER,
        "cycles": sorted({order.cycle_id for order in orders}),
        "orders": {order.cl_ord_id: order.state.value for order in orders},
    }
    log.warning("executor.process_restart_recovery", orders=len(orders))
    events: list[OrderUpdate | AuditEvent] = [
        AuditEvent(RECOVERED_KIND, _ACTOR, _ACTOR, _json(summary), now, to_wall(now))
    ]
    for order in orders:
        events.extend(await _resolve_one(venue, order, to_wall))
    return events


async def _resolve_one(
    venue: Venue, order: OrderUpdate, to_wall: Callable[[float], float]
) -> Sequence[OrderUpdate | AuditEvent]:
    cl_ord_id = order.cl_ord_id
    try:
        report = await venue.query(cl_ord_id)
    except VenueUnavailable as error:
        log.warning("executor.process_restart_query_failed", cl_ord_id=cl_ord_id, error=str(error))
        report, resolution, update = None, "unreachable", None
    else:
        now = trio.current_time()
        if report is None:
            resolution = "not_received"
            update = attrs.evolve(
                order, state=OrderState.EXPIRED, reason=NOT_RECEIVED_REASON, at=now
            )
        else:
            state = report.order_status
            resolution = "open" if state in _STILL_OPEN else state.value
            update = attrs.evolve(
                order,
                state=state,
                filled_qty=report.cum_qty,
                reason=report.reason,
                at=now,
                venue_order_id=report.venue_order_id or order.venue_order_id,
            )
    now = trio.current_time()
    detail: dict[str, object] = {
        "cl_ord_id": cl_ord_id,
        "cycle_id": order.cycle_id,
        "trigger": PROCESS_RESTART_TRIGGER,
        "believed_state": order.state.value,
        "believed_filled_qty": order.filled_qty,
        "exchange_status": report.order_status.value if report is not None else "unknown",
        "exchange_cum_qty": report.cum_qty if report is not None else None,
        "resolution": resolution,
        "state": (update or order).state.value,
        "filled_qty": (update or order).filled_qty,
        "fills_added": [],
    }
    audit = AuditEvent(RECONCILED_KIND, _ACTOR, cl_ord_id, _json(detail), now, to_wall(now))
    return [audit] if update is None else [update, audit]
