"""How orders look on the wire: v2 ``executions`` events and REST OpenOrders/QueryOrders rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrade.sim._numbers import decimal_to_json, units_to_fixed, units_to_json
from arbitrade.sim._orders import Fill, Order, OrderStatus
from arbitrade.sim._time import rfc3339
from arbitrade.sim._universe import Pair

_V2_STATUS = {
    OrderStatus.PENDING: "pending_new",
    OrderStatus.OPEN: "new",
    OrderStatus.CLOSED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "expired",
}


def _v2_status(order: Order) -> str:
    if order.status is OrderStatus.OPEN and order.filled_lots:
        return "partially_filled"
    return _V2_STATUS[order.status]


def _avg_price(order: Order, pair: Pair) -> Decimal:
    if not order.filled_lots:
        return Decimal(0)
    qty = Decimal(order.filled_lots).scaleb(-pair.qty_precision)
    return (order.cost / qty).quantize(Decimal(1).scaleb(-pair.price_precision))


def execution_event(
    order: Order, pair: Pair, exec_type: str, fill: Fill | None, quote_usd: float
) -> dict[str, Any]:
    """One element of an ``executions`` message's ``data`` for this order and event."""
    event: dict[str, Any] = {
        "order_id": order.order_id,
        "symbol": pair.symbol,
        "exec_type": exec_type,
        "order_status": _v2_status(order),
        "side": order.side_name,
        "order_type": order.order_type,
        "order_qty": units_to_json(order.lots, pair.qty_precision),
        "time_in_force": order.time_in_force.upper(),
        "cum_qty": units_to_json(order.filled_lots, pair.qty_precision),
        "cum_cost": decimal_to_json(order.cost),
        "avg_price": decimal_to_json(_avg_price(order, pair)),
        "fee_usd_equiv": decimal_to_json(
            (order.fee * Decimal(str(quote_usd))).quantize(Decimal("0.00001"))
        ),
        "fee_ccy_pref": "fciq",
        "timestamp": rfc3339(
            fill.time if fill is not None else order.close_time or order.open_time
        ),
    }
    if order.limit_price is not None:
        event["limit_price"] = units_to_json(order.limit_price, pair.price_precision)
        event["limit_price_type"] = "static"
    if order.post_only:
        event["post_only"] = True
    if order.cl_ord_id is not None:
        event["cl_ord_id"] = order.cl_ord_id
    if order.userref is not None:
        event["order_userref"] = order.userref
    if fill is not None:
        event.update(
            exec_id=fill.exec_id,
            trade_id=fill.trade_id,
            last_qty=units_to_json(fill.lots, pair.qty_precision),
            last_price=units_to_json(fill.price, pair.price_precision),
            cost=decimal_to_json(fill.cost),
            liquidity_ind=fill.liquidity,
            fees=[{"asset": pair.quote.name, "qty": decimal_to_json(fill.fee)}],
        )
        if order.remaining_lots == 0:
            event["order_status"] = "filled"
    if exec_type in ("canceled", "expired") and order.reason:
        event["reason"] = order.reason
        event["cancel_reason"] = order.reason
    return event


def describe(order: Order, pair: Pair) -> str:
    """AddOrder's ``descr.order`` text: ``buy 1.25000000 XBTUSD @ limit 27500.0``."""
    qty = units_to_fixed(order.lots, pair.qty_precision)
    if order.limit_price is None:
        return f"{order.side_name} {qty} {pair.altname} @ market"
    price = units_to_fixed(order.limit_price, pair.price_precision)
    return f"{order.side_name} {qty} {pair.altname} @ limit {price}"


def rest_order_info(order: Order, pair: Pair, *, trades: bool = False) -> dict[str, Any]:
    """An order as OpenOrders / QueryOrders show it (strings for numbers)."""
    price = units_to_fixed(order.limit_price or 0, pair.price_precision)
    avg = _avg_price(order, pair)
    info: dict[str, Any] = {
        "refid": None,
        "userref": order.userref or 0,
        "cl_ord_id": order.cl_ord_id,
        "status": order.status.value,
        "opentm": round(order.open_time, 4),
        "starttm": 0,
        "expiretm": 0,
        "descr": {
            "pair": pair.altname,
            "type": order.side_name,
            "ordertype": order.order_type,
            "price": price,
            "price2": "0",
            "leverage": "none",
            "order": describe(order, pair),
            "close": "",
        },
        "vol": units_to_fixed(order.lots, pair.qty_precision),
        "vol_exec": units_to_fixed(order.filled_lots, pair.qty_precision),
        "cost": format(order.cost.quantize(Decimal(1).scaleb(-pair.cost_precision)), "f"),
        "fee": format(order.fee.quantize(Decimal(1).scaleb(-pair.cost_precision)), "f"),
        "price": format(avg, "f"),
        "stopprice": "0.00000",
        "limitprice": "0.00000",
        "misc": "",
        "oflags": "fciq,post" if order.post_only else "fciq",
    }
    if order.cl_ord_id is None:
        del info["cl_ord_id"]
    if order.close_time is not None and not order.is_open:
        info["closetm"] = round(order.close_time, 4)
        info["reason"] = order.reason
    if trades and order.fills:
        info["trades"] = [fill.exec_id for fill in order.fills]
    return info
