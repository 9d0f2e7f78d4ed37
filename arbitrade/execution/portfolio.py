"""The portfolio: balances per asset from fills, realised PnL per cycle and per day.

:class:`PortfolioBook` is the bookkeeping (no I/O): each ``Fill`` moves its base and quote
and takes its fee; each ``CycleFinished`` adds its PnL (home currency) to the cycle's line, the
UTC day's total and the running total. :class:`Portfolio` is the actor: it folds in
``Fill`` (``TOPIC_FILLS``) and ``CycleFinished`` (``TOPIC_CYCLES``), publishes a
``PortfolioSnapshot`` on ``TOPIC_PORTFOLIO`` at start, on every ``PortfolioTick`` and after
each finished cycle, and on ``RefreshBalances`` replaces its balances by the venue's
(Kraken ``Balance`` in live mode, the paper ledger otherwise).

Positions held across cycles (stat-arb: an entry cycle opens, a later close cycle closes) are
where the executor's per-cycle PnL falls short: it values what a cycle leaves behind at the
cycle's own prices, so an entry and its close each book only their fees and the spread's gain
or loss never shows. For cycles whose id marks them as position cycles
(:data:`POSITION_CYCLE_PREFIXES`), the book keeps a :class:`PositionLedger` instead: average
cost per pair in the pair's own quote currency, realised PnL on every fill that reduces a
position (price minus average cost, times the quantity closed) less every fill's fee,
converted to home at the FX rate known when the fill arrives (a pair quoted in another
currency, stat-arb's FX-joined legs: the mid of ``QUOTE/HOME``'s latest book top), booked
when the cycle finishes; open positions are marked to the latest book mid (``BookTop``, when
routed to the actor: :func:`~arbitrade.execution.run_trading_io`'s ``portfolio_symbols``) or
else the latest fill price, as unrealised PnL (:meth:`PortfolioBook.positions`).

A refresh is the truth at the moment the venue answered: a fill already counted by the
venue but delivered after the answer is counted twice until the next refresh (rare: the
executor delivers fills within milliseconds; refreshes are tens of seconds apart).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
import structlog
import trio

from actors import Actor
from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._positions import (
    POSITION_CYCLE_PREFIXES,
    OpenPosition,
    PositionLedger,
    is_position_cycle,
)
from arbitrade.execution._unwind import fill_flows
from arbitrade.messages import TOPIC_PORTFOLIO, BookTop, CycleFinished, Fill, PortfolioSnapshot

__all__ = [
    "POSITION_CYCLE_PREFIXES",
    "BalanceSource",
    "GetPortfolio",
    "GetPositions",
    "OpenPosition",
    "Portfolio",
    "PortfolioBook",
    "PortfolioTick",
    "PositionLedger",
    "RefreshBalances",
    "is_position_cycle",
    "utc_day",
]

_REMEMBERED: Final = 10_000

log = structlog.get_logger(__name__)

type BalanceSource = Callable[[], Awaitable[Mapping[str, Decimal]]]


def utc_day(wall: float) -> str:
    """The UTC calendar day of a Unix time, as ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(wall, dt.UTC).date().isoformat()


