"""The dashboard's read model: the latest state of the bot, folded from bus messages.

The feeder (:func:`arbitrade.dashboard.feed_model`) applies every message it receives from the
bus; tests and the app may call :meth:`DashboardModel.apply` directly. Every list is bounded
(the newest N entries), so memory stays flat however long the bot runs. Reading never blocks
and never touches the bus: pages render from here.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

import attrs

from actors import ChildRestarted, SupervisorEscalated, SupervisorEvent
from arbitrade.dashboard._health import FeedStatus, HealthInputs, HealthReport
from arbitrade.messages import (
    AuditEvent,
    BookHealth,
    BookStateChanged,
    BookTop,
    ControlChanged,
    CycleFinished,
    FeedStateChanged,
    Fill,
    Opportunity,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    StrategyMode,
)
from arbitrade.strategy.stat_arb import PairSnapshot


@attrs.frozen
class Capacity:
    """How many of each kind of entry the model keeps (the newest ones)."""

    opportunities: int = 200
    orders: int = 500
    fills: int = 500
    audit: int = 1000
    restarts: int = 1000
    equity_points: int = 720
    """One point per portfolio snapshot (720 = an hour of 5-second snapshots)."""
    zscore_points: int = 300
    """Z-scores kept per stat-arb pair (300 = five minutes of 1-second observations)."""


@attrs.frozen
class ControlState:
    """The operator controls as last announced on the control topic."""

    strategy_mode: StrategyMode = StrategyMode.TRIANGULAR
    paused: bool = False
    kill_switch: bool = False
    changed_by: str = ""
    """``who`` of the last change ('' until one happens)."""
    changed_at: float | None = None


@attrs.frozen
class BookStatus:
    """A book's last health change, including the last checksum result."""

    symbol: str
    health: BookHealth
    reason: str
    checksum_ok: bool
    at: float
    resyncs: int
    """Times this book went to resyncing since the dashboard started."""


@attrs.frozen
class EquityPoint:
    """Portfolio value in the home asset at one snapshot (valued at book mid prices)."""

    at_wall: float
    equity: Decimal


@attrs.frozen
class ZScorePoint:
    """A stat-arb pair's z-score at one observation (Trio-clock time)."""

    at: float
    z: float


@attrs.define
class Counts:
    """Running totals since the dashboard started."""

    opportunities: int = 0
    accepted: int = 0
    rejected: int = 0
    order_updates: int = 0
    fills: int = 0
    cycles_completed: int = 0
    cycles_broken: int = 0


LIVE_FEED_STATES = frozenset({"live", "subscribed", "connected"})
"""``FeedStateChanged.state`` values that count as a live feed for the overview and /health."""

CONTROL_PAUSED = "paused"
CONTROL_KILL_SWITCH = "kill_switch"
CONTROL_STRATEGY_MODE = "strategy_mode"
KILL_SWITCH_ENGAGED = "engaged"
KILL_SWITCH_RELEASED = "released"


