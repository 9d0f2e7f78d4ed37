"""One valid WebSocket v2 frame of every kind the client decodes, shaped as Kraken documents them.

The fuzzers start from these and break them; each one decodes cleanly as it is (a test pins
that, so a fuzz run that only ever sees DecodeErrors cannot pass by accident).
"""

from __future__ import annotations

from typing import Any

TIME_IN = "2023-09-25T09:04:31.742599Z"
TIME_OUT = "2023-09-25T09:04:31.742648Z"

BOOK_SNAPSHOT: dict[str, Any] = {
    "channel": "book",
    "type": "snapshot",
    "data": [
        {
            "symbol": "BTC/USD",
            "bids": [{"price": 45283.5, "qty": 0.1}, {"price": 45283.4, "qty": 1.5}],
            "asks": [{"price": 45285.2, "qty": 0.001}, {"price": 45286.4, "qty": 1.0}],
            "checksum": 2439117997,
            "timestamp": "2023-10-06T17:35:55.440295Z",
        }
    ],
}

BOOK_UPDATE: dict[str, Any] = {
    "channel": "book",
    "type": "update",
    "data": [
        {
            "symbol": "BTC/USD",
            "bids": [{"price": 45283.5, "qty": 0.0}],
            "asks": [{"price": 45285.3, "qty": 0.0001}],
            "checksum": 3310070434,
            "timestamp": "2023-10-06T17:35:55.440295Z",
        }
    ],
}

INSTRUMENT: dict[str, Any] = {
    "channel": "instrument",
    "type": "snapshot",
    "data": {
        "assets": [
            {"id": "BTC", "status": "enabled", "precision": 10, "precision_display": 5,
             "borrowable": True, "collateral_value": 1.0, "margin_rate": 0.01},
        ],
        "pairs": [
            {"symbol": "ETH/USD", "base": "ETH", "quote": "USD", "status": "online",
             "qty_precision": 8, "qty_increment": 0.00000001, "price_precision": 2,
             "cost_precision": 5, "marginable": True, "has_index": True, "cost_min": 0.5,
             "margin_initial": 0.2, "position_limit_long": 1000, "position_limit_short": 600,
             "tick_size": 0.01, "price_increment": 0.01, "qty_min": 0.002},
        ],
    },
}  # fmt: skip

TICKER: dict[str, Any] = {
    "channel": "ticker",
    "type": "snapshot",
    "data": [
        {"symbol": "ALGO/USD", "bid": 0.10025, "bid_qty": 740.0, "ask": 0.10036,
         "ask_qty": 1361.44813783, "last": 0.10035, "volume": 997038.98383185,
         "vwap": 0.10148, "low": 0.09979, "high": 0.10285, "change": -0.00017,
         "change_pct": -0.17, "timestamp": "2023-09-25T09:04:31.742599Z"},
    ],
}  # fmt: skip

TRADE: dict[str, Any] = {
    "channel": "trade",
    "type": "update",
    "data": [
        {"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, "qty": 40.0,
         "ord_type": "market", "trade_id": 4665906, "timestamp": "2023-09-25T07:49:37.708706Z"},
    ],
}  # fmt: skip

OHLC: dict[str, Any] = {
    "channel": "ohlc",
    "type": "update",
    "timestamp": "2023-10-04T16:26:30.524394914Z",
    "data": [
        {"symbol": "MATIC/USD", "open": 0.5624, "high": 0.5628, "low": 0.5622, "close": 0.5627,
         "vwap": 0.5626, "trades": 12, "volume": 1463.1, "interval_begin":
         "2023-10-04T16:25:00.000000000Z", "interval": 5},
    ],
}  # fmt: skip

