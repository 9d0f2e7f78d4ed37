"""Orders and accounts of the matching engine, and the record of every order received."""

from __future__ import annotations

import enum
import random
import string
from decimal import Decimal
from typing import Any

import attrs

from arbitrade.sim._book import Side


class OrderStatus(enum.StrEnum):
    """REST order status (QueryOrders ``status``)."""

    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class OrderRejected(Exception):
    """An order or cancel refused with Kraken's error string (``EOrder:Insufficient funds``)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@attrs.define
class Fill:
    """One execution of an order."""

    exec_id: str
    trade_id: int
    price: int
    lots: int
    cost: Decimal
    fee: Decimal
    liquidity: str
    """"m" (maker) or "t" (taker)."""
    time: float


@attrs.define
class Order:
    """An order of one key, in integer ticks and lots."""

    order_id: str
    key: str
    symbol: str
    side: Side
    order_type: str
    """"limit" or "market"."""
    time_in_force: str
    """"gtc" or "ioc" (gtd is accepted and treated as gtc)."""
    post_only: bool
    lots: int
    limit_price: int | None
    cl_ord_id: str | None
    userref: int | None
    open_time: float
    status: OrderStatus = OrderStatus.PENDING
    filled_lots: int = 0
    cost: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    fills: list[Fill] = attrs.field(factory=list)
    close_time: float | None = None
    reason: str | None = None
    reserved: Decimal = Decimal(0)
    """Funds held for the open part (quote for buys, base for sells)."""
    resting: bool = False
    """True while the remainder sits in the book."""

    @property
    def remaining_lots(self) -> int:
        return self.lots - self.filled_lots

    @property
    def side_name(self) -> str:
        return "buy" if self.side is Side.BID else "sell"

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.PENDING, OrderStatus.OPEN)


@attrs.frozen
class ReceivedOrder:
    """A record of one order request as it reached the simulator (accepted or not).

    Kept for "no order was placed twice" checks: compare ``cl_ord_id`` values, or count.
    """

    sequence: int
    tick: int
    key: str
    transport: str
    """"rest" or "ws"."""
    method: str
    """AddOrder, add_order or batch_add."""
    params: dict[str, Any]
    cl_ord_id: str | None
    order_id: str | None
    error: str | None


@attrs.define
class Account:
    """Balances of one key (by v2 asset name) and its 30-day volume."""

    balances: dict[str, Decimal]
    held: dict[str, Decimal] = attrs.field(factory=dict)
    volume_30d_usd: Decimal = Decimal(0)

    def available(self, asset: str) -> Decimal:
        return self.balances.get(asset, Decimal(0)) - self.held.get(asset, Decimal(0))

    def hold(self, asset: str, amount: Decimal) -> None:
        self.held[asset] = self.held.get(asset, Decimal(0)) + amount

    def release(self, asset: str, amount: Decimal) -> None:
        self.held[asset] = max(Decimal(0), self.held.get(asset, Decimal(0)) - amount)

    def credit(self, asset: str, amount: Decimal) -> None:
        self.balances[asset] = self.balances.get(asset, Decimal(0)) + amount


class IdMaker:
    """Kraken-looking ids (``OQCLML-BW3P3-BUCMWZ``) from a seeded generator of their own."""

    _ALPHABET = string.ascii_uppercase + string.digits

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 - ids, not secrets

    def make(self, prefix: str) -> str:
        pick = self._random.choice
        body = "".join(pick(self._ALPHABET) for _ in range(15))
        return f"{prefix}{body[:5]}-{body[5:10]}-{body[10:]}"
