"""Raw WebSocket v2 frames to typed messages, and typed requests to frames.

:class:`Decoder` is stateful in one way: it knows each symbol's price and qty precisions
(learnt from ``instrument`` frames, or registered by the caller), because ``book`` levels are
decoded straight into integer ticks and lots. Decoding never raises: a frame that is not JSON,
not a known message, or has a field that does not fit becomes a :class:`DecodeError` value,
counted in :meth:`Decoder.statistics` and logged as ``kraken.decode_error``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import attrs
import orjson
import structlog

from arbitrade.kraken._book_codec import Precision, decode_book_item, decode_book_item_fast
from arbitrade.kraken._fields import (
    Malformed,
    get_bool,
    get_decimal,
    get_int,
    get_list,
    get_object,
    get_str,
    opt_decimal,
    opt_int,
    opt_str,
    str_tuple,
)
from arbitrade.kraken._messages import (
    AssetInfo,
    BookBatch,
    BookMessage,
    Candle,
    DecodeError,
    Heartbeat,
    InstrumentMessage,
    OhlcMessage,
    PairInfo,
    Pong,
    RequestRejected,
    Status,
    SubscriptionAck,
    Ticker,
    TickerMessage,
    Trade,
    TradeMessage,
)
from arbitrade.kraken._numbers import NeedsExactParse
from arbitrade.kraken._trading_messages import (
    AddOrderAck,
    BatchAddAck,
    BatchCancelAck,
    CancelAfterAck,
    CancelAllAck,
    CancelOrderAck,
    Execution,
    ExecutionsMessage,
    Fee,
    OrderAck,
)

__all__ = ["Decoder", "DecoderStatistics", "Message", "encode_request"]

log = structlog.get_logger("arbitrade.kraken.codec")

Message = (
    BookMessage
    | BookBatch
    | Heartbeat
    | Status
    | Pong
    | SubscriptionAck
    | RequestRejected
    | InstrumentMessage
    | TickerMessage
    | TradeMessage
    | OhlcMessage
    | ExecutionsMessage
    | AddOrderAck
    | CancelOrderAck
    | BatchAddAck
    | BatchCancelAck
    | CancelAllAck
    | CancelAfterAck
    | DecodeError
)
"""Everything :meth:`Decoder.decode` can return."""

EXCERPT_LENGTH: Final = 200
_HEARTBEAT: Final = Heartbeat()
_CHANNEL_TYPES: Final = frozenset({"snapshot", "update"})
# Channels whose numbers have no precision we know: always read with the exact parser.
_EXACT_CHANNELS: Final = frozenset({"instrument", "ticker", "trade", "ohlc", "executions"})


@attrs.frozen
class DecoderStatistics:
    """Counters of one :class:`Decoder` since it was made."""

    frames: int
    """Frames passed to :meth:`Decoder.decode`."""
    decode_errors: int
    """Frames that became :class:`DecodeError`."""
    exact_parses: int
    """Frames read with the Decimal-preserving parser (non-book channels, huge book numbers)."""


class Decoder:
    """Decodes Kraken WebSocket v2 frames into messages. One per connection (or replay)."""

    def __init__(self, precisions: dict[str, tuple[int, int]] | None = None) -> None:
        """Start with optional ``{symbol: (price_precision, qty_precision)}``.

        Symbols missing here are learnt from ``instrument`` frames; a ``book`` frame for a
        symbol with no known precision decodes to a :class:`DecodeError`.
        """
        self._precisions: dict[str, Precision] = {}
        for symbol, (price_precision, qty_precision) in (precisions or {}).items():
            self.set_precision(symbol, price_precision, qty_precision)
        self._frames = 0
        self._errors = 0
        self._reparses = 0

    def set_precision(self, symbol: str, price_precision: int, qty_precision: int) -> None:
        """Record (or change) a symbol's precisions for decoding its book levels."""
        self._precisions[symbol] = Precision(price_precision, qty_precision)

    def precision(self, symbol: str) -> tuple[int, int] | None:
        """``(price_precision, qty_precision)`` of ``symbol`` if known."""
        found = self._precisions.get(symbol)
        return None if found is None else (found.price_precision, found.qty_precision)

    def statistics(self) -> DecoderStatistics:
        """A snapshot of the counters."""
        return DecoderStatistics(self._frames, self._errors, self._reparses)

    def decode(self, raw: str | bytes) -> Message:
        """One frame as a typed message; never raises.

        Returns :class:`DecodeError` (and counts and logs it) for a frame that is not JSON,
        whose ``channel``/``method`` is unknown, or whose fields do not fit.
        """
        self._frames += 1
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._error(f"not JSON: {exc}", raw)
        try:
            try:
                if obj.__class__ is dict and obj.get("channel") == "book":
                    data = obj.get("data")
                    kind = obj.get("type")
                    if (
                        data.__class__ is list
                        and len(data) == 1
                        and (kind == "update" or kind == "snapshot")
                    ):
                        message = decode_book_item_fast(
                            data[0], kind == "snapshot", self._precisions
                        )
                        if message is not None:
                            return message
                    return self._book(obj)
                if obj.__class__ is dict and obj.get("channel") in _EXACT_CHANNELS:
                    self._reparses += 1
                    return self._dispatch(json.loads(raw, parse_float=Decimal))
                return self._dispatch(obj)
            except NeedsExactParse:
                self._reparses += 1
                return self._dispatch(json.loads(raw, parse_float=Decimal))
        except Malformed as exc:
            return self._error(str(exc), raw)
        except NeedsExactParse:  # pragma: no cover - the exact parser gives no floats
            return self._error("a number could not be read exactly", raw)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            return self._error(f"unexpected shape: {type(exc).__name__}: {exc}", raw)

    def _error(self, reason: str, raw: str | bytes) -> DecodeError:
        self._errors += 1
        text = raw if isinstance(raw, str) else raw[:EXCERPT_LENGTH].decode("utf-8", "replace")
        excerpt = text[:EXCERPT_LENGTH]
        log.warning("kraken.decode_error", reason=reason, excerpt=excerpt)
        return DecodeError(reason, excerpt)

    def _book(self, obj: dict[str, Any]) -> BookMessage | BookBatch:
        kind = _channel_type(obj)
        items = get_list(obj, "data", "data")
        if not items:
            raise Malformed("data: empty")
        messages = tuple(
            decode_book_item(item, kind == "snapshot", self._precisions) for item in items
        )
        return messages[0] if len(messages) == 1 else BookBatch(messages)

    def _dispatch(self, obj: Any) -> Message:
        if not isinstance(obj, dict):
            raise Malformed(f"frame: expected an object, got {type(obj).__name__}")
        channel = obj.get("channel")
        if channel is not None:
            if channel == "book":
                return self._book(obj)
            decoder = _CHANNELS.get(channel)
            if decoder is None:
                raise Malformed(f"channel: unknown {channel!r:.40}")
            if channel == "instrument":
                message = decoder(obj)
                assert isinstance(message, InstrumentMessage)
                for pair in message.pairs:
                    self.set_precision(pair.symbol, pair.price_precision, pair.qty_precision)
                return message
            return decoder(obj)
        method = obj.get("method")
        if method is None:
            raise Malformed("frame: neither 'channel' nor 'method'")
        return _response(obj, method)