class DashboardModel:
    """What the dashboard shows, kept up to date by :meth:`apply`.

    Messages of a type the model does not know are ignored, so new message kinds on a
    subscribed topic never break the dashboard.
    """

    def __init__(
        self,
        *,
        capacity: Capacity | None = None,
        controls: ControlState | None = None,
        live_feed_states: frozenset[str] = LIVE_FEED_STATES,
    ) -> None:
        cap = capacity or Capacity()
        self.controls = controls or ControlState()
        self.live_feed_states = live_feed_states
        self.health = HealthInputs()
        self.counts = Counts()
        self.portfolio: PortfolioSnapshot | None = None
        self.books: dict[str, BookTop] = {}
        self.book_status: dict[str, BookStatus] = {}
        self.feeds: dict[str, FeedStatus] = {}
        self.rejections_by_reason: collections.Counter[str] = collections.Counter()
        self.unpriced_assets: tuple[str, ...] = ()
        self.restart_counts: collections.Counter[str] = collections.Counter()
        self.escalation_counts: collections.Counter[str] = collections.Counter()
        """``SupervisorEscalated`` events seen, by the path of the supervisor that gave up."""
        self.stat_arb: dict[str, PairSnapshot] = {}
        """The latest :class:`PairSnapshot` of each stat-arb pair, by pair name."""
        self._zscores: dict[str, collections.deque[ZScorePoint]] = {}
        self._zscore_capacity = cap.zscore_points
        self._opportunities: collections.deque[Opportunity] = collections.deque(
            maxlen=cap.opportunities
        )
        self._orders: collections.OrderedDict[str, OrderUpdate] = collections.OrderedDict()
        self._orders_capacity = cap.orders
        self._fills: collections.deque[Fill] = collections.deque(maxlen=cap.fills)
        self._audit: collections.deque[AuditEvent] = collections.deque(maxlen=cap.audit)
        self._restarts: collections.deque[SupervisorEvent] = collections.deque(maxlen=cap.restarts)
        self._equity: collections.deque[EquityPoint] = collections.deque(maxlen=cap.equity_points)
        self._handlers: dict[type, Callable[[object], None]] = {
            Opportunity: self._on_opportunity,  # type: ignore[dict-item]
            RiskAccepted: self._on_accepted,  # type: ignore[dict-item]
            RiskRejected: self._on_rejected,  # type: ignore[dict-item]
            BookTop: self._on_book_top,  # type: ignore[dict-item]
            BookStateChanged: self._on_book_state,  # type: ignore[dict-item]
            FeedStateChanged: self._on_feed_state,  # type: ignore[dict-item]
            OrderUpdate: self._on_order,  # type: ignore[dict-item]
            Fill: self._on_fill,  # type: ignore[dict-item]
            CycleFinished: self._on_cycle,  # type: ignore[dict-item]
            PortfolioSnapshot: self._on_portfolio,  # type: ignore[dict-item]
            AuditEvent: self._audit.appendleft,  # type: ignore[dict-item]
            ControlChanged: self._on_control,  # type: ignore[dict-item]
            PairSnapshot: self._on_pair_snapshot,  # type: ignore[dict-item]
        }

    # --- folding ---------------------------------------------------------------------------
    def apply(self, message: object) -> bool:
        """Fold one message into the model; return False if its type is not one we show."""
        handler = self._handlers.get(type(message))
        if handler is not None:
            handler(message)
            return True
        if isinstance(message, SupervisorEvent):
            self._restarts.appendleft(message)
            if isinstance(message, ChildRestarted):
                self.restart_counts[message.path] += 1
            elif isinstance(message, SupervisorEscalated):
                self.escalation_counts[message.path] += 1
            return True
        return False

    def apply_all(self, messages: Iterable[object]) -> None:
        """Apply each message in order."""
        for message in messages:
            self.apply(message)

    def _on_opportunity(self, opportunity: Opportunity) -> None:
        self._opportunities.appendleft(opportunity)
        self.counts.opportunities += 1

    def _on_accepted(self, _: RiskAccepted) -> None:
        self.counts.accepted += 1

    def _on_rejected(self, rejected: RiskRejected) -> None:
        self.counts.rejected += 1
        self.rejections_by_reason[rejected.reason] += 1

    def _on_book_top(self, top: BookTop) -> None:
        self.books[top.symbol] = top

    def _on_book_state(self, change: BookStateChanged) -> None:
        previous = self.book_status.get(change.symbol)
        resyncs = previous.resyncs if previous else 0
        if change.health is BookHealth.RESYNCING:
            resyncs += 1
        self.book_status[change.symbol] = BookStatus(
            symbol=change.symbol,
            health=change.health,
            reason=change.reason,
            checksum_ok=change.checksum_ok,
            at=change.at,
            resyncs=resyncs,
        )

    def _on_feed_state(self, change: FeedStateChanged) -> None:
        self.feeds[change.channel] = FeedStatus(
            channel=change.channel,
            state=change.state,
            reason=change.reason,
            at=change.at,
            live=change.state in self.live_feed_states,
        )

    def _on_order(self, update: OrderUpdate) -> None:
        self.counts.order_updates += 1
        self._orders.pop(update.cl_ord_id, None)
        self._orders[update.cl_ord_id] = update
        while len(self._orders) > self._orders_capacity:
            self._orders.popitem(last=False)

    def _on_fill(self, fill: Fill) -> None:
        self._fills.appendleft(fill)
        self.counts.fills += 1

    def _on_cycle(self, finished: CycleFinished) -> None:
        if finished.outcome == "completed":
            self.counts.cycles_completed += 1
        elif finished.outcome.startswith("broken"):
            self.counts.cycles_broken += 1

    def _on_portfolio(self, snapshot: PortfolioSnapshot) -> None:
        self.portfolio = snapshot
        equity, unpriced = self.value_balances(snapshot.balances, snapshot.home)
        self.unpriced_assets = unpriced
        if not unpriced:
            self._equity.append(EquityPoint(at_wall=snapshot.at_wall, equity=equity))

    def _on_pair_snapshot(self, snapshot: PairSnapshot) -> None:
        self.stat_arb[snapshot.pair] = snapshot
        if snapshot.z is None or not math.isfinite(snapshot.z):
            return  # still warming up (or a degenerate spread): nothing to draw
        points = self._zscores.get(snapshot.pair)
        if points is None:
            points = self._zscores[snapshot.pair] = collections.deque(maxlen=self._zscore_capacity)
        points.append(ZScorePoint(at=snapshot.at, z=snapshot.z))

    def _on_control(self, change: ControlChanged) -> None:
        controls = self.controls
        if change.setting == CONTROL_STRATEGY_MODE:
            try:
                controls = attrs.evolve(controls, strategy_mode=StrategyMode(change.value))
            except ValueError:
                return
        elif change.setting == CONTROL_PAUSED:
            controls = attrs.evolve(controls, paused=change.value == "true")
        elif change.setting == CONTROL_KILL_SWITCH:
            controls = attrs.evolve(controls, kill_switch=change.value == KILL_SWITCH_ENGAGED)
        else:
            return
        self.controls = attrs.evolve(controls, changed_by=change.who, changed_at=change.at)

    # --- valuation -------------------------------------------------------------------------
    def mid_price(self, base: str, quote: str) -> Decimal | None:
        """Mid of ``base/quote`` from the latest book top (or the inverse pair), else None."""
        direct = self.books.get(f"{base}/{quote}")
        if direct is not None:
            return _mid(direct)
        inverse = self.books.get(f"{quote}/{base}")
        if inverse is not None:
            mid = _mid(inverse)
            return None if mid is None or mid == 0 else 1 / mid
        return None

    def value_balances(
        self, balances: Iterable[tuple[str, Decimal]], home: str
    ) -> tuple[Decimal, tuple[str, ...]]:
        """Total value of ``balances`` in ``home`` at book mids, and the assets with no price.

        Assets without a book against ``home`` (either direction) are left out of the total
        and listed, so the caller can say the total is partial.
        """
        total = Decimal(0)
        unpriced: list[str] = []
        for asset, amount in balances:
            if asset == home:
                total += amount
                continue
            if amount == 0:
                continue
            price = self.mid_price(asset, home)
            if price is None:
                unpriced.append(asset)
            else:
                total += amount * price
        return total, tuple(unpriced)

    # --- reading ---------------------------------------------------------------------------
    def opportunities(self, limit: int | None = None) -> tuple[Opportunity, ...]:
        """The latest opportunities, newest first."""
        items = tuple(self._opportunities)
        return items if limit is None else items[:limit]

    def orders(self) -> tuple[OrderUpdate, ...]:
        """The latest state of each recent order, most recently updated first."""
        return tuple(reversed(self._orders.values()))

    def orders_by_state(self) -> dict[str, int]:
        """How many remembered orders are in each state."""
        counter = collections.Counter(update.state.value for update in self._orders.values())
        return dict(counter)

    def fills(self) -> tuple[Fill, ...]:
        """Recent fills, newest first."""
        return tuple(self._fills)

    def audit(self, kind: str = "") -> tuple[AuditEvent, ...]:
        """Audit events, newest first; ``kind`` keeps those whose kind starts with it."""
        return tuple(event for event in self._audit if event.kind.startswith(kind))

    def restarts(self, actor: str = "") -> tuple[SupervisorEvent, ...]:
        """Restart-log events, newest first; ``actor`` keeps those whose path or name match.

        A path matches when it equals ``actor`` or lies below it (``root/feeds`` keeps
        ``root/feeds/book``); a bare name matches the last path segment.
        """
        if not actor:
            return tuple(self._restarts)
        return tuple(event for event in self._restarts if _matches_actor(event, actor))

    def restart_actors(self) -> tuple[str, ...]:
        """Every actor path seen in the restart log, sorted (for the filter)."""
        return tuple(sorted({event.path for event in self._restarts}))

    def equity(self) -> tuple[EquityPoint, ...]:
        """The equity series, oldest first."""
        return tuple(self._equity)

    def stat_arb_pairs(self) -> tuple[PairSnapshot, ...]:
        """The latest snapshot of every stat-arb pair seen, sorted by pair name."""
        return tuple(self.stat_arb[name] for name in sorted(self.stat_arb))

    def zscores(self, pair: str) -> tuple[ZScorePoint, ...]:
        """Recent finite z-scores of ``pair``, oldest first (empty for an unknown pair)."""
        return tuple(self._zscores.get(pair, ()))

    def symbols(self) -> tuple[str, ...]:
        """Every symbol with a book top or a book state, sorted."""
        return tuple(sorted(self.books.keys() | self.book_status.keys()))

    def health_report(self, now: float) -> HealthReport:
        """The /health verdict from the feeds seen and the app's health inputs."""
        return self.health.evaluate(self.feeds, now)


def _mid(top: BookTop) -> Decimal | None:
    if not top.bids or not top.asks:
        return None
    try:
        bid = top.bid_levels()[0].price
        ask = top.ask_levels()[0].price
    except (InvalidOperation, IndexError):
        return None
    return (bid + ask) / 2


def _matches_actor(event: SupervisorEvent, actor: str) -> bool:
    if "/" in actor:
        return event.path == actor or event.path.startswith(actor.rstrip("/") + "/")
    return event.name == actor or event.path == actor
