"""A scripted venue for executor tests: a handler decides what each order meets.

Like httpx's ``MockTransport``: ``ScriptedVenue(handler)`` calls ``handler(order, at)`` for
each new order and emits the reports it returns. Tests can also push any report with
:meth:`ScriptedVenue.emit` (duplicates, late fills), drop the connection with
:meth:`disconnect` / :meth:`reconnect` (with a snapshot, as Kraken sends), and make the next
submits vanish in transit with :meth:`lose_next`. Every request is recorded. The venue keeps
the duplicate rule of the interface: a known ``cl_ord_id`` is rejected with
``DUPLICATE_REASON``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import trio

from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._matching import OrderTotals, Taken, match_ioc
from arbitrade.execution._venue import (
    DUPLICATE_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    VenueConnection,
    VenueEvent,
    split_symbol,
)
from arbitrade.messages import BookTop, OrderState

type Handler = Callable[[OrderRequest, float], Iterable[ExecutionReport]]


def _report(
    order: OrderRequest,
    at: float,
    exec_type: ExecType,
    status: OrderState,
    cum_qty: Decimal = Decimal(0),
    **extra: Any,
) -> ExecutionReport:
    return ExecutionReport(
        cl_ord_id=order.cl_ord_id,
        exec_type=exec_type,
        order_status=status,
        symbol=order.symbol,
        side=order.side,
        order_qty=order.qty,
        cum_qty=cum_qty,
        at=at,
        venue_order_id=f"S-{order.cl_ord_id[:8]}",
        **extra,
    )


def fills_at_limit(fee_rate: Decimal = Decimal(0)) -> Handler:
    """A handler that fills every order completely at its limit price."""

    def handle(order: OrderRequest, at: float) -> list[ExecutionReport]:
        fee = order.qty * order.limit_price * fee_rate
        return [
            _report(order, at, ExecType.NEW, OrderState.OPEN),
            _report(
                order,
                at,
                ExecType.TRADE,
                OrderState.FILLED,
                order.qty,
                exec_id=f"S-{order.cl_ord_id}-1",
                last_qty=order.qty,
                last_price=order.limit_price,
                fee=fee,
                fee_asset=split_symbol(order.symbol)[1],
                cum_cost=order.qty * order.limit_price,
                cum_fee=fee,
            ),
        ]

    return handle


def rejects(reason: str) -> Handler:
    """A handler that rejects every order with ``reason``."""

    def handle(order: OrderRequest, at: float) -> list[ExecutionReport]:
        return [_report(order, at, ExecType.REJECTED, OrderState.REJECTED, reason=reason)]

    return handle


def silent() -> Handler:
    """A handler that answers nothing (the test emits reports itself)."""
    return lambda order, at: []


def matches_book(book: BookTop, fee_rate: Decimal) -> Handler:
    """A handler that matches IOC orders against ``book`` like the paper venue."""
    taken: Taken = {}

    def handle(order: OrderRequest, at: float) -> list[ExecutionReport]:
        if at > order.deadline:
            return list(rejects("EService:Deadline elapsed")(order, at))
        return match_ioc(
            order,
            book,
            taken=taken,
            fee_rate=fee_rate,
            venue_order_id=f"S-{order.cl_ord_id[:8]}",
            at=at,
            totals=OrderTotals(),
        )

    return handle


class ScriptedVenue:
    """A venue whose answers the test scripts; see the module docstring."""

    name = "scripted"

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler if handler is not None else silent()
        self.submitted: list[OrderRequest] = []
        """Every order that reached the venue, duplicates included, in order."""
        self.cancelled: list[str] = []
        self.queried: list[str] = []
        self.books: list[BookTop] = []
        self.connected = True
        self._running = False
        self._lose = 0
        self._last: dict[str, ExecutionReport] = {}
        self._send, self._events = trio.open_memory_channel[VenueEvent](math.inf)

    @property
    def events(self) -> trio.MemoryReceiveChannel[VenueEvent]:
        """Reports and connection changes."""
        return self._events

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Nothing runs in the background; serves until cancelled."""
        self._running = True
        try:
            task_status.started()
            await trio.sleep_forever()
        finally:
            self._running = False

    # --- what the test controls ------------------------------------------------------------
    def emit(self, report: ExecutionReport, *, deliver: bool = True) -> None:
        """Push a report as if the market produced it (it becomes the order's last state).

        ``deliver=False`` changes the order's state at the venue but loses the report on the
        way (a disconnect): only a query will tell.
        """
        if report.reason != DUPLICATE_REASON:
            self._last[report.cl_ord_id] = report
        if deliver:
            self._send.send_nowait(report)

    def disconnect(self, reason: str = "scripted drop") -> None:
        """Drop the connection: submits fail with VenueUnavailable until reconnect."""
        self.connected = False
        self._send.send_nowait(VenueConnection(False, reason, trio.current_time()))

    def reconnect(
        self, reason: str = "scripted reconnect", *, snapshot: Iterable[ExecutionReport] = ()
    ) -> None:
        """Bring the connection back; ``snapshot`` reports go out first, as a live venue's
        ``executions`` snapshot does (they become the orders' last states too)."""
        for report in snapshot:
            self.emit(report)
        self.connected = True
        self._send.send_nowait(VenueConnection(True, reason, trio.current_time()))

    def lose_next(self, count: int = 1) -> None:
        """The next ``count`` submits return normally but never reach the market."""
        self._lose += count

    # --- the Venue interface ---------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> None:
        """Record the order and emit what the handler answers (or a duplicate rejection)."""
        await trio.lowlevel.checkpoint()
        if not self._running or not self.connected:
            raise VenueUnavailable(self.name, "not connected")
        if self._lose:
            self._lose -= 1
            return
        self.submitted.append(order)
        at = trio.current_time()
        if order.cl_ord_id in self._last:
            self.emit(next(iter(rejects(DUPLICATE_REASON)(order, at))))
            return
        self._last[order.cl_ord_id] = _report(order, at, ExecType.PENDING_NEW, OrderState.PENDING)
        for report in self.handler(order, at):
            self.emit(report)

    async def cancel(self, cl_ord_id: str) -> None:
        """Record the cancel; the test emits its outcome (unknown ids are ignored)."""
        await trio.lowlevel.checkpoint()
        if not self._running or not self.connected:
            raise VenueUnavailable(self.name, "not connected")
        self.cancelled.append(cl_ord_id)

    async def query(self, cl_ord_id: str) -> ExecutionReport | None:
        """The order's last report as a STATUS report, or None if it never arrived."""
        await trio.lowlevel.checkpoint()
        if not self._running or not self.connected:
            raise VenueUnavailable(self.name, "not connected")
        self.queried.append(cl_ord_id)
        last = self._last.get(cl_ord_id)
        if last is None:
            return None
        return ExecutionReport(
            cl_ord_id=last.cl_ord_id,
            exec_type=ExecType.STATUS,
            order_status=last.order_status,
            symbol=last.symbol,
            side=last.side,
            order_qty=last.order_qty,
            cum_qty=last.cum_qty,
            at=trio.current_time(),
            venue_order_id=last.venue_order_id,
            reason=last.reason,
            cum_cost=last.cum_cost,
            cum_fee=last.cum_fee,
        )

    async def balances(self) -> dict[str, Decimal]:
        """Scripted venues hold no ledger."""
        await trio.lowlevel.checkpoint()
        return {}

    def observe_book(self, book: BookTop) -> None:
        """Recorded only."""
        self.books.append(book)