class PortfolioBook:
    """Balances and realised PnL; see the module docstring.

    A fill is counted once per ``exec_id``; a cycle once per ``cycle_id``. A position
    cycle's PnL is the ledger's (fills' realised PnL less their fees, in home), not the
    executor's. Fallback: when one of its fills cannot be valued in home (a pair quoted in
    another currency before any top of its FX pair was seen, or a fee charged in a third
    currency), the cycle books the executor's PnL instead and ``portfolio.position_unvalued``
    is logged, naming the FX pair that was missing. The ledger still follows such a fill's
    position when it can (only the fee's currency stops it), so a later close realises
    against the right average. A fill of a position cycle that arrives after its cycle was
    booked is booked at once, on the day of the last booked cycle (a late fill that cannot
    be valued then is logged and not booked).

    Args:
        home: the home currency.
        balances: the balances to start from.
        position_prefixes: cycle ids of position cycles.
        fx_pairs: FX pairs the ledger records rates of from the start (the stat-arb pairs'
            ``y_fx`` / ``x_fx``), so a first fill in their currency is valued.

    Raises:
        ValueError: a pair in ``fx_pairs`` does not trade a currency against home.
    """

    def __init__(
        self,
        home: str,
        balances: Mapping[str, Decimal] | None = None,
        *,
        position_prefixes: tuple[str, ...] = POSITION_CYCLE_PREFIXES,
        fx_pairs: Iterable[str] = (),
    ) -> None:
        self.home = home
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.pnl_by_day: dict[str, Decimal] = {}
        self.pnl_by_cycle: OrderedDict[str, Decimal] = OrderedDict()
        self.realised_total = Decimal(0)
        self.ledger = PositionLedger(home, fx_pairs=fx_pairs)
        self._position_prefixes = position_prefixes
        self._pending: dict[str, Decimal] = {}
        """Ledger PnL of position cycles not yet finished, by cycle id."""
        self._unvalued: set[str] = set()
        self._last_day = utc_day(0.0)
        self._exec_ids: OrderedDict[str, None] = OrderedDict()

    def apply_fill(self, fill: Fill) -> None:
        """Move balances by ``fill`` (ignored if its exec_id was seen); a position cycle's
        fill also goes through the ledger."""
        if fill.exec_id in self._exec_ids:
            return
        _remember(self._exec_ids, fill.exec_id, None)
        for asset, amount in fill_flows((fill,)).items():
            self.balances[asset] = self.balances.get(asset, Decimal(0)) + amount
        if not is_position_cycle(fill.cycle_id, self._position_prefixes):
            return
        pnl = self.ledger.track(fill) if self.ledger.holds(fill) else None
        booked = fill.cycle_id in self.pnl_by_cycle  # late: its cycle is already booked
        if pnl is None:
            self._log_unvalued(fill, booked)
            if not booked:
                self._unvalued.add(fill.cycle_id)
        elif booked:
            self.pnl_by_cycle[fill.cycle_id] += pnl
            self._book(self._last_day, pnl)
        else:
            self._pending[fill.cycle_id] = self._pending.get(fill.cycle_id, Decimal(0)) + pnl

    def _log_unvalued(self, fill: Fill, late: bool) -> None:
        quote = fill.symbol.partition("/")[2]
        if not self.ledger.holds(fill):
            log.warning(
                "portfolio.position_unvalued",
                cycle_id=fill.cycle_id,
                symbol=fill.symbol,
                reason="fee_asset",
                fee_asset=fill.fee_asset,
                late=late,
            )
        else:
            log.warning(
                "portfolio.position_unvalued",
                cycle_id=fill.cycle_id,
                symbol=fill.symbol,
                reason="no_fx_rate",
                fx_pair=self.ledger.rates.pair_for(quote),
                late=late,
            )

    def apply_cycle(self, finished: CycleFinished, wall: float) -> None:
        """Book a cycle's realised PnL on its UTC day (ignored if already booked)."""
        if finished.cycle_id in self.pnl_by_cycle:
            return
        if finished.home != self.home:
            raise ValueError(f"cycle {finished.cycle_id} is in {finished.home}, not {self.home}")
        pnl = finished.pnl
        pending = self._pending.pop(finished.cycle_id, Decimal(0))
        if is_position_cycle(finished.cycle_id, self._position_prefixes):
            if finished.cycle_id in self._unvalued:
                self._unvalued.discard(finished.cycle_id)
            else:
                pnl = pending
        _remember(self.pnl_by_cycle, finished.cycle_id, pnl)
        self._last_day = utc_day(wall)
        self._book(self._last_day, pnl)

    def _book(self, day: str, pnl: Decimal) -> None:
        self.pnl_by_day[day] = self.pnl_by_day.get(day, Decimal(0)) + pnl
        self.realised_total += pnl

    def mark(self, top: BookTop) -> None:
        """Mark an open position's pair to the mid of ``top``, or take it as an FX rate if it
        converts a watched currency into home (other pairs are ignored)."""
        self.ledger.mark_book(top)

    def positions(self) -> tuple[OpenPosition, ...]:
        """Open positions of position cycles, with their unrealised PnL (sorted by symbol)."""
        return self.ledger.positions()

    def unrealised_total(self) -> Decimal:
        """Unrealised PnL of every open position, in home (a position quoted in a currency
        with no known rate yet counts as zero: see :attr:`OpenPosition.fx_rate`)."""
        return sum((position.unrealised_pnl for position in self.ledger.positions()), Decimal(0))

    def replace_balances(self, balances: Mapping[str, Decimal]) -> None:
        """Take the venue's balances as the truth."""
        self.balances = dict(balances)

    def snapshot(self, now: float, wall: float) -> PortfolioSnapshot:
        """Balances (sorted by asset) and realised PnL today and in total."""
        return PortfolioSnapshot(
            balances=tuple(sorted(self.balances.items())),
            realised_pnl_today=self.pnl_by_day.get(utc_day(wall), Decimal(0)),
            realised_pnl_total=self.realised_total,
            home=self.home,
            at=now,
            at_wall=wall,
        )


