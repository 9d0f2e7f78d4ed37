"""Builders of order requests and execution reports for execution tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrade.execution import ExecType, ExecutionReport, OrderRequest
from arbitrade.messages import OrderState, Side

D = Decimal


def request(cl_ord_id: str = "c1", **changes: Any) -> OrderRequest:
    """A buy of 1 BTC/USD at 100, deadline t=5."""
    values: dict[str, Any] = {
        "cl_ord_id": cl_ord_id,
        "symbol": "BTC/USD",
        "side": Side.BUY,
        "qty": D(1),
        "limit_price": D(100),
        "deadline": 5.0,
    }
    values.update(changes)
    return OrderRequest(**values)


def report(
    exec_type: ExecType,
    status: OrderState,
    cum: str = "0",
    *,
    cl_ord_id: str = "c1",
    qty: str = "1",
    **changes: Any,
) -> ExecutionReport:
    """A report for order ``cl_ord_id`` (BTC/USD buy of ``qty``)."""
    values: dict[str, Any] = {
        "cl_ord_id": cl_ord_id,
        "exec_type": exec_type,
        "order_status": status,
        "symbol": "BTC/USD",
        "side": Side.BUY,
        "order_qty": D(qty),
        "cum_qty": D(cum),
        "at": 1.0,
    }
    values.update(changes)
    return ExecutionReport(**values)


def trade(
    exec_id: str, last_qty: str, cum: str, price: str = "100", *, fee: str = "0.4", **kw: Any
) -> ExecutionReport:
    """A trade report of ``last_qty`` at ``price`` bringing the order to ``cum``."""
    status = kw.pop("status", None)
    qty = D(kw.get("qty", "1"))
    if status is None:
        status = OrderState.FILLED if D(cum) >= qty else OrderState.PARTIALLY_FILLED
    return report(
        ExecType.TRADE,
        status,
        cum,
        exec_id=exec_id,
        last_qty=D(last_qty),
        last_price=D(price),
        fee=D(fee),
        fee_asset="USD",
        **kw,
    )