def _channel_type(obj: dict[str, Any]) -> str:
    kind = get_str(obj, "type", "type")
    if kind not in _CHANNEL_TYPES:
        raise Malformed(f"type: expected 'snapshot' or 'update', got {kind!r:.40}")
    return kind


def _items(obj: dict[str, Any]) -> list[dict[str, Any]]:
    items = get_list(obj, "data", "data")
    return [get_object(items, i, f"data[{i}]") for i in range(len(items))]


def _heartbeat(obj: dict[str, Any]) -> Heartbeat:
    return _HEARTBEAT


def _status(obj: dict[str, Any]) -> Status:
    items = _items(obj)
    if len(items) != 1:
        raise Malformed(f"data: status carries exactly one element, got {len(items)}")
    item = items[0]
    connection_id = get_int(item, "connection_id", "data[0].connection_id")
    if not 0 <= connection_id < 2**64:
        raise Malformed(f"data[0].connection_id: not unsigned 64-bit: {connection_id}")
    return Status(
        system=get_str(item, "system", "data[0].system"),
        api_version=get_str(item, "api_version", "data[0].api_version"),
        connection_id=connection_id,
        version=get_str(item, "version", "data[0].version"),
    )


def _instrument(obj: dict[str, Any]) -> InstrumentMessage:
    kind = _channel_type(obj)
    data = get_object(obj, "data", "data")
    assets = []
    for i, item in enumerate(get_list(data, "assets", "data.assets")):
        path = f"data.assets[{i}]"
        item = get_object(data["assets"], i, path)
        assets.append(
            AssetInfo(
                id=get_str(item, "id", f"{path}.id"),
                status=get_str(item, "status", f"{path}.status"),
                precision=get_int(item, "precision", f"{path}.precision"),
                precision_display=get_int(item, "precision_display", f"{path}.precision_display"),
            )
        )
    pairs = []
    for i, _ in enumerate(get_list(data, "pairs", "data.pairs")):
        path = f"data.pairs[{i}]"
        item = get_object(data["pairs"], i, path)
        price_precision = get_int(item, "price_precision", f"{path}.price_precision")
        qty_precision = get_int(item, "qty_precision", f"{path}.qty_precision")
        if not (0 <= price_precision <= 15 and 0 <= qty_precision <= 15):
            raise Malformed(f"{path}: precisions must be 0..15")
        pairs.append(
            PairInfo(
                symbol=get_str(item, "symbol", f"{path}.symbol"),
                base=get_str(item, "base", f"{path}.base"),
                quote=get_str(item, "quote", f"{path}.quote"),
                status=get_str(item, "status", f"{path}.status"),
                price_precision=price_precision,
                qty_precision=qty_precision,
                price_increment=get_decimal(item, "price_increment", f"{path}.price_increment"),
                qty_increment=get_decimal(item, "qty_increment", f"{path}.qty_increment"),
                qty_min=get_decimal(item, "qty_min", f"{path}.qty_min"),
                cost_min=opt_decimal(item, "cost_min", f"{path}.cost_min"),
                cost_precision=opt_int(item, "cost_precision", f"{path}.cost_precision"),
                marginable=bool(item.get("marginable", False)),
            )
        )
    return InstrumentMessage(kind, tuple(assets), tuple(pairs))