def _remember[V](seen: OrderedDict[str, V], key: str, value: V) -> None:
    seen[key] = value
    if len(seen) > _REMEMBERED:
        seen.popitem(last=False)


@attrs.frozen
class PortfolioTick:
    """Time to publish a snapshot."""


@attrs.frozen
class RefreshBalances:
    """Re-read balances from the venue."""


@attrs.frozen
class GetPortfolio:
    """Ask for the current ``PortfolioSnapshot``."""


@attrs.frozen
class GetPositions:
    """Ask for the open positions (a tuple of :class:`OpenPosition`, marked to market)."""


class Portfolio(Actor[Any]):
    """The portfolio actor; see the module docstring.

    Args:
        home: the home currency.
        balance_source: reads the venue's balances (``venue.balances``); read at start and
            on every ``RefreshBalances``. A ``VenueUnavailable`` keeps the balances it has.
        initial_balances: used when there is no source (or it is unavailable at start).
        wall_clock: Unix time source, read once at start (snapshot ``at_wall`` and PnL days).
        fx_pairs: FX pairs whose book tops value positions quoted in another currency than
            home (see :class:`PortfolioBook`); their tops must be routed to the actor.

    Raises:
        ValueError: a pair in ``fx_pairs`` does not trade a currency against home.
    """

    def __init__(
        self,
        home: str,
        *,
        balance_source: BalanceSource | None = None,
        initial_balances: Mapping[str, Decimal] | None = None,
        wall_clock: Callable[[], float] = time.time,
        fx_pairs: Iterable[str] = (),
    ) -> None:
        self.book = PortfolioBook(home, initial_balances, fx_pairs=fx_pairs)
        self._source = balance_source
        self._wall_clock = wall_clock
        self._wall_offset = 0.0

    def _now(self) -> tuple[float, float]:
        now = trio.current_time()
        return now, now + self._wall_offset

    async def on_start(self) -> None:
        self._wall_offset = self._wall_clock() - trio.current_time()
        await self._refresh()
        await self._publish()

    async def receive(self, message: Any) -> object:
        if isinstance(message, Fill):
            self.book.apply_fill(message)
        elif isinstance(message, CycleFinished):
            try:
                self.book.apply_cycle(message, self._now()[1])
            except ValueError as error:
                self.context.log.error("portfolio.cycle_not_booked", problem=str(error))
            await self._publish()
        elif isinstance(message, PortfolioTick):
            await self._publish()
        elif isinstance(message, RefreshBalances):
            await self._refresh()
        elif isinstance(message, BookTop):
            self.book.mark(message)
        elif isinstance(message, GetPortfolio):
            return self.book.snapshot(*self._now())
        elif isinstance(message, GetPositions):
            return self.book.positions()
        else:
            self.context.log.warning("portfolio.unexpected_message", type=type(message).__name__)
        return None

    async def _refresh(self) -> None:
        if self._source is None:
            return
        try:
            balances = await self._source()
        except VenueUnavailable as error:
            self.context.log.warning("portfolio.balances_unavailable", problem=str(error))
            return
        if balances:
            self.book.replace_balances(balances)

    async def _publish(self) -> None:
        snapshot = self.book.snapshot(*self._now())
        await self.context.bus.publish(TOPIC_PORTFOLIO, snapshot)
