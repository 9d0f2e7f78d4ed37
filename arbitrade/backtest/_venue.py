"""The simulated venue of backtests: orders meet the replayed book after a latency model.

An order travels for one draw of the order-latency model (zero included), then meets the book
of its pair as the market stood at its arrival time *t*: with ``market`` (a backtest), the
:class:`~arbitrade.backtest._market.MarketBooks` built from every frame the replay handed over
up to and including *t*, in the order received; without (unit tests), the newest top given to
:meth:`BacktestVenue.observe_book`. With a scheduler given (a backtest), arrivals and cancels
go through it even at zero latency, so under replay they run once the instant *t* has settled;
a venue serving its own timeline handles a zero-latency order at once (see
``docs/adr/0012-venues-meet-the-market-at-market-time.md``).

It is checked as Kraken checks it, in this order, each failure a ``REJECTED`` report with
Kraken's string: deadline passed (``EService:Deadline elapsed``), unknown pair
(``EQuery:Unknown asset pair``), quantity or price not positive (``EGeneral:Invalid
arguments``), price off the tick grid (``EOrder:Tick size check failed``), quantity off the
lot grid (``EGeneral:Invalid arguments:volume``), below the minimum quantity (``EOrder:Order
minimum not met``) or cost (``EOrder:Cost minimum not met``), more than the balance
(``EOrder:Insufficient funds``).

Matching: the order takes displayed levels at their own prices while they are at or better
than its limit (``depth`` fill model) or the best level only (``top``), paying the taker fee
on each trade's cost in the quote asset. The book is never changed, but what an order takes
from a level is remembered until that level's quantity next changes in the feed, so two
orders can never both take the same displayed size. IOC orders cancel the rest; limit orders
(``gtc``) rest and fill as makers, at their limit, when the replayed book crosses them (from
its displayed size, with the same memory of what was taken; queue position is not modelled).
Every report reaches the executor one response latency after the venue produced it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import partial

import attrs
import trio

from arbitrade.backtest._fees import FeeModel, Rates
from arbitrade.backtest._latency import LatencyModel, fixed_latency
from arbitrade.backtest._market import MarketBooks
from arbitrade.backtest._timeline import Scheduler, Timeline
from arbitrade.execution import (
    DEADLINE_REASON,
    DUPLICATE_REASON,
    IOC_REASON,
    USER_CANCEL_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    VenueEvent,
    VenueUnavailable,
    split_symbol,
)
from arbitrade.execution._matching import charged_fee
from arbitrade.messages import BookTop, Instrument, OrderState, Side

UNKNOWN_PAIR_REASON = "EQuery:Unknown asset pair"
INVALID_REASON = "EGeneral:Invalid arguments"
INVALID_VOLUME_REASON = "EGeneral:Invalid arguments:volume"
TICK_SIZE_REASON = "EOrder:Tick size check failed"
ORDER_MINIMUM_REASON = "EOrder:Order minimum not met"
COST_MINIMUM_REASON = "EOrder:Cost minimum not met"
INSUFFICIENT_FUNDS_REASON = "EOrder:Insufficient funds"

_ZERO = Decimal(0)


@attrs.frozen
class VenueStatistics:
    """Counters of one :class:`BacktestVenue`."""

    orders: int
    """Orders submitted (duplicates included)."""
    arrived: int
    """Orders that reached the market (the rest were cancelled in flight)."""
    rejected: int
    """Orders rejected, whatever the reason."""
    trades: int
    """Trades (one per level taken)."""
    resting: int
    """Limit orders resting now."""


@attrs.define
class _Order:
    request: OrderRequest
    venue_order_id: str
    last: ExecutionReport
    cum_lots: int = 0
    cum_qty: Decimal = _ZERO
    cum_cost: Decimal = _ZERO
    cum_fee: Decimal = _ZERO
    trades: int = 0
    resting: bool = False


class BacktestVenue:
    """The simulated venue; see the module docstring.

    Args:
        fees: maker and taker rates per pair.
        order_latency: the order-latency model (seconds per draw); also used for cancels.
        response_latency: seconds from the venue's report to the executor's seeing it.
        balances: the starting ledger per asset; ``None`` means unlimited funds, no ledger.
        fill_model: ``depth`` (walk the levels) or ``top`` (best level only).
        scheduler: where latency timers go (the replay transport in a backtest, so they
            share the frames' time line); ``None``: a :class:`Timeline` served by :meth:`run`.
        market: the books orders meet (fed by the transport at hand-over); when given,
            :meth:`observe_book` (the executor's copy of the tops) is ignored.
    """

    name = "backtest"

    def __init__(
        self,
        *,
        fees: FeeModel,
        order_latency: LatencyModel | None = None,
        response_latency: float = 0.0,
        balances: Mapping[str, Decimal] | None = None,
        fill_model: str = "depth",
        scheduler: Scheduler | None = None,
        market: MarketBooks | None = None,
    ) -> None:
        if fill_model not in ("depth", "top"):
            raise ValueError(f"fill_model must be 'depth' or 'top', got {fill_model!r}")
        self.fees = fees
        self.order_latency = order_latency or fixed_latency(0.0)
        self.response_latency = response_latency
        self.fill_model = fill_model
        self._ledger = dict(balances) if balances is not None else None
        self._send, self._events = trio.open_memory_channel[VenueEvent](math.inf)
        self._instruments: dict[str, Instrument] = {}
        self._rates: dict[str, Rates] = {}
        self._tops: dict[str, BookTop] = {}
        self._taken: dict[str, dict[tuple[bool, int], int]] = {}
        self._orders: dict[str, _Order] = {}
        self._resting: dict[str, list[_Order]] = {}
        self._ids = itertools.count(1)
        self._own_timeline = Timeline() if scheduler is None else None
        self._scheduler: Scheduler = scheduler or self._own_timeline  # type: ignore[assignment]
        self._market = market
        if market is not None:
            market.listen(self._on_market_change)
        self._running = False
        self._arrived = 0
        self._rejected = 0
        self._trades = 0

    # -- the Venue protocol ------------------------------------------------------------------

    @property
    def events(self) -> trio.MemoryReceiveChannel[VenueEvent]:
        """Execution reports, each one response latency after the venue made it."""
        return self._events

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Take orders until cancelled (serving the latency timers without a scheduler)."""
        try:
            async with trio.open_nursery() as nursery:
                if self._own_timeline is not None:
                    await nursery.start(self._own_timeline.run)
                self._running = True
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._running = False

    def observe_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Learn the pairs' rules (increments, minimums) and their fee rates."""
        for instrument in instruments:
            self._instruments[instrument.symbol] = instrument
            self._rates[instrument.symbol] = self.fees.rates_for(instrument)

    def observe_book(self, book: BookTop) -> None:
        """Take the newest replayed top of a pair; forget what was taken from changed levels.

        The same top seen twice changes nothing. Resting limit orders the new top crosses
        fill (as makers). Ignored when the venue has its own ``market``.
        """
        if self._market is None:
            self._take_top(book)

    def _on_market_change(self, symbol: str) -> None:
        """A frame changed ``symbol``'s book: only what was taken or rests there cares."""
        if self._taken.get(symbol) or self._resting.get(symbol):
            top = self._market.top(symbol) if self._market is not None else None
            if top is not None:
                self._take_top(top)

    def _current_top(self, symbol: str) -> BookTop | None:
        market = self._market
        if market is None:
            return self._tops.get(symbol)
        top = market.top(symbol)
        if top is not None:
            self._tops[symbol] = top
        return top

    def _take_top(self, book: BookTop) -> None:
        symbol = book.symbol
        previous = self._tops.get(symbol)
        if previous is book:
            return
        self._tops[symbol] = book
        taken = self._taken.get(symbol)
        if taken:
            old_bids = dict(previous.bids) if previous is not None else {}
            old_asks = dict(previous.asks) if previous is not None else {}
            new_bids, new_asks = dict(book.bids), dict(book.asks)
            for key in list(taken):
                is_ask, ticks = key
                old, new = (old_asks, new_asks) if is_ask else (old_bids, new_bids)
                if old.get(ticks) != new.get(ticks):
                    del taken[key]
        resting = self._resting.get(symbol)
        if resting:
            self._fill_resting(symbol, book, resting)

    async def submit(self, order: OrderRequest) -> None:
        """Send the order on its way; it meets the market one latency draw later.

        Raises:
            VenueUnavailable: the venue is not running.
        """
        if not self._running:
            raise VenueUnavailable(self.name, "not running")
        now = trio.current_time()
        known = self._orders.get(order.cl_ord_id)
        if known is not None:
            self._deliver(
                [
                    self._report(
                        order, known, ExecType.REJECTED, OrderState.REJECTED, now, DUPLICATE_REASON
                    )
                ]
            )
            await trio.lowlevel.checkpoint()
            return
        venue_order_id = f"B{next(self._ids):08d}"
        pending = ExecutionReport(
            cl_ord_id=order.cl_ord_id,
            exec_type=ExecType.PENDING_NEW,
            order_status=OrderState.PENDING,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=_ZERO,
            at=now,
            venue_order_id=venue_order_id,
        )
        tracked = _Order(order, venue_order_id, pending)
        self._orders[order.cl_ord_id] = tracked
        delay = self.order_latency()
        if delay > 0 or self._own_timeline is None:
            # through a given scheduler even at zero latency: the order meets the market once
            # its instant has settled, never halfway through that instant's frames
            self._scheduler.call_at(now + delay, partial(self._arrive, tracked))
        else:
            self._arrive(tracked)
        await trio.lowlevel.checkpoint()

    async def cancel(self, cl_ord_id: str) -> None:
        """Ask to cancel; the cancel travels one latency draw. Unknown ids are ignored."""
        tracked = self._orders.get(cl_ord_id)
        await trio.lowlevel.checkpoint()
        if tracked is None or tracked.last.order_status.terminal or not self._running:
            return
        delay = self.order_latency()
        if delay > 0 or self._own_timeline is None:
            self._scheduler.call_at(trio.current_time() + delay, partial(self._cancel, tracked))
        else:
            self._cancel(tracked)

    async def query(self, cl_ord_id: str) -> ExecutionReport | None:
        """The order's state now, as a STATUS report with its totals; None if never sent."""
        await trio.lowlevel.checkpoint()
        tracked = self._orders.get(cl_ord_id)
        if tracked is None:
            return None
        last = tracked.last
        return attrs.evolve(
            last,
            exec_type=ExecType.STATUS,
            cum_qty=tracked.cum_qty,
            cum_cost=tracked.cum_cost,
            cum_fee=tracked.cum_fee,
            at=trio.current_time(),
            exec_id="",
            last_qty=_ZERO,
            last_price=_ZERO,
            fee=_ZERO,
        )

    async def balances(self) -> dict[str, Decimal]:
        """The ledger (empty when funds are unlimited)."""
        await trio.lowlevel.checkpoint()
        return dict(self._ledger or {})

    # -- reading -----------------------------------------------------------------------------

    def statistics(self) -> VenueStatistics:
        """A snapshot of the counters."""
        return VenueStatistics(
            orders=len(self._orders),
            arrived=self._arrived,
            rejected=self._rejected,
            trades=self._trades,
            resting=sum(len(orders) for orders in self._resting.values()),
        )

    def ledger(self) -> dict[str, Decimal]:
        """The balances now (a copy; empty when funds are unlimited)."""
        return dict(self._ledger or {})

    def symbols(self) -> list[str]:
        """Symbols with a replayed book, sorted."""
        if self._market is not None:
            return self._market.symbols()
        return sorted(self._tops)

    def top(self, symbol: str) -> BookTop | None:
        """The newest replayed top of ``symbol``."""
        return self._current_top(symbol)

    # -- internals ---------------------------------------------------------------------------

    def _cancel(self, tracked: _Order) -> None:
        if tracked.last.order_status.terminal:
            return
        if tracked.resting:
            self._unrest(tracked)
        now = trio.current_time()
        self._deliver(
            [
                self._report(
                    tracked.request,
                    tracked,
                    ExecType.CANCELED,
                    OrderState.CANCELLED,
                    now,
                    USER_CANCEL_REASON,
                )
            ]
        )

    def _check(self, order: OrderRequest, now: float) -> str:
        if now > order.deadline:
            return DEADLINE_REASON
        instrument = self._instruments.get(order.symbol)
        top = self._current_top(order.symbol)
        if top is None:
            return UNKNOWN_PAIR_REASON
        if order.qty <= 0 or order.limit_price <= 0:
            return INVALID_REASON
        if instrument is not None:
            if order.limit_price % instrument.price_increment:
                return TICK_SIZE_REASON
            if order.qty % instrument.qty_increment:
                return INVALID_VOLUME_REASON
            if order.qty < instrument.qty_min:
                return ORDER_MINIMUM_REASON
            if order.qty * order.limit_price < instrument.cost_min:
                return COST_MINIMUM_REASON
        elif (order.qty.scaleb(top.qty_precision)) % 1:
            return INVALID_VOLUME_REASON
        if not self._affordable(order):
            return INSUFFICIENT_FUNDS_REASON
        return ""

    def _rates_of(self, symbol: str) -> Rates:
        rates = self._rates.get(symbol)
        if rates is None:
            base, quote = split_symbol(symbol)
            rates = self.fees.rates_for(
                Instrument(symbol, base, quote, 0, 0, _ZERO, _ZERO, _ZERO, _ZERO)
            )
        return rates

    def _affordable(self, order: OrderRequest) -> bool:
        if self._ledger is None:
            return True
        base, quote = split_symbol(order.symbol)
        if order.side is Side.BUY:
            rate = self._rates_of(order.symbol).taker
            needed, asset = order.qty * order.limit_price * (1 + rate), quote
        else:
            needed, asset = order.qty, base
        return self._ledger.get(asset, _ZERO) >= needed

    def _arrive(self, tracked: _Order) -> None:
        if tracked.last.order_status.terminal:  # cancelled in flight
            return
        self._arrived += 1
        order, now = tracked.request, trio.current_time()
        reason = self._check(order, now)
        if reason:
            self._rejected += 1
            self._deliver(
                [self._report(order, tracked, ExecType.REJECTED, OrderState.REJECTED, now, reason)]
            )
            return
        top = self._tops[order.symbol]  # just refreshed by _check
        reports = [self._report(order, tracked, ExecType.NEW, OrderState.OPEN, now)]
        buys = order.side is Side.BUY
        limit = order.limit_price.scaleb(top.price_precision)
        levels = top.asks if buys else top.bids
        if self.fill_model == "top":
            levels = levels[:1]
        taker = self._rates_of(order.symbol).taker
        for ticks, lots in levels:
            if (ticks > limit) if buys else (ticks < limit):
                break
            if not self._take(tracked, top, buys, ticks, lots, taker, "t", reports, now):
                break
        if tracked.cum_qty >= order.qty:
            reports.append(self._report(order, tracked, ExecType.FILLED, OrderState.FILLED, now))
        elif order.time_in_force == "ioc":
            reports.append(
                self._report(
                    order, tracked, ExecType.CANCELED, OrderState.CANCELLED, now, IOC_REASON
                )
            )
        else:
            tracked.resting = True
            self._resting.setdefault(order.symbol, []).append(tracked)
        self._deliver(reports)

    def _take(
        self,
        tracked: _Order,
        top: BookTop,
        buys: bool,
        ticks: int,
        lots: int,
        rate: Decimal,
        liquidity: str,
        reports: list[ExecutionReport],
        now: float,
        price_ticks: int | None = None,
    ) -> bool:
        """Take what is left of one level; False once the order is complete."""
        order = tracked.request
        wanted = int(order.qty.scaleb(top.qty_precision)) - tracked.cum_lots
        if wanted <= 0:
            return False
        taken = self._taken.setdefault(order.symbol, {})
        key = (buys, ticks)  # buys take asks (True), sells take bids (False)
        available = lots - taken.get(key, 0)
        qty_lots = min(wanted, available)
        if qty_lots <= 0:
            return True
        taken[key] = taken.get(key, 0) + qty_lots
        qty = Decimal(qty_lots).scaleb(-top.qty_precision)
        price = Decimal(ticks if price_ticks is None else price_ticks).scaleb(-top.price_precision)
        cost = qty * price
        fee = charged_fee(cost, rate)
        tracked.cum_lots += qty_lots
        tracked.cum_qty += qty
        tracked.cum_cost += cost
        tracked.cum_fee += fee
        tracked.trades += 1
        self._trades += 1
        self._book(order, qty, cost, fee)
        status = OrderState.FILLED if tracked.cum_qty >= order.qty else OrderState.PARTIALLY_FILLED
        reports.append(
            self._report(
                order,
                tracked,
                ExecType.TRADE,
                status,
                now,
                exec_id=f"{tracked.venue_order_id}-T{tracked.trades}",
                last_qty=qty,
                last_price=price,
                fee=fee,
                fee_asset=split_symbol(order.symbol)[1],
                liquidity=liquidity,
            )
        )
        return tracked.cum_qty < order.qty

    def _fill_resting(self, symbol: str, top: BookTop, resting: list[_Order]) -> None:
        now = trio.current_time()
        maker = self._rates_of(symbol).maker
        for tracked in list(resting):
            order = tracked.request
            buys = order.side is Side.BUY
            limit = order.limit_price.scaleb(top.price_precision)
            reports: list[ExecutionReport] = []
            for ticks, lots in top.asks if buys else top.bids:
                if (ticks > limit) if buys else (ticks < limit):
                    break
                if not self._take(
                    tracked, top, buys, ticks, lots, maker, "m", reports, now, int(limit)
                ):
                    break
            if tracked.cum_qty >= order.qty:
                reports.append(
                    self._report(order, tracked, ExecType.FILLED, OrderState.FILLED, now)
                )
                self._unrest(tracked)
            if reports:
                self._deliver(reports)

    def _unrest(self, tracked: _Order) -> None:
        tracked.resting = False
        orders = self._resting.get(tracked.request.symbol, [])
        if tracked in orders:
            orders.remove(tracked)

    def _book(self, order: OrderRequest, qty: Decimal, cost: Decimal, fee: Decimal) -> None:
        ledger = self._ledger
        if ledger is None:
            return
        base, quote = split_symbol(order.symbol)
        sign = 1 if order.side is Side.BUY else -1
        ledger[base] = ledger.get(base, _ZERO) + sign * qty
        ledger[quote] = ledger.get(quote, _ZERO) - sign * cost - fee

    def _report(
        self,
        order: OrderRequest,
        tracked: _Order,
        exec_type: ExecType,
        status: OrderState,
        now: float,
        reason: str = "",
        **trade: object,
    ) -> ExecutionReport:
        report = ExecutionReport(
            cl_ord_id=order.cl_ord_id,
            exec_type=exec_type,
            order_status=status,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=tracked.cum_qty,
            at=now,
            venue_order_id=tracked.venue_order_id,
            reason=reason,
            cum_cost=tracked.cum_cost,
            cum_fee=tracked.cum_fee,
            **trade,  # type: ignore[arg-type]
        )
        if reason != DUPLICATE_REASON:
            tracked.last = report
        return report

    def _deliver(self, reports: list[ExecutionReport]) -> None:
        delay = self.response_latency
        if delay > 0:
            self._scheduler.call_at(trio.current_time() + delay, partial(self._emit, reports))
        else:
            self._emit(reports)

    def _emit(self, reports: list[ExecutionReport]) -> None:
        for report in reports:
            self._send.send_nowait(report)
