"""The seam between the executor and a market: order requests in, execution reports out.

A venue accepts :class:`OrderRequest`\\ s and cancels, and reports everything that happens to
an order as :class:`ExecutionReport`\\ s (shaped like Kraken's ``executions`` channel) on one
stream, interleaved with :class:`VenueConnection` changes. Paper, scripted and live venues
implement :class:`Venue`; ``arbitrade.execution.testing.check_venue`` is the conformance suite.

Rules every venue keeps (the suite checks them):

* ``submit`` only hands the order over; acknowledgement, fills and the end come as reports.
  A refused order is a ``REJECTED`` report, never an exception; the only exception is
  :class:`~arbitrade.execution.VenueUnavailable` (not sent at all).
* A ``cl_ord_id`` names one order for ever: submitting it again never creates a second
  order. While the first is known the venue repeats its current state, or rejects the
  duplicate with reason :data:`DUPLICATE_REASON`; the executor never treats that as the
  original order being rejected.
* An order past its ``deadline`` when the venue would act on it is rejected with
  ``EService:Deadline elapsed`` and never trades.
* ``cum_qty`` of an order never decreases; each trade report has a unique ``exec_id``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

import attrs
import trio

from arbitrade.messages import BookTop, OrderState, Side

DUPLICATE_REASON: Final = "duplicate_cl_ord_id"
DEADLINE_REASON: Final = "EService:Deadline elapsed"
INSUFFICIENT_FUNDS_REASON: Final = "EOrder:Insufficient funds"
IOC_REASON: Final = "ioc"
USER_CANCEL_REASON: Final = "user_requested"

_ZERO = Decimal(0)


class ExecType(enum.StrEnum):
    """What happened to an order (Kraken's ``exec_type``, plus ``rejected`` and ``status``)."""

    PENDING_NEW = "pending_new"
    NEW = "new"
    TRADE = "trade"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    STATUS = "status"
    """A state read back (a query, a snapshot after reconnect), not a live event."""


@attrs.frozen
class OrderRequest:
    """One limit order as the executor wants it placed.

    ``deadline`` is a Trio-clock time: a venue must not let the order trade after it (Kraken's
    ``deadline`` parameter); resubmissions keep the original deadline.
    """

    cl_ord_id: str
    symbol: str
    side: Side
    qty: Decimal
    limit_price: Decimal
    deadline: float
    time_in_force: str = "ioc"
    post_only: bool = False


@attrs.frozen
class ExecutionReport:
    """One event in an order's life, as a venue saw it.

    ``cum_qty``/``cum_cost``/``cum_fee`` are the order's totals after the event (``cum_cost``
    and ``cum_fee`` zero when the venue does not know them); ``last_*``, ``fee`` and
    ``exec_id`` describe the trade of a ``TRADE`` report.
    """

    cl_ord_id: str
    exec_type: ExecType
    order_status: OrderState
    symbol: str
    side: Side
    order_qty: Decimal
    cum_qty: Decimal
    at: float
    venue_order_id: str = ""
    exec_id: str = ""
    last_qty: Decimal = _ZERO
    last_price: Decimal = _ZERO
    fee: Decimal = _ZERO
    fee_asset: str = ""
    liquidity: str = "t"
    reason: str = ""
    cum_cost: Decimal = _ZERO
    cum_fee: Decimal = _ZERO


@attrs.frozen
class VenueConnection:
    """The venue's link to the market came up (``connected``) or went down."""

    connected: bool
    reason: str
    at: float


type VenueEvent = ExecutionReport | VenueConnection


@runtime_checkable
class Venue(Protocol):
    """Where orders go. One consumer reads :attr:`events`.

    Lifecycle: ``await nursery.start(venue.run)`` starts background work (connections,
    simulated latency) and returns once the venue can take orders; cancelling ``run`` stops
    it. Calls before ``run`` has started raise ``VenueUnavailable``.
    """

    name: str

    @property
    def events(self) -> trio.MemoryReceiveChannel[VenueEvent]:
        """Execution reports and connection changes, in the order the venue saw them."""
        ...

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; report started once orders can be taken."""
        ...

    async def submit(self, order: OrderRequest) -> None:
        """Hand ``order`` to the market; raises ``VenueUnavailable`` if it was not sent."""
        ...

    async def cancel(self, cl_ord_id: str) -> None:
        """Ask to cancel; the outcome comes as a report. Unknown ids are ignored."""
        ...

    async def query(self, cl_ord_id: str) -> ExecutionReport | None:
        """The order's current state as a ``STATUS`` report, or None if the venue never got it.

        Raises ``VenueUnavailable`` when the venue cannot be asked now.
        """
        ...

    async def balances(self) -> dict[str, Decimal]:
        """Balance per asset as the venue holds it (paper ledger, Kraken ``Balance``)."""
        ...

    def observe_book(self, book: BookTop) -> None:
        """Market data the bot sees (the paper venue fills against it; others ignore it)."""
        ...


def split_symbol(symbol: str) -> tuple[str, str]:
    """``"BTC/USD"`` -> ``("BTC", "USD")`` (Kraken v2 symbols are BASE/QUOTE).

    Raises:
        ValueError: the symbol has no single '/'.
    """
    base, slash, quote = symbol.partition("/")
    if not slash or not base or not quote or "/" in quote:
        raise ValueError(f"symbol must be BASE/QUOTE, got {symbol!r}")
    return base, quote