def _ticker(obj: dict[str, Any]) -> TickerMessage:
    kind = _channel_type(obj)
    tickers = []
    for i, item in enumerate(_items(obj)):
        p = f"data[{i}]"
        tickers.append(
            Ticker(
                symbol=get_str(item, "symbol", f"{p}.symbol"),
                bid=get_decimal(item, "bid", f"{p}.bid"),
                bid_qty=get_decimal(item, "bid_qty", f"{p}.bid_qty"),
                ask=get_decimal(item, "ask", f"{p}.ask"),
                ask_qty=get_decimal(item, "ask_qty", f"{p}.ask_qty"),
                last=get_decimal(item, "last", f"{p}.last"),
                volume=get_decimal(item, "volume", f"{p}.volume"),
                vwap=get_decimal(item, "vwap", f"{p}.vwap"),
                low=get_decimal(item, "low", f"{p}.low"),
                high=get_decimal(item, "high", f"{p}.high"),
                change=get_decimal(item, "change", f"{p}.change"),
                change_pct=get_decimal(item, "change_pct", f"{p}.change_pct"),
                timestamp=opt_str(item, "timestamp", f"{p}.timestamp"),
            )
        )
    return TickerMessage(kind, tuple(tickers))


def _trade(obj: dict[str, Any]) -> TradeMessage:
    kind = _channel_type(obj)
    trades = []
    for i, item in enumerate(_items(obj)):
        p = f"data[{i}]"
        trades.append(
            Trade(
                symbol=get_str(item, "symbol", f"{p}.symbol"),
                side=get_str(item, "side", f"{p}.side"),
                price=get_decimal(item, "price", f"{p}.price"),
                qty=get_decimal(item, "qty", f"{p}.qty"),
                ord_type=get_str(item, "ord_type", f"{p}.ord_type"),
                trade_id=get_int(item, "trade_id", f"{p}.trade_id"),
                timestamp=get_str(item, "timestamp", f"{p}.timestamp"),
            )
        )
    return TradeMessage(kind, tuple(trades))


