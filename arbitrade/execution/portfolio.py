"""The portfolio: balances per asset from fills, realised PnL per cycle and per day.

:class:`PortfolioBook` is the bookkeeping (no I/O): each ``Fill`` moves its base and quote
and takes its fee; each ``CycleFinished`` adds its PnL (home currency) to the cycle's line, the
UTC day's total and the running total. :class:`Portfolio` is the actor: it folds in
``Fill`` (``TOPIC_FILLS``) and ``CycleFinished`` (``TOPIC_CYCLES``), publishes a
``PortfolioSnapshot`` on ``TOPIC_PORTFOLIO`` at start, on every ``PortfolioTick`` and after
each finished cycle, and on ``RefreshBalances`` replaces its balances by the venue's
(Kraken ``Balance`` in live mode, the paper ledger otherwise).

A refresh is the truth at the moment the venue answered: a fill already counted by the
venue but delivered after the answer is counted twice until the next refresh (rare: the
executor delivers fills within milliseconds; refreshes are tens of seconds apart).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
import trio

from actors import Actor
from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._unwind import fill_flows
from arbitrade.messages import TOPIC_PORTFOLIO, CycleFinished, Fill, PortfolioSnapshot

_REMEMBERED: Final = 10_000

type BalanceSource = Callable[[], Awaitable[Mapping[str, Decimal]]]


def utc_day(wall: float) -> str:
    """The UTC calendar day of a Unix time, as ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(wall, dt.UTC).date().isoformat()


class PortfolioBook:
    """Balances and realised PnL; see the module docstring.

    A fill is counted once per ``exec_id``; a cycle once per ``cycle_id``.
    """

    def __init__(self, home: str, balances: Mapping[str, Decimal] | None = None) -> None:
        self.home = home
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.pnl_by_day: dict[str, Decimal] = {}
        self.pnl_by_cycle: OrderedDict[str, Decimal] = OrderedDict()
        self.realised_total = Decimal(0)
        self._exec_ids: OrderedDict[str, None] = OrderedDict()

    def apply_fill(self, fill: Fill) -> None:
        """Move balances by ``fill`` (ignored if its exec_id was seen)."""
        if fill.exec_id in self._exec_ids:
            return
        _remember(self._exec_ids, fill.exec_id, None)
        for asset, amount in fill_flows((fill,)).items():
            self.balances[asset] = self.balances.get(asset, Decimal(0)) + amount

    def apply_cycle(self, finished: CycleFinished, wall: float) -> None:
        """Book a cycle's realised PnL on its UTC day (ignored if already booked)."""
        if finished.cycle_id in self.pnl_by_cycle:
            return
        if finished.home != self.home:
            raise ValueError(f"cycle {finished.cycle_id} is in {finished.home}, not {self.home}")
        _remember(self.pnl_by_cycle, finished.cycle_id, finished.pnl)
        day = utc_day(wall)
        self.pnl_by_day[day] = self.pnl_by_day.get(day, Decimal(0)) + finished.pnl
        self.realised_total += finished.pnl

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


class Portfolio(Actor[Any]):
    """The portfolio actor; see the module docstring.

    Args:
        home: the home currency.
        balance_source: reads the venue's balances (``venue.balances``); read at start and
            on every ``RefreshBalances``. A ``VenueUnavailable`` keeps the balances it has.
        initial_balances: used when there is no source (or it is unavailable at start).
        wall_clock: Unix time source, read once at start (snapshot ``at_wall`` and PnL days).
    """

    def __init__(
        self,
        home: str,
        *,
        balance_source: BalanceSource | None = None,
        initial_balances: Mapping[str, Decimal] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = PortfolioBook(home, initial_balances)
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
        elif isinstance(message, GetPortfolio):
            return self.book.snapshot(*self._now())
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
