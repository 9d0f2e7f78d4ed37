"""What a backtest watches while it runs: every decision in order, and the equity over time.

The :class:`Collector` subscribes (losslessly) to opportunities, risk decisions, orders,
fills and finished cycles, numbering each event as it arrives, and samples the equity from
the venue's ledger marked at the replayed books' mid prices. It only reads: nothing it does
changes what the actors decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
import trio

from actors import Bus, Lossless
from arbitrade.backtest._timeline import Scheduler
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.messages import (
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_RISK_DECISIONS,
    CycleFinished,
    Fill,
    Opportunity,
    OrderUpdate,
    RiskAccepted,
    RiskRejected,
)

WATCHED: Final = (
    TOPIC_OPPORTUNITIES,
    TOPIC_RISK_DECISIONS,
    TOPIC_ORDERS,
    TOPIC_FILLS,
    TOPIC_CYCLES,
)
_ZERO = Decimal(0)
_TWO = Decimal(2)


@attrs.frozen
class EquityPoint:
    """The portfolio marked to the replayed books at one instant."""

    at_wall: float
    """Unix seconds (the recording's clock)."""
    equity: Decimal
    """Every balance valued in the home currency at mid prices."""
    exposure: Decimal
    """Sum over non-home assets of |balance - starting balance| at mid: inventory at risk."""


def mid_price(venue: BacktestVenue, symbol: str) -> Decimal | None:
    """The mid of the newest replayed top of ``symbol`` (None without both sides)."""
    top = venue.top(symbol)
    if top is None or not top.bids or not top.asks:
        return None
    ticks = (top.bids[0][0] + top.asks[0][0]) / _TWO
    return Decimal(ticks).scaleb(-top.price_precision)


class Marks:
    """Prices of assets in the home currency from the replayed books.

    An asset is valued through its pair with home (either way round), else through one
    intermediate asset that has a pair with home. ``None`` when no path is known yet.
    """

    def __init__(self, venue: BacktestVenue, home: str) -> None:
        self.venue = venue
        self.home = home
        self.symbols: dict[tuple[str, str], str] = {}
        """``(base, quote) -> symbol`` of every pair with a replayed book."""
        for symbol in venue.symbols():
            base, _, quote = symbol.partition("/")
            self.symbols[(base, quote)] = symbol

    def rate(self, source: str, target: str) -> Decimal | None:
        """How much ``target`` one unit of ``source`` is worth, from one pair's mid."""
        if source == target:
            return Decimal(1)
        direct = self.symbols.get((source, target))
        if direct is not None:
            return mid_price(self.venue, direct)
        inverse = self.symbols.get((target, source))
        if inverse is not None:
            mid = mid_price(self.venue, inverse)
            return Decimal(1) / mid if mid else None
        return None

    def price(self, asset: str) -> Decimal | None:
        """Value of one unit of ``asset`` in home."""
        found = self.rate(asset, self.home)
        if found is not None:
            return found
        for base, quote in sorted(self.symbols):
            via = quote if base == asset else base if quote == asset else None
            if via is None:
                continue
            first, second = self.rate(asset, via), self.rate(via, self.home)
            if first is not None and second is not None:
                return first * second
        return None

    def value(self, balances: Mapping[str, Decimal]) -> Decimal:
        """Balances valued in home (assets without a price count as zero)."""
        total = _ZERO
        for asset, amount in sorted(balances.items()):
            if amount:
                price = self.price(asset)
                if price is not None:
                    total += amount * price
        return total


@attrs.define
class Collector:
    """Gathers decisions and equity; see the module docstring."""

    venue: BacktestVenue
    home: str
    starting: dict[str, Decimal]
    to_wall: Callable[[float], float]
    events: list[tuple[int, float, Any]] = attrs.Factory(list)
    """(arrival number, Trio time, message) of every watched event."""
    equity: list[EquityPoint] = attrs.Factory(list)
    fill_values: list[Decimal] = attrs.Factory(list)
    """Each fill's fee valued in home when it arrived (same order as the fills)."""
    trading: bool = True
    _numbers: Any = attrs.Factory(itertools.count)

    @property
    def marks(self) -> Marks:
        return Marks(self.venue, self.home)

    def sample(self) -> None:
        """Add an equity point for now; skipped while a held asset has no price yet.

        The first point values the starting balances (the equity before any trade).
        """
        balances = self.venue.ledger()
        marks = self.marks
        if any(amount and marks.price(asset) is None for asset, amount in balances.items()):
            return
        if not self.equity and any(self.starting.values()):
            # the opening point: the starting balances at the first prices known
            at = self.to_wall(trio.current_time())
            self.equity.append(EquityPoint(at, marks.value(self.starting), _ZERO))
        exposure = _ZERO
        for asset in sorted(set(balances) | set(self.starting)):
            if asset == self.home:
                continue
            delta = balances.get(asset, _ZERO) - self.starting.get(asset, _ZERO)
            price = marks.price(asset) if delta else None
            if price is not None:
                exposure += abs(delta) * price
        self.equity.append(
            EquityPoint(self.to_wall(trio.current_time()), marks.value(balances), exposure)
        )

    async def watch(
        self, bus: Bus, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Subscribe to every watched topic and record until cancelled."""
        subscriptions = [bus.subscribe(topic, Lossless(100_000)) for topic in WATCHED]
        async with trio.open_nursery() as nursery:
            for subscription in subscriptions:
                nursery.start_soon(self._drain, subscription)
            task_status.started()

    async def _drain(self, subscription: Any) -> None:
        with subscription:
            async for message in subscription:
                if not self.trading:
                    continue  # before the range starts: books warm up, nothing counts
                self.events.append((next(self._numbers), trio.current_time(), message))
                if isinstance(message, Fill):
                    price = self.marks.price(message.fee_asset)
                    self.fill_values.append(message.fee * price if price is not None else _ZERO)
                elif isinstance(message, CycleFinished):
                    self.sample()

    def sample_every(self, scheduler: Scheduler, interval: float) -> None:
        """Sample the equity every ``interval`` Trio seconds from now, on ``scheduler``."""

        def beat() -> None:
            self.sample()
            scheduler.call_at(trio.current_time() + interval, beat)

        scheduler.call_at(trio.current_time() + interval, beat)

    def of_type[T](self, kind: type[T]) -> list[T]:
        """The watched events of one type, in arrival order."""
        return [message for _, _, message in self.events if isinstance(message, kind)]


DECISION_TYPES: Final = (Opportunity, RiskAccepted, RiskRejected, OrderUpdate, Fill, CycleFinished)
