"""Typed messages of Kraken's private WebSocket v2 side: executions and trading requests.

Requests (:class:`AddOrder`, :class:`CancelOrder`, ...) are built by callers and turned into
``params`` by :meth:`to_params`; the client adds ``token`` and ``req_id``. Responses are decoded
into the ``...Ack`` classes (or :class:`~arbitrade.kraken.RequestRejected` on failure).
Decimal quantities are written as JSON numbers formatted from the Decimal, never via float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "AddOrder",
    "AddOrderAck",
    "BatchAddAck",
    "BatchCancelAck",
    "CancelAfterAck",
    "CancelAllAck",
    "CancelOrder",
    "CancelOrderAck",
    "Execution",
    "ExecutionsMessage",
    "Fee",
    "OrderAck",
]


@attrs.frozen
class AddOrder:
    """One order for ``add_order`` (or an entry of ``batch_add``, where ``symbol`` is shared).

    ``deadline`` is an RFC 3339 time 0.5 s to 60 s ahead; Kraken refuses a late order with
    ``EService:Deadline elapsed`` instead of matching it stale.
    """

    side: str
    """``buy`` or ``sell``."""
    order_qty: Decimal
    symbol: str
    order_type: str = "limit"
    limit_price: Decimal | None = None
    time_in_force: str | None = None
    """``gtc``, ``gtd`` or ``ioc``; None leaves Kraken's default (gtc)."""
    cl_ord_id: str | None = None
    post_only: bool | None = None
    validate: bool | None = None
    deadline: str | None = None

    def to_params(self, *, include_symbol: bool = True) -> dict[str, Any]:
        """The request's ``params`` (without ``token``), omitting unset fields."""
        params: dict[str, Any] = {
            "order_type": self.order_type,
            "side": self.side,
            "order_qty": self.order_qty,
        }
        if include_symbol:
            params["symbol"] = self.symbol
        optional = {
            "limit_price": self.limit_price,
            "time_in_force": self.time_in_force,
            "cl_ord_id": self.cl_ord_id,
            "post_only": self.post_only,
            "validate": self.validate,
            "deadline": self.deadline,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        return params


@attrs.frozen
class CancelOrder:
    """Orders to cancel by Kraken id, client id or userref (Kraken answers once per order)."""

    order_id: tuple[str, ...] = ()
    cl_ord_id: tuple[str, ...] = ()
    order_userref: tuple[int, ...] = ()

    def to_params(self) -> dict[str, Any]:
        """The request's ``params`` (without ``token``).

        Raises:
            ValueError: no order was named.
        """
        params: dict[str, Any] = {}
        if self.order_id:
            params["order_id"] = list(self.order_id)
        if self.cl_ord_id:
            params["cl_ord_id"] = list(self.cl_ord_id)
        if self.order_userref:
            params["order_userref"] = list(self.order_userref)
        if not params:
            raise ValueError("CancelOrder needs at least one order_id, cl_ord_id or order_userref")
        return params


@attrs.frozen
class OrderAck:
    """One accepted order of ``add_order`` or ``batch_add``."""

    order_id: str
    cl_ord_id: str | None = None
    order_userref: int | None = None
    warnings: tuple[str, ...] = ()


@attrs.frozen
class AddOrderAck:
    """``add_order`` succeeded: Kraken has the order (its fate follows on ``executions``)."""

    req_id: int | None
    order: OrderAck
    time_in: str | None = None
    time_out: str | None = None


@attrs.frozen
class CancelOrderAck:
    """``cancel_order`` succeeded for one order."""

    req_id: int | None
    order_id: str | None
    cl_ord_id: str | None = None
    warnings: tuple[str, ...] = ()


@attrs.frozen
class BatchAddAck:
    """``batch_add`` succeeded: one :class:`OrderAck` per order, in request order."""

    req_id: int | None
    orders: tuple[OrderAck, ...]


@attrs.frozen
class BatchCancelAck:
    """``batch_cancel`` succeeded; ``count`` orders were cancelled."""

    req_id: int | None
    count: int


@attrs.frozen
class CancelAllAck:
    """``cancel_all`` succeeded; ``count`` orders were cancelled."""

    req_id: int | None
    count: int


@attrs.frozen
class CancelAfterAck:
    """``cancel_all_orders_after`` armed (or, with timeout 0, disarmed) the dead man's switch."""

    req_id: int | None
    current_time: str
    trigger_time: str


@attrs.frozen
class Fee:
    """One fee charged on a fill."""

    asset: str
    qty: Decimal


@attrs.frozen
class Execution:
    """One order lifecycle event of the ``executions`` channel.

    Only ``exec_type`` and ``order_id`` are always present; the rest depends on the event
    (a ``trade`` carries ``last_qty``/``last_price``/``fees``, a ``canceled`` its ``reason``).
    """

    exec_type: str
    order_id: str
    cl_ord_id: str | None = None
    order_userref: int | None = None
    exec_id: str | None = None
    order_status: str | None = None
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    order_qty: Decimal | None = None
    limit_price: Decimal | None = None
    cum_qty: Decimal | None = None
    cum_cost: Decimal | None = None
    cost: Decimal | None = None
    avg_price: Decimal | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    fees: tuple[Fee, ...] = ()
    fee_usd_equiv: Decimal | None = None
    liquidity_ind: str | None = None
    reason: str | None = None
    timestamp: str | None = None


@attrs.frozen
class ExecutionsMessage:
    """The ``executions`` channel: a snapshot of open orders (and fills), then updates."""

    type: str
    sequence: int | None
    executions: tuple[Execution, ...]
