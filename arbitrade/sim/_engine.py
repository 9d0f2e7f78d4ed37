"""The matching engine: checks, fills limit, market and IOC orders against the model's books.

Taking liquidity removes it from the book (the next published update shows it); a limit
remainder rests in the book as the key's own quantity and fills as maker when the market trades
through its price. Fees come from the fee profiles; balances are kept per key. Every change is
reported as a Kraken v2 ``executions`` event through ``on_execution``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from arbitrade.sim._auth import DecayingCounter
from arbitrade.sim._book import Side
from arbitrade.sim._config import RATE_TIERS, ApiKey
from arbitrade.sim._errors import UnknownSymbol
from arbitrade.sim._fees import FeeSchedule
from arbitrade.sim._market import MarketModel, OwnFill, StepResult, Trade
from arbitrade.sim._numbers import to_units
from arbitrade.sim._orders import Account, Fill, IdMaker, Order, OrderRejected, OrderStatus
from arbitrade.sim._reports import execution_event
from arbitrade.sim._universe import Pair, Universe

ExecutionSink = Callable[[str, dict[str, Any]], None]

_CANCEL_PENALTY = ((5, 8), (10, 6), (15, 5), (45, 4), (90, 2), (300, 1))
_STATUS_ERRORS = {
    "maintenance": "EService:Unavailable",
    "cancel_only": "EService:Market in cancel_only mode",
    "post_only": "EService:Market in post_only mode",
}


@attrs.frozen
class OrderRequest:
    """An order as a client asked for it; numbers still untrusted text or JSON numbers."""

    symbol: str
    side: str
    order_type: str
    qty: object
    limit_price: object = None
    time_in_force: str = "gtc"
    post_only: bool = False
    cl_ord_id: str | None = None
    userref: int | None = None
    validate: bool = False


class MatchingEngine:
    """Orders, balances and fills of every key against one market model."""

    def __init__(
        self,
        model: MarketModel,
        fees: FeeSchedule,
        keys: Sequence[ApiKey],
        *,
        system_status: Callable[[], str],
        on_execution: ExecutionSink,
        clock: Callable[[], float],
        closed_orders_keep: int = 5_000,
    ) -> None:
        self.model = model
        self.universe: Universe = model.universe
        self.fees = fees
        self.accounts = {
            k.key: Account(dict(k.balances), volume_30d_usd=k.volume_30d_usd) for k in keys
        }
        self.orders: dict[str, Order] = {}
        """Open orders, and per key the last ``closed_orders_keep`` closed ones (the oldest
        closed order is forgotten first: QueryOrders then answers ``EOrder:Invalid order``)."""
        self.closed_orders_keep = closed_orders_keep
        self._closed: dict[str, deque[str]] = defaultdict(deque)
        self.trades: list[Trade] = []
        """Trades printed by keys' orders since the server last drained them."""
        self._keys = {k.key: k for k in keys}
        self._system_status = system_status
        self._emit = on_execution
        self._clock = clock
        self._ids = IdMaker(model.seed ^ 0x5EED)
        self._resting: dict[tuple[str, Side, int], list[Order]] = defaultdict(list)
        self._trade_counters: dict[tuple[str, str], DecayingCounter] = {}
        self._open_by_pair: dict[tuple[str, str], int] = defaultdict(int)

    # -- queries -----------------------------------------------------------------------------
    def open_orders(self, key: str) -> list[Order]:
        return [o for o in self.orders.values() if o.key == key and o.is_open]

    def find_orders(
        self,
        key: str,
        order_ids: Iterable[str] = (),
        cl_ord_ids: Iterable[str] = (),
        userrefs: Iterable[int] = (),
    ) -> list[Order]:
        """Orders of ``key`` matching any of the ids (open or closed)."""
        ids, cls, refs = set(order_ids), set(cl_ord_ids), set(userrefs)
        return [
            o
            for o in self.orders.values()
            if o.key == key
            and (
                o.order_id in ids
                or (o.cl_ord_id is not None and o.cl_ord_id in cls)
                or (o.userref is not None and o.userref in refs)
            )
        ]

    def pair_status(self, pair: Pair) -> str:
        return pair.status

    # -- placing -----------------------------------------------------------------------------
    def place(self, key: str, request: OrderRequest) -> Order | None:
        """Check and execute an order; return it (None for ``validate`` requests).

        Raises:
            OrderRejected: with Kraken's error string; nothing changed except the trading
                rate counter, which is charged its fixed part as Kraken does.
        """
        pair = self.universe.find_pair(request.symbol)
        if pair is None:
            raise OrderRejected("EQuery:Unknown asset pair")
        self._check_market_state(pair, request)
        if request.side not in ("buy", "sell") or request.order_type not in ("limit", "market"):
            raise OrderRejected("EGeneral:Invalid arguments")
        if request.time_in_force not in ("gtc", "ioc", "gtd"):
            raise OrderRejected("EGeneral:Invalid arguments")
        lots = to_units(request.qty, pair.qty_precision)
        if lots is None:
            if to_units(request.qty, 18) is None:
                raise OrderRejected("EGeneral:Invalid arguments")
            raise OrderRejected("EOrder:Tick size check failed")
        if lots <= 0:
            raise OrderRejected("EGeneral:Invalid arguments")
        price: int | None = None
        if request.order_type == "limit":
            price = to_units(request.limit_price, pair.price_precision)
            if price is None:
                if to_units(request.limit_price, 18) is None:
                    raise OrderRejected("EGeneral:Invalid arguments")
                raise OrderRejected("EOrder:Tick size check failed")
            if price <= 0:
                raise OrderRejected("EGeneral:Invalid arguments")
        if Decimal(lots).scaleb(-pair.qty_precision) < pair.ordermin:
            raise OrderRejected("EOrder:Order minimum not met")
        side = Side.BID if request.side == "buy" else Side.ASK
        estimate = self._estimate_cost(pair, side, lots, price)
        if estimate is None:
            raise OrderRejected(
                "EOrder:Insufficient liquidity" if price is None else "EGeneral:Invalid arguments"
            )
        if estimate < pair.costmin:
            raise OrderRejected("EOrder:Cost minimum not met")
        tier = RATE_TIERS[self._keys[key].rate_tier]
        counter = self._trade_counter(key, pair.symbol)
        if not counter.try_add(1.0):
            raise OrderRejected("EOrder:Rate limit exceeded")
        if self._open_by_pair[(key, pair.symbol)] >= tier[2]:
            raise OrderRejected("EOrder:Orders limit exceeded")
        account = self.accounts[key]
        taker_fee = self._fee_rate(key, pair, maker=False)
        if side is Side.BID:
            needed = estimate * (1 + taker_fee)
            if account.available(pair.quote.name) < needed:
                raise OrderRejected("EOrder:Insufficient funds")
        else:
            needed = Decimal(lots).scaleb(-pair.qty_precision)
            if account.available(pair.base.name) < needed:
                raise OrderRejected("EOrder:Insufficient funds")
        if request.validate:
            return None
        order = Order(
            order_id=self._ids.make("O"),
            key=key,
            symbol=pair.symbol,
            side=side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            post_only=request.post_only,
            lots=lots,
            limit_price=price,
            cl_ord_id=request.cl_ord_id,
            userref=request.userref,
            open_time=self._clock(),
        )
        self.orders[order.order_id] = order
        order.reserved = needed
        account.hold(pair.quote.name if side is Side.BID else pair.base.name, needed)
        self._report(order, pair, "pending_new")
        order.status = OrderStatus.OPEN
        self._report(order, pair, "new")
        self._execute(order, pair)
        return order

    def _check_market_state(self, pair: Pair, request: OrderRequest) -> None:
        system = self._system_status()
        if system in _STATUS_ERRORS and not (system == "post_only" and request.post_only):
            raise OrderRejected(_STATUS_ERRORS[system])
        status = pair.status
        if status == "cancel_only":
            raise OrderRejected("EService:Market in cancel_only mode")
        if status == "post_only" and not request.post_only:
            raise OrderRejected("EService:Market in post_only mode")
        if status == "limit_only" and request.order_type != "limit":
            raise OrderRejected("EService:Market in limit_only mode")
        if status == "reduce_only":
            raise OrderRejected("EService:Market in reduce_only mode")

    def _estimate_cost(
        self, pair: Pair, side: Side, lots: int, price: int | None
    ) -> Decimal | None:
        if price is not None:
            return Decimal(price * lots).scaleb(-(pair.price_precision + pair.qty_precision))
        book = self.model.book(pair.symbol)
        remaining, cost_units = lots, 0
        for level_price, level_lots in book.top(side.opposite, 1000):
            take = min(remaining, level_lots)
            cost_units += take * level_price
            remaining -= take
            if not remaining:
                break
        if remaining:
            return None
        return Decimal(cost_units).scaleb(-(pair.price_precision + pair.qty_precision))

    def _trade_counter(self, key: str, symbol: str) -> DecayingCounter:
        counter = self._trade_counters.get((key, symbol))
        if counter is None:
            maximum, decay = RATE_TIERS[self._keys[key].rate_tier][1]
            counter = DecayingCounter(maximum, decay, self._clock)
            self._trade_counters[(key, symbol)] = counter
        return counter

    def _fee_rate(self, key: str, pair: Pair, *, maker: bool) -> Decimal:
        profile = self.fees.stable if pair.stable_fees else self.fees.default
        tier = profile.tier_for(self.accounts[key].volume_30d_usd)
        return (tier.maker_percent if maker else tier.taker_percent) / 100

    # -- executing ---------------------------------------------------------------------------
    def _execute(self, order: Order, pair: Pair) -> None:
        book = self.model.book(pair.symbol)
        opposite = order.side.opposite
        crosses = self._crossing_prices(order, pair)
        if order.post_only and crosses:
            self._close(order, pair, OrderStatus.CANCELED, "Post only order")
            return
        for level_price in crosses:
            if order.remaining_lots == 0:
                break
            if any(
                o.key == order.key
                for o in self._resting.get((pair.symbol, opposite, level_price), ())
            ):
                self._close(order, pair, OrderStatus.CANCELED, "Self trade prevention")
                return
            synthetic = book.synthetic_quantity(opposite, level_price)
            take = min(order.remaining_lots, synthetic)
            if take:
                book.set_synthetic(opposite, level_price, synthetic - take)
                self._fill(order, pair, level_price, take, maker=False)
            queue = self._resting.get((pair.symbol, opposite, level_price), [])
            while queue and order.remaining_lots:
                resting = queue[0]
                take = min(order.remaining_lots, resting.remaining_lots)
                book.add_own(opposite, level_price, -take)
                self._fill(order, pair, level_price, take, maker=False)
                self._fill(resting, pair, level_price, take, maker=True)
                if resting.remaining_lots == 0:
                    self._close(resting, pair, OrderStatus.CLOSED, None)
        self.model.mark_changed(pair.symbol)
        if order.remaining_lots == 0:
            self._close(order, pair, OrderStatus.CLOSED, None)
        elif order.order_type == "market" or order.time_in_force == "ioc":
            reason = "Immediate or cancel" if order.time_in_force == "ioc" else "No liquidity"
            self._close(order, pair, OrderStatus.CANCELED, reason)
        else:
            assert order.limit_price is not None
            self._resting[(pair.symbol, order.side, order.limit_price)].append(order)
            book.add_own(order.side, order.limit_price, order.remaining_lots)
            order.resting = True
            self._open_by_pair[(order.key, pair.symbol)] += 1

    def _crossing_prices(self, order: Order, pair: Pair) -> list[int]:
        book = self.model.book(pair.symbol)
        prices = []
        for price in book.prices(order.side.opposite, 1000):
            if order.limit_price is not None and (
                price > order.limit_price if order.side is Side.BID else price < order.limit_price
            ):
                break
            prices.append(price)
        return prices

    def _fill(self, order: Order, pair: Pair, price: int, lots: int, *, maker: bool) -> None:
        scale = -(pair.price_precision + pair.qty_precision)
        cost = Decimal(price * lots).scaleb(scale)
        fee = (cost * self._fee_rate(order.key, pair, maker=maker)).quantize(
            Decimal(1).scaleb(-pair.cost_precision)
        )
        account = self.accounts[order.key]
        qty = Decimal(lots).scaleb(-pair.qty_precision)
        if order.side is Side.BID:
            release = min(order.reserved, cost + fee)
            account.release(pair.quote.name, release)
            order.reserved -= release
            account.credit(pair.quote.name, -(cost + fee))
            account.credit(pair.base.name, qty)
        else:
            account.release(pair.base.name, qty)
            order.reserved -= qty
            account.credit(pair.base.name, -qty)
            account.credit(pair.quote.name, cost - fee)
        profile = self.fees.stable if pair.stable_fees else self.fees.default
        if profile.counts_toward_volume:
            usd = Decimal(str(self.model.usd_price(pair.quote.name)))
            account.volume_30d_usd += (cost * usd).quantize(Decimal("0.01"))
        trade = Trade(
            pair.symbol,
            order.side_name,
            price,
            lots,
            order.order_type,
            self.model.next_trade_id(),
            self.model.tick,
        )
        if not maker:
            self.model.record_trade(trade)
            self.trades.append(trade)
        fill = Fill(
            self._ids.make("T"),
            trade.trade_id,
            price,
            lots,
            cost,
            fee,
            "m" if maker else "t",
            self._clock(),
        )
        order.filled_lots += lots
        order.cost += cost
        order.fee += fee
        order.fills.append(fill)
        self._report(order, pair, "trade", fill=fill)

    def _close(self, order: Order, pair: Pair, status: OrderStatus, reason: str | None) -> None:
        if order.resting:
            assert order.limit_price is not None
            queue = self._resting.get((pair.symbol, order.side, order.limit_price), [])
            if order in queue:
                queue.remove(order)
            if not queue:
                # Prices wander: an empty queue left behind would be kept for ever.
                self._resting.pop((pair.symbol, order.side, order.limit_price), None)
            if order.remaining_lots:
                self.model.book(pair.symbol).add_own(
                    order.side, order.limit_price, -order.remaining_lots
                )
            order.resting = False
            self._open_by_pair[(order.key, pair.symbol)] -= 1
            self.model.mark_changed(pair.symbol)
        if order.reserved > 0:
            asset = pair.quote.name if order.side is Side.BID else pair.base.name
            self.accounts[order.key].release(asset, order.reserved)
            order.reserved = Decimal(0)
        order.status = status
        order.reason = reason
        order.close_time = self._clock()
        exec_type = "filled" if status is OrderStatus.CLOSED else status.value
        self._report(order, pair, exec_type)
        self._remember_closed(order)

    def _remember_closed(self, order: Order) -> None:
        closed = self._closed[order.key]
        closed.append(order.order_id)
        while len(closed) > self.closed_orders_keep:
            self.orders.pop(closed.popleft(), None)

    # -- cancelling --------------------------------------------------------------------------
    def cancel(self, key: str, order: Order) -> None:
        """Cancel one open order of ``key``.

        Raises:
            OrderRejected: ``EService:Unavailable`` in maintenance; ``EOrder:Unknown order``
                when the order is not open; ``EOrder:Rate limit exceeded`` when the cancel
                penalty does not fit the pair's trading counter.
        """
        if self._system_status() == "maintenance":
            raise OrderRejected("EService:Unavailable")
        if order.key != key or not order.is_open:
            raise OrderRejected("EOrder:Unknown order")
        age = self._clock() - order.open_time
        penalty = next((p for limit, p in _CANCEL_PENALTY if age < limit), 0)
        if penalty and not self._trade_counter(key, order.symbol).try_add(penalty):
            raise OrderRejected("EOrder:Rate limit exceeded")
        pair = self.universe.pair(order.symbol)
        self._close(order, pair, OrderStatus.CANCELED, "User requested")

    def cancel_all(self, key: str) -> int:
        """Cancel every open order of ``key``; return how many (maintenance: rejected)."""
        if self._system_status() == "maintenance":
            raise OrderRejected("EService:Unavailable")
        return self.cancel_all_unchecked(key)

    def cancel_all_unchecked(self, key: str) -> int:
        """Cancel every open order of ``key`` whatever the engine state (dead man's switch)."""
        orders = self.open_orders(key)
        for order in orders:
            self._close(
                order, self.universe.pair(order.symbol), OrderStatus.CANCELED, "User requested"
            )
        return len(orders)

    # -- the market moves --------------------------------------------------------------------
    def settle_step(self, result: StepResult) -> None:
        """Fill resting orders at levels the market traded through during a model step."""
        for own_fill in result.own_fills:
            self._fill_level(own_fill)

    def _fill_level(self, own_fill: OwnFill) -> None:
        try:
            pair = self.universe.pair(own_fill.symbol)
        except UnknownSymbol:
            return
        queue = self._resting.pop((own_fill.symbol, own_fill.side, own_fill.price), [])
        for order in queue:
            # The level is already gone from the book: fill and close without touching it.
            order.resting = False
            self._open_by_pair[(order.key, pair.symbol)] -= 1
            self._fill(order, pair, own_fill.price, order.remaining_lots, maker=True)
            self._close(order, pair, OrderStatus.CLOSED, None)

    def _report(self, order: Order, pair: Pair, exec_type: str, fill: Fill | None = None) -> None:
        quote_usd = self.model.usd_price(pair.quote.name)
        self._emit(order.key, execution_event(order, pair, exec_type, fill, quote_usd))

    def drain_trades(self) -> list[Trade]:
        trades, self.trades = self.trades, []
        return trades