def _ohlc(obj: dict[str, Any]) -> OhlcMessage:
    kind = _channel_type(obj)
    candles = []
    for i, item in enumerate(_items(obj)):
        p = f"data[{i}]"
        candles.append(
            Candle(
                symbol=get_str(item, "symbol", f"{p}.symbol"),
                open=get_decimal(item, "open", f"{p}.open"),
                high=get_decimal(item, "high", f"{p}.high"),
                low=get_decimal(item, "low", f"{p}.low"),
                close=get_decimal(item, "close", f"{p}.close"),
                vwap=get_decimal(item, "vwap", f"{p}.vwap"),
                trades=get_int(item, "trades", f"{p}.trades"),
                volume=get_decimal(item, "volume", f"{p}.volume"),
                interval_begin=get_str(item, "interval_begin", f"{p}.interval_begin"),
                interval=get_int(item, "interval", f"{p}.interval"),
            )
        )
    return OhlcMessage(kind, opt_str(obj, "timestamp", "timestamp"), tuple(candles))


def _executions(obj: dict[str, Any]) -> ExecutionsMessage:
    kind = _channel_type(obj)
    executions = []
    for i, item in enumerate(_items(obj)):
        p = f"data[{i}]"
        fees = []
        raw_fees = item.get("fees")
        if raw_fees is not None:
            for j, _ in enumerate(get_list(item, "fees", f"{p}.fees")):
                fee = get_object(raw_fees, j, f"{p}.fees[{j}]")
                fees.append(
                    Fee(
                        asset=get_str(fee, "asset", f"{p}.fees[{j}].asset"),
                        qty=get_decimal(fee, "qty", f"{p}.fees[{j}].qty"),
                    )
                )
        executions.append(
            Execution(
                exec_type=get_str(item, "exec_type", f"{p}.exec_type"),
                order_id=get_str(item, "order_id", f"{p}.order_id"),
                cl_ord_id=opt_str(item, "cl_ord_id", f"{p}.cl_ord_id"),
                order_userref=opt_int(item, "order_userref", f"{p}.order_userref"),
                exec_id=opt_str(item, "exec_id", f"{p}.exec_id"),
                order_status=opt_str(item, "order_status", f"{p}.order_status"),
                symbol=opt_str(item, "symbol", f"{p}.symbol"),
                side=opt_str(item, "side", f"{p}.side"),
                order_type=opt_str(item, "order_type", f"{p}.order_type"),
                order_qty=opt_decimal(item, "order_qty", f"{p}.order_qty"),
                limit_price=opt_decimal(item, "limit_price", f"{p}.limit_price"),
                cum_qty=opt_decimal(item, "cum_qty", f"{p}.cum_qty"),
                cum_cost=opt_decimal(item, "cum_cost", f"{p}.cum_cost"),
                cost=opt_decimal(item, "cost", f"{p}.cost"),
                avg_price=opt_decimal(item, "avg_price", f"{p}.avg_price"),
                last_qty=opt_decimal(item, "last_qty", f"{p}.last_qty"),
                last_price=opt_decimal(item, "last_price", f"{p}.last_price"),
                fees=tuple(fees),
                fee_usd_equiv=opt_decimal(item, "fee_usd_equiv", f"{p}.fee_usd_equiv"),
                liquidity_ind=opt_str(item, "liquidity_ind", f"{p}.liquidity_ind"),
                reason=opt_str(item, "reason", f"{p}.reason"),
                timestamp=opt_str(item, "timestamp", f"{p}.timestamp"),
            )
        )
    return ExecutionsMessage(kind, opt_int(obj, "sequence", "sequence"), tuple(executions))


