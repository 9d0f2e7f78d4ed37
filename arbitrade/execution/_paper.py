"""The paper venue: IOC orders filled against the latest book tops the bot has seen.

Nothing leaves the process. Each order waits ``latency`` seconds (Trio clock), then meets the
newest :class:`~arbitrade.messages.BookTop` of its pair as a taker, paying the taker fee in
the quote asset. By default those tops are the executor's (:meth:`PaperVenue.observe_book`)
and the wait is a sleep. A run that must match by market time (the paper/backtest parity
test) gives the venue its own ``market`` (books fed by the transport as frames are handed
over) and a ``scheduler`` that runs an order's match once its arrival instant has settled;
see ``docs/adr/0012-venues-meet-the-market-at-market-time.md``.

Liquidity taken from a level stays taken until that level changes (its size, or it leaves the
top), so two orders cannot both take the same displayed size. With ``balances`` the venue keeps
a ledger and rejects orders it could not pay for (``EOrder:Insufficient funds``); without, funds
are unlimited. Memory is bounded: of the orders that ended only the last ``finished_orders_kept``
are remembered whole (queries, cancels), and the ids of many more after that (duplicates).
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Protocol

import structlog
import trio

from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._matching import OrderTotals, Taken, match_ioc
from arbitrade.execution._retention import RecentIds, Retention
from arbitrade.execution._venue import (
    DEADLINE_REASON,
    DUPLICATE_REASON,
    INSUFFICIENT_FUNDS_REASON,
    USER_CANCEL_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    VenueEvent,
    split_symbol,
)
from arbitrade.graph import TakerFees
from arbitrade.messages import BookTop, OrderState, Side

log = structlog.get_logger(__name__)

UNKNOWN_PAIR_REASON = "EQuery:Unknown asset pair"
INVALID_REASON = "EGeneral:Invalid arguments"


class MarketView(Protocol):
    """The market as a simulated venue meets it (``arbitrade.backtest.MarketBooks``)."""

    def top(self, symbol: str) -> BookTop | None:
        """The pair's book now, or None before its first snapshot."""
        ...

    def listen(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(symbol)`` after every change of a book."""
        ...


class Scheduler(Protocol):
    """Runs a synchronous callback at a Trio time; equal times in the order scheduled."""

    def call_at(self, at: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at ``at`` (at once, in turn, if that time has passed)."""
        ...


FINISHED_ORDERS_KEPT = 1024
"""Orders that ended the paper venue keeps whole by default (queries answer for them)."""
RETIRED_IDS_KEPT = 65_536
"""Ids of forgotten orders still refused as duplicates (about 100 bytes each)."""


class _PaperOrder:
    __slots__ = ("last", "order", "totals", "venue_order_id")

    def __init__(self, order: OrderRequest, venue_order_id: str, last: ExecutionReport) -> None:
        self.order = order
        self.venue_order_id = venue_order_id
        self.totals = OrderTotals()
        self.last = last


class PaperVenue:
    """Simulated fills against live books; see the module docstring.

    Args:
        taker_fee_rate: the fee as a fraction of each trade's cost (0.004 is 40 bps).
        latency: seconds between ``submit`` and matching.
        balances: starting ledger per asset; None means unlimited funds and no ledger.
        rates: the taker rate per symbol (a fee profile, see :func:`rates_from_taker_fees`);
            when given it wins over ``taker_fee_rate``.
        finished_orders_kept: orders that ended (filled, cancelled, rejected, expired) kept
            whole; an older one is forgotten when a newer one ends: ``query`` then answers
            None for it (no record) and ``cancel`` ignores it, while ``submit`` of its id is
            still refused as a duplicate for the next :data:`RETIRED_IDS_KEPT` forgotten ids.
            The executor only queries orders it believes open, and every report of this venue
            reaches it, so it never asks about a forgotten one.
        market: the books orders meet; when given, :meth:`observe_book` is ignored and an
            order meets the market as the transport had handed it over at the match.
        scheduler: when given, matches (and cancels) are its callbacks at ``submit`` time
            plus ``latency``, zero included, instead of a sleeping task or an inline match.

    Raises:
        ValueError: ``finished_orders_kept`` is below 1.
    """

    name = "paper"

    def __init__(
        self,
        *,
        taker_fee_rate: Decimal,
        latency: float = 0.0,
        balances: Mapping[str, Decimal] | None = None,
        rates: Callable[[str], Decimal] | None = None,
        finished_orders_kept: int = FINISHED_ORDERS_KEPT,
        market: MarketView | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.taker_fee_rate = taker_fee_rate
        self._rates = rates
        self.latency = latency
        self._ledger = dict(balances) if balances is not None else None
        # Unbounded on purpose: the executor awaits ``submit`` and is also the one draining
        # these reports (through the pump into its mailbox); a bounded channel could leave the
        # two waiting on each other. Drained at once, it holds nothing in steady state.
        self._send, self._events = trio.open_memory_channel[VenueEvent](math.inf)
        self._books: dict[str, BookTop] = {}
        self._taken: dict[str, Taken] = {}
        self._orders: dict[str, _PaperOrder] = {}
        self._finished: Retention[str] = Retention(finished_orders_kept)
        self._retired: RecentIds[str] = RecentIds(RETIRED_IDS_KEPT)
        self._ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        # orders waiting out the latency, in the order they were sent: one task matches them
        # first in, first out (a task per order would let Trio pick among equal deadlines)
        self._due: collections.deque[tuple[float, str]] = collections.deque()
        self._market = market
        self._scheduler = scheduler
        if market is not None:
            market.listen(self._on_market_change)

    @property
    def events(self) -> trio.MemoryReceiveChannel[VenueEvent]:
        """Execution reports (the paper venue never disconnects)."""
        return self._events

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host delayed matching until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    def observe_book(self, book: BookTop) -> None:
        """Take a newer top of a pair; what earlier orders took from a level is forgotten
        once that level changes (its size, or it leaves the top), as the backtest venue does:
        two orders never both take the same displayed size. Ignored with a ``market``."""
        if self._market is None:
            self._take_top(book)

    def _on_market_change(self, symbol: str) -> None:
        if self._taken.get(symbol) and self._market is not None:
            top = self._market.top(symbol)
            if top is not None:
                self._take_top(top)

    def _current_top(self, symbol: str) -> BookTop | None:
        if self._market is None:
            return self._books.get(symbol)
        top = self._market.top(symbol)
        if top is not None:
            self._books[symbol] = top
        return top

    def _take_top(self, book: BookTop) -> None:
        previous = self._books.get(book.symbol)
        self._books[book.symbol] = book
        taken = self._taken.get(book.symbol)
        if not taken or previous is None or previous is book:
            return
        old, new = _displayed(previous), _displayed(book)
        for key in [key for key in taken if old.get(key) != new.get(key)]:
            del taken[key]

    async def submit(self, order: OrderRequest) -> None:
        """Accept the order; it is matched after ``latency``. A known id is a duplicate."""
        nursery = self._nursery
        if nursery is None:
            raise VenueUnavailable(self.name, "not running")
        now = trio.current_time()
        known = self._orders.get(order.cl_ord_id)
        retired = self._retired.get(order.cl_ord_id)
        if known is not None or retired is not None:
            venue_id = known.venue_order_id if known is not None else retired or ""
            self._emit(self._reject(order, venue_id, DUPLICATE_REASON, now))
            return
        venue_order_id = f"P{next(self._ids):08d}"
        pending = self._report(order, venue_order_id, ExecType.PENDING_NEW, OrderState.PENDING, now)
        self._orders[order.cl_ord_id] = _PaperOrder(order, venue_order_id, pending)
        if self._scheduler is not None:
            self._scheduler.call_at(now + self.latency, partial(self._match, order.cl_ord_id))
        elif self.latency > 0:
            if not self._due:
                nursery.start_soon(self._match_due)
            self._due.append((now + self.latency, order.cl_ord_id))
        else:
            self._match(order.cl_ord_id)
        await trio.lowlevel.checkpoint()

    async def _match_due(self) -> None:
        """Match waiting orders as they come due, in the order they were sent."""
        due = self._due
        while due:
            await trio.sleep_until(due[0][0])
            while due and due[0][0] <= trio.current_time():
                self._match(due.popleft()[1])

    def _match(self, cl_ord_id: str) -> None:
        paper = self._orders.get(cl_ord_id)
        if paper is None or paper.last.order_status.terminal:  # cancelled while waiting
            return
        order, now = paper.order, trio.current_time()
        book = self._current_top(order.symbol)
        reason = ""
        if now > order.deadline:
            reason = DEADLINE_REASON
        elif order.qty <= 0 or order.limit_price <= 0:
            reason = INVALID_REASON
        elif book is None:
            reason = UNKNOWN_PAIR_REASON
        elif not self._affordable(order):
            reason = INSUFFICIENT_FUNDS_REASON
        if reason or book is None:
            self._emit(self._reject(order, paper.venue_order_id, reason, now))
            return
        reports = match_ioc(
            order,
            book,
            taken=self._taken.setdefault(order.symbol, {}),
            fee_rate=self._rate(order.symbol),
            venue_order_id=paper.venue_order_id,
            at=now,
            totals=paper.totals,
        )
        for report in reports:
            if report.exec_type is ExecType.TRADE:
                self._book_trade(report)
            self._emit(report)

    def _rate(self, symbol: str) -> Decimal:
        return self._rates(symbol) if self._rates is not None else self.taker_fee_rate

    def _affordable(self, order: OrderRequest) -> bool:
        if self._ledger is None:
            return True
        base, quote = split_symbol(order.symbol)
        if order.side is Side.BUY:
            needed, asset = order.qty * order.limit_price * (1 + self._rate(order.symbol)), quote
        else:
            needed, asset = order.qty, base
        return self._ledger.get(asset, Decimal(0)) >= needed

    def _book_trade(self, report: ExecutionReport) -> None:
        if self._ledger is None:
            return
        base, quote = split_symbol(report.symbol)
        cost = report.last_qty * report.last_price
        sign = 1 if report.side is Side.BUY else -1
        ledger = self._ledger
        ledger[base] = ledger.get(base, Decimal(0)) + sign * report.last_qty
        ledger[quote] = ledger.get(quote, Decimal(0)) - sign * cost - report.fee

    def _emit(self, report: ExecutionReport) -> None:
        paper = self._orders.get(report.cl_ord_id)
        if paper is not None and report.reason != DUPLICATE_REASON:
            paper.last = report
            if report.order_status.terminal:
                self._forget(self._finished.finish(report.cl_ord_id))
        self._send.send_nowait(report)

    def _forget(self, cl_ord_ids: list[str]) -> None:
        for cl_ord_id in cl_ord_ids:
            paper = self._orders.pop(cl_ord_id, None)
            if paper is not None:
                self._retired.add(cl_ord_id, paper.venue_order_id)

    def _report(
        self,
        order: OrderRequest,
        venue_order_id: str,
        exec_type: ExecType,
        status: OrderState,
        now: float,
        reason: str = "",
    ) -> ExecutionReport:
        return ExecutionReport(
            cl_ord_id=order.cl_ord_id,
            exec_type=exec_type,
            order_status=status,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=Decimal(0),
            at=now,
            venue_order_id=venue_order_id,
            reason=reason,
        )

    def _reject(
        self, order: OrderRequest, venue_order_id: str, reason: str, now: float
    ) -> ExecutionReport:
        log.info("paper.rejected", cl_ord_id=order.cl_ord_id, reason=reason)
        return self._report(
            order, venue_order_id, ExecType.REJECTED, OrderState.REJECTED, now, reason
        )

    async def cancel(self, cl_ord_id: str) -> None:
        """Cancel an order still waiting for its match; anything else is left as it is.

        With a ``scheduler`` the cancel travels ``latency`` as an order does (so one sent in
        the same instant as its order arrives after it, and finds it ended).
        """
        await trio.lowlevel.checkpoint()
        if self._scheduler is not None:
            self._scheduler.call_at(
                trio.current_time() + self.latency, partial(self._cancel_now, cl_ord_id)
            )
        else:
            self._cancel_now(cl_ord_id)

    def _cancel_now(self, cl_ord_id: str) -> None:
        paper = self._orders.get(cl_ord_id)
        if paper is None or paper.last.order_status.terminal:
            return
        self._emit(
            self._report(
                paper.order,
                paper.venue_order_id,
                ExecType.CANCELED,
                OrderState.CANCELLED,
                trio.current_time(),
                USER_CANCEL_REASON,
            )
        )

    async def query(self, cl_ord_id: str) -> ExecutionReport | None:
        """The order's last known state as a STATUS report with its totals, or None."""
        await trio.lowlevel.checkpoint()
        paper = self._orders.get(cl_ord_id)
        if paper is None:
            return None
        last = paper.last
        return ExecutionReport(
            cl_ord_id=cl_ord_id,
            exec_type=ExecType.STATUS,
            order_status=last.order_status,
            symbol=last.symbol,
            side=last.side,
            order_qty=last.order_qty,
            cum_qty=paper.totals.cum_qty,
            at=trio.current_time(),
            venue_order_id=paper.venue_order_id,
            reason=last.reason,
            cum_cost=paper.totals.cum_cost,
            cum_fee=paper.totals.cum_fee,
        )

    async def balances(self) -> dict[str, Decimal]:
        """The ledger (empty when funds are unlimited)."""
        await trio.lowlevel.checkpoint()
        return dict(self._ledger or {})


def _displayed(book: BookTop) -> dict[tuple[Side, Decimal], Decimal]:
    """The size at each price an order of each side can take (buys take asks)."""
    sizes = {(Side.BUY, level.price): level.qty for level in book.ask_levels()}
    sizes.update(((Side.SELL, level.price), level.qty) for level in book.bid_levels())
    return sizes


def rates_from_taker_fees(fees: TakerFees) -> Callable[[str], Decimal]:
    """Per-symbol taker rates from the fee profile the graph loaded (``config/fees.toml``):
    the stable rate for fiat/stablecoin bases and pegged pairs, the default rate otherwise."""

    def rate(symbol: str) -> Decimal:
        base = split_symbol(symbol)[0]
        if base in fees.stable_assets or symbol in fees.pegged_pairs:
            return fees.stable_rate
        return fees.default_rate

    return rate
