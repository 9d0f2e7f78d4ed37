"""The immutable messages that Arbitrade's actors exchange, in the trader's language.

Every message is a frozen, slotted attrs class. Money and quantities are ``Decimal`` (exact);
floats appear only for statistics and latency. Times are Trio-clock seconds
(``trio.current_time()``: monotonic, virtual in tests and backtests) unless the field name
says ``_wall`` (Unix seconds).

``received_at`` on market-driven messages is the monotonic receive time of the raw frame that
caused the message, carried through every hop so tick-to-decision latency can be measured.

Bus topics (constants below) are where each message family is published.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Final

import attrs

# --- bus topics -------------------------------------------------------------------------------
TOPIC_BOOK_TOP: Final = "market.book.top"
TOPIC_BOOK_STATE: Final = "market.book.state"
TOPIC_FEED_STATE: Final = "market.feed.state"
TOPIC_INSTRUMENTS: Final = "market.instruments"
TOPIC_OPPORTUNITIES: Final = "strategy.opportunities"
TOPIC_RISK_DECISIONS: Final = "risk.decisions"
TOPIC_ORDERS: Final = "execution.orders"
TOPIC_FILLS: Final = "execution.fills"
TOPIC_CYCLES: Final = "execution.cycles"
TOPIC_PORTFOLIO: Final = "portfolio.snapshots"
TOPIC_AUDIT: Final = "audit.events"
TOPIC_CONTROL: Final = "control.changes"


class Side(enum.StrEnum):
    """Order side, as Kraken spells it."""

    BUY = "buy"
    SELL = "sell"


# --- reference data ---------------------------------------------------------------------------
@attrs.frozen
class Instrument:
    """A tradable pair as the ``instrument`` channel describes it (v2 names: BTC/USD)."""

    symbol: str
    base: str
    quote: str
    price_precision: int
    qty_precision: int
    price_increment: Decimal
    qty_increment: Decimal
    qty_min: Decimal
    cost_min: Decimal
    status: str = "online"

    @property
    def online(self) -> bool:
        """True when the pair accepts ordinary orders."""
        return self.status == "online"


@attrs.frozen
class InstrumentsLoaded:
    """The full instrument universe (snapshot of the ``instrument`` channel)."""

    instruments: tuple[Instrument, ...]
    received_at: float


# --- market data ------------------------------------------------------------------------------
@attrs.frozen
class Level:
    """One price level of a book, in Decimal (for display and order fields)."""

    price: Decimal
    qty: Decimal


@attrs.frozen
class BookTop:
    """A book's top levels after a change: what the graph, the paper venue and the UI read.

    Levels are exact integers: ``(price_ticks, qty_lots)`` where price = ticks / 10**price_precision
    and qty = lots / 10**qty_precision (the instrument's precisions, as the checksum uses them).
    Integers keep the hot path cheap and exact; :meth:`bid_levels` / :meth:`ask_levels` give
    Decimals. ``bids`` are best (highest) first, ``asks`` best (lowest) first, at most the
    subscribed depth. ``received_at`` is the monotonic receive time of the frame that caused
    the change.
    """

    symbol: str
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    price_precision: int
    qty_precision: int
    received_at: float
    sequence: int
    """Per-symbol count of changes applied since the book's last snapshot."""

    def _levels(self, side: tuple[tuple[int, int], ...]) -> tuple[Level, ...]:
        return tuple(
            Level(
                Decimal(price).scaleb(-self.price_precision),
                Decimal(qty).scaleb(-self.qty_precision),
            )
            for price, qty in side
        )

    def bid_levels(self) -> tuple[Level, ...]:
        """Bids as Decimal levels, best first."""
        return self._levels(self.bids)

    def ask_levels(self) -> tuple[Level, ...]:
        """Asks as Decimal levels, best first."""
        return self._levels(self.asks)


class BookHealth(enum.StrEnum):
    """Whether decisions may be taken on a book."""

    LIVE = "live"
    RESYNCING = "resyncing"
    STALE = "stale"


@attrs.frozen
class BookStateChanged:
    """A book became live, started resyncing (checksum mismatch, reconnect) or went stale."""

    symbol: str
    health: BookHealth
    reason: str
    at: float
    checksum_ok: bool = True


@attrs.frozen
class FeedStateChanged:
    """A feed actor connected, subscribed, lost its connection or gave a reason for trouble."""

    channel: str
    state: str
    reason: str
    at: float


# --- strategy -----------------------------------------------------------------------------------
@attrs.frozen
class Leg:
    """One order of a cycle: trade ``qty`` of ``symbol`` at limit ``price``, ``side``.

    ``qty`` is in the pair's base asset; ``from_asset`` is spent and ``to_asset`` received.
    """

    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    from_asset: str
    to_asset: str


@attrs.frozen
class Opportunity:
    """A profitable cycle found on the current books, net of fees, sized and rounded."""

    id: str
    strategy: str
    """'triangular' or 'stat_arb'."""
    home: str
    """The asset the cycle starts and ends in."""
    legs: tuple[Leg, ...]
    start_amount: Decimal
    """Spent in the home asset by the first leg."""
    end_amount: Decimal
    """Received in the home asset by the last leg, after fees."""
    profit: Decimal
    """end_amount - start_amount, in the home asset."""
    profit_bps: Decimal
    book_ages: tuple[float, ...]
    """Seconds since each leg's book last changed, at detection."""
    received_at: float
    """Monotonic receive time of the frame that triggered the detection."""
    detected_at: float

    @property
    def latency(self) -> float:
        """Seconds from the triggering frame to detection."""
        return self.detected_at - self.received_at


# --- risk --------------------------------------------------------------------------------------
@attrs.frozen
class RiskAccepted:
    """The risk gate let an opportunity through to the executor."""

    opportunity: Opportunity
    at: float


@attrs.frozen
class RiskRejected:
    """The risk gate refused an opportunity; ``reason`` is a short code, ``detail`` the numbers."""

    opportunity_id: str
    reason: str
    detail: str
    at: float


# --- execution ---------------------------------------------------------------------------------
class OrderState(enum.StrEnum):
    """Lifecycle of one leg's order."""

    PENDING = "pending"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        """True when no further fill can arrive for the order."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.EXPIRED}
)


@attrs.frozen
class OrderUpdate:
    """An order changed state (one row of the ``orders`` table per update)."""

    cl_ord_id: str
    cycle_id: str
    symbol: str
    side: Side
    order_type: str
    limit_price: Decimal
    qty: Decimal
    filled_qty: Decimal
    state: OrderState
    reason: str
    at: float
    venue_order_id: str = ""


@attrs.frozen
class Fill:
    """A trade against one of our orders. ``fee`` is charged in ``fee_asset``."""

    exec_id: str
    cl_ord_id: str
    cycle_id: str
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str
    """'t' taker or 'm' maker."""
    at: float


@attrs.frozen
class CycleFinished:
    """A cycle's legs all reached a terminal state; the outcome and its realised PnL."""

    cycle_id: str
    outcome: str
    """'completed', 'broken_unwound', 'broken_held' or 'rejected'."""
    home: str
    pnl: Decimal
    """Realised PnL in the home asset, fees included."""
    unwind_cost: Decimal
    at: float


# --- portfolio, audit, control -----------------------------------------------------------------
@attrs.frozen
class PortfolioSnapshot:
    """Balances per asset and realised PnL in the home currency."""

    balances: tuple[tuple[str, Decimal], ...]
    realised_pnl_today: Decimal
    realised_pnl_total: Decimal
    home: str
    at: float
    at_wall: float


@attrs.frozen
class AuditEvent:
    """An append-only record of a decision: risk verdicts, control changes, corrections."""

    kind: str
    """Dotted lower case: 'risk.accepted', 'risk.rejected', 'control.kill_switch', ..."""
    actor: str
    subject: str
    """What the decision was about (an opportunity id, a setting name, an order id)."""
    detail: str
    """JSON text with the numbers behind the decision."""
    at: float
    at_wall: float


class StrategyMode(enum.StrEnum):
    """Which strategies may open new positions."""

    OFF = "off"
    TRIANGULAR = "triangular"
    STAT_ARB = "stat_arb"
    BOTH = "both"


@attrs.frozen
class ControlChanged:
    """An operator changed a control (published on TOPIC_CONTROL; the risk gate obeys it).

    ``setting`` is 'strategy_mode', 'paused', 'kill_switch' or 'risk.<field>'; ``value`` and
    ``previous`` are text as the operator saw them; ``who`` names the operator or component.
    """

    setting: str
    value: str
    previous: str
    who: str
    at: float
    at_wall: float