_CHANNELS: Final[dict[str, Callable[[dict[str, Any]], Message]]] = {
    "heartbeat": _heartbeat,
    "status": _status,
    "instrument": _instrument,
    "ticker": _ticker,
    "trade": _trade,
    "ohlc": _ohlc,
    "executions": _executions,
}


def _order_ack(item: dict[str, Any], path: str) -> OrderAck:
    return OrderAck(
        order_id=get_str(item, "order_id", f"{path}.order_id"),
        cl_ord_id=opt_str(item, "cl_ord_id", f"{path}.cl_ord_id"),
        order_userref=opt_int(item, "order_userref", f"{path}.order_userref"),
        warnings=str_tuple(item, "warnings", f"{path}.warnings"),
    )


def _response(obj: dict[str, Any], method: Any) -> Message:
    if not isinstance(method, str):
        raise Malformed(f"method: expected a string, got {type(method).__name__}")
    req_id = opt_int(obj, "req_id", "req_id")
    time_in = opt_str(obj, "time_in", "time_in")
    time_out = opt_str(obj, "time_out", "time_out")
    if method == "pong":
        return Pong(req_id, time_in, time_out, str_tuple(obj, "warnings", "warnings"))
    if method not in _METHODS:
        raise Malformed(f"method: unknown {method!r:.40}")
    if not get_bool(obj, "success", "success"):
        error = obj.get("error")
        return RequestRejected(
            method=method,
            req_id=req_id,
            error=error if isinstance(error, str) else repr(error),
            symbol=opt_str(obj, "symbol", "symbol"),
            time_in=time_in,
            time_out=time_out,
        )
    if method == "batch_add":
        results = get_list(obj, "result", "result")
        orders = tuple(
            _order_ack(get_object(results, i, f"result[{i}]"), f"result[{i}]")
            for i in range(len(results))
        )
        return BatchAddAck(req_id, orders)
    result = get_object(obj, "result", "result")
    if method in ("subscribe", "unsubscribe"):
        return SubscriptionAck(
            method=method,
            req_id=req_id,
            channel=get_str(result, "channel", "result.channel"),
            symbol=opt_str(result, "symbol", "result.symbol"),
            warnings=str_tuple(result, "warnings", "result.warnings"),
            time_in=time_in,
            time_out=time_out,
        )
    if method == "add_order":
        return AddOrderAck(req_id, _order_ack(result, "result"), time_in, time_out)
    if method == "cancel_order":
        return CancelOrderAck(
            req_id,
            opt_str(result, "order_id", "result.order_id"),
            opt_str(result, "cl_ord_id", "result.cl_ord_id"),
            str_tuple(result, "warnings", "result.warnings"),
        )
    if method == "batch_cancel":
        return BatchCancelAck(req_id, get_int(result, "count", "result.count"))
    if method == "cancel_all":
        return CancelAllAck(req_id, get_int(result, "count", "result.count"))
    return CancelAfterAck(
        req_id,
        get_str(result, "currentTime", "result.currentTime"),
        get_str(result, "triggerTime", "result.triggerTime"),
    )


_METHODS: Final = frozenset(
    {
        "subscribe",
        "unsubscribe",
        "add_order",
        "cancel_order",
        "batch_add",
        "batch_cancel",
        "cancel_all",
        "cancel_all_orders_after",
    }
)


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"cannot send a non-finite number: {value}")
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_request(method: str, params: dict[str, Any] | None, req_id: int | None) -> bytes:
    """A request frame. Decimals are written as exact JSON numbers (``1.25``, never a float).

    Raises:
        TypeError: ``params`` holds something JSON cannot carry.
    """
    frame: dict[str, Any] = {"method": method}
    if params is not None:
        frame["params"] = params
    if req_id is not None:
        frame["req_id"] = req_id
    return orjson.dumps(frame, default=_json_default)