EXECUTIONS: dict[str, Any] = {
    "channel": "executions",
    "type": "update",
    "sequence": 42,
    "data": [
        {"exec_type": "trade", "order_id": "OZ7TUI-MPXNS-4MJ7FO", "cl_ord_id": "abc-1",
         "order_userref": 0, "exec_id": "TSKY4A-BURYW-DAMSJA", "order_status": "filled",
         "symbol": "BTC/USD", "side": "buy", "order_type": "limit", "order_qty": 0.1,
         "limit_price": 26500.0, "cum_qty": 0.1, "cum_cost": 2650.0, "cost": 2650.0,
         "avg_price": 26500.0, "last_qty": 0.1, "last_price": 26500.0,
         "fees": [{"asset": "USD", "qty": 10.6}], "fee_usd_equiv": 10.6,
         "liquidity_ind": "t", "timestamp": "2023-09-22T10:33:05.709993Z"},
    ],
}  # fmt: skip

STATUS: dict[str, Any] = {
    "channel": "status",
    "type": "update",
    "data": [
        {"api_version": "v2", "connection_id": 12393906104898154338, "system": "online",
         "version": "2.0.0"}
    ],
}  # fmt: skip

HEARTBEAT: dict[str, Any] = {"channel": "heartbeat"}

PONG: dict[str, Any] = {"method": "pong", "req_id": 101, "time_in": TIME_IN, "time_out": TIME_OUT}


def _ack(method: str, result: Any) -> dict[str, Any]:
    return {"method": method, "req_id": 7, "result": result, "success": True,
            "time_in": TIME_IN, "time_out": TIME_OUT}  # fmt: skip


SUBSCRIBE_ACK = _ack(
    "subscribe",
    {"channel": "ticker", "snapshot": True, "symbol": "ALGO/USD", "warnings": ["deprecated"]},
)
UNSUBSCRIBE_ACK = _ack("unsubscribe", {"channel": "book", "symbol": "BTC/USD", "depth": 10})
ADD_ORDER_ACK = _ack(
    "add_order", {"order_id": "OPS23M-VS41G-DDE5Z2", "cl_ord_id": "c1", "order_userref": 3}
)
CANCEL_ORDER_ACK = _ack("cancel_order", {"order_id": "1V7PZA-L5RIM-RX2G6B"})
BATCH_ADD_ACK = _ack("batch_add", [{"order_id": "A"}, {"order_id": "B", "cl_ord_id": "c2"}])
BATCH_CANCEL_ACK = _ack("batch_cancel", {"count": 2})
CANCEL_ALL_ACK = _ack("cancel_all", {"count": 3})
CANCEL_AFTER_ACK = _ack(
    "cancel_all_orders_after",
    {"currentTime": "2023-09-21T15:49:29Z", "triggerTime": "2023-09-21T15:51:09Z"},
)
REJECTED: dict[str, Any] = {
    "error": "Currency pair not supported ABC/USD",
    "method": "subscribe",
    "req_id": 8,
    "success": False,
    "symbol": "ABC/USD",
    "time_in": TIME_IN,
    "time_out": TIME_OUT,
}

EVERY_FRAME: dict[str, dict[str, Any]] = {
    "book_snapshot": BOOK_SNAPSHOT,
    "book_update": BOOK_UPDATE,
    "instrument": INSTRUMENT,
    "ticker": TICKER,
    "trade": TRADE,
    "ohlc": OHLC,
    "executions": EXECUTIONS,
    "status": STATUS,
    "heartbeat": HEARTBEAT,
    "pong": PONG,
    "subscribe_ack": SUBSCRIBE_ACK,
    "unsubscribe_ack": UNSUBSCRIBE_ACK,
    "add_order_ack": ADD_ORDER_ACK,
    "cancel_order_ack": CANCEL_ORDER_ACK,
    "batch_add_ack": BATCH_ADD_ACK,
    "batch_cancel_ack": BATCH_CANCEL_ACK,
    "cancel_all_ack": CANCEL_ALL_ACK,
    "cancel_after_ack": CANCEL_AFTER_ACK,
    "rejected": REJECTED,
}
"""Every valid frame above by name."""

PRECISIONS = {"BTC/USD": (1, 8)}
"""What the decoder must know to read the book frames above."""
