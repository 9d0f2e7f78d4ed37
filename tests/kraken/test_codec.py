"""Decoding every v2 message kind, exact numbers, and typed errors for anything malformed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from arbitrade.kraken import (
    AddOrderAck,
    BatchAddAck,
    BookBatch,
    BookMessage,
    CancelAfterAck,
    CancelAllAck,
    CancelOrderAck,
    DecodeError,
    Decoder,
    ExecutionsMessage,
    Heartbeat,
    InstrumentMessage,
    OhlcMessage,
    Pong,
    RequestRejected,
    Status,
    SubscriptionAck,
    TickerMessage,
    TradeMessage,
    encode_request,
)
from tests.strategies import garbage_frames, json_number, malformed_book_frames


def decode(frame: dict[str, Any] | str, decoder: Decoder | None = None) -> Any:
    raw = frame if isinstance(frame, str) else orjson.dumps(frame)
    return (decoder or Decoder({"BTC/USD": (1, 8)})).decode(raw)


INSTRUMENT = (
    '{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled",'
    '"precision":10,"precision_display":5,"borrowable":true,"collateral_value":1.0,'
    '"margin_rate":0.01}],"pairs":[{"symbol":"ETH/BTC","base":"ETH","quote":"BTC",'
    '"status":"online","qty_precision":8,"qty_increment":0.00000001,"price_precision":5,'
    '"cost_precision":10,"marginable":true,"has_index":true,"cost_min":0.00002,'
    '"margin_initial":0.2,"position_limit_long":1000,"position_limit_short":600,'
    '"tick_size":0.00001,"price_increment":0.00001,"qty_min":0.01}]}}'
)


class TestEnvelope:
    def test_heartbeat_when_decoded_is_heartbeat(self) -> None:
        """The whole message {"channel": "heartbeat"} is a Heartbeat."""
        assert decode({"channel": "heartbeat"}) == Heartbeat()

    def test_status_when_connection_id_exceeds_int64_is_exact(self) -> None:
        """connection_id is unsigned 64-bit and may exceed 2**63."""
        frame = {
            "channel": "status",
            "type": "update",
            "data": [
                {
                    "api_version": "v2",
                    "connection_id": 18446744073709551615,
                    "system": "online",
                    "version": "2.0.10",
                }
            ],
        }
        assert decode(frame) == Status("online", "v2", 18446744073709551615, "2.0.10")

    def test_pong_when_decoded_keeps_req_id(self) -> None:
        """Pong echoes req_id and the times."""
        frame = {"method": "pong", "req_id": 7, "time_in": "a", "time_out": "b"}
        assert decode(frame) == Pong(7, "a", "b")

    def test_subscribe_ack_when_success_has_symbol_and_warnings(self) -> None:
        """A subscription ack names one symbol and keeps Kraken's warnings."""
        frame = {
            "method": "subscribe",
            "req_id": 1,
            "success": True,
            "result": {
                "channel": "book",
                "symbol": "BTC/USD",
                "depth": 10,
                "snapshot": True,
                "warnings": ["tick_size is deprecated"],
            },
            "time_in": "2023-09-25T09:04:31.742599Z",
            "time_out": "2023-09-25T09:04:31.742648Z",
        }
        ack = decode(frame)
        assert isinstance(ack, SubscriptionAck)
        assert ack.symbol == "BTC/USD"
        assert ack.warnings == ("tick_size is deprecated",)

    def test_rejection_when_success_false_is_request_rejected(self) -> None:
        """success false gives RequestRejected with Kraken's error string."""
        frame = {
            "method": "subscribe",
            "req_id": 2,
            "success": False,
            "error": "Currency pair not supported",
            "symbol": "BAD/USD",
        }
        assert decode(frame) == RequestRejected(
            "subscribe", 2, "Currency pair not supported", "BAD/USD"
        )


class TestChannels:
    def test_instrument_when_decoded_registers_precisions(self) -> None:
        """Pairs' precisions are learnt, so that symbol's book frames decode afterwards."""
        decoder = Decoder()
        message = decoder.decode(INSTRUMENT)
        assert isinstance(message, InstrumentMessage)
        pair = message.pairs[0]
        assert pair.price_increment == Decimal("0.00001")
        assert pair.qty_increment == Decimal("0.00000001")
        assert decoder.precision("ETH/BTC") == (5, 8)

    def test_book_when_precision_unknown_is_decode_error(self) -> None:
        """A book for a symbol whose precision we never saw cannot be decoded into ticks."""
        frame = {
            "channel": "book",
            "type": "snapshot",
            "data": [{"symbol": "ETH/BTC", "bids": [], "asks": [], "checksum": 0}],
        }
        error = decode(frame, Decoder())
        assert isinstance(error, DecodeError)
        assert "no precision known" in error.reason

    def test_book_when_several_items_is_batch(self) -> None:
        """A book frame with two symbols decodes to a BookBatch."""
        item = {"symbol": "BTC/USD", "bids": [], "asks": [], "checksum": 0}
        frame = {"channel": "book", "type": "update", "data": [item, item]}
        batch = decode(frame)
        assert isinstance(batch, BookBatch)
        assert len(batch.messages) == 2

    def test_ticker_when_decoded_is_exact(self) -> None:
        """Ticker numbers come out as exact Decimals (read with the exact parser)."""
        frame = (
            '{"channel":"ticker","type":"snapshot","data":[{"symbol":"BTC/USD","bid":26998.5,'
            '"bid_qty":1.23456789,"ask":26998.6,"ask_qty":0.1,"last":26998.6,'
            '"volume":1234.56789012,"vwap":27000.123456,"low":26800.0,"high":27100.0,'
            '"change":-12.3,"change_pct":-0.05}]}'
        )
        message = decode(frame)
        assert isinstance(message, TickerMessage)
        assert message.tickers[0].vwap == Decimal("27000.123456")
        assert message.tickers[0].change_pct == Decimal("-0.05")

    def test_trade_when_decoded_is_exact(self) -> None:
        """Trades keep price and qty exact, with the trade id."""
        frame = (
            '{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell",'
            '"price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,'
            '"timestamp":"2023-09-25T07:49:37.708706Z"}]}'
        )
        message = decode(frame)
        assert isinstance(message, TradeMessage)
        assert message.trades[0].price == Decimal("0.5117")

    def test_ohlc_when_decoded_keeps_top_level_timestamp(self) -> None:
        """OHLC carries a top-level timestamp beside its candles."""
        frame = (
            '{"channel":"ohlc","type":"update","timestamp":"2023-10-04T16:26:30.524394914Z",'
            '"data":[{"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,'
            '"close":0.5627,"trades":12,"volume":30927.68066226,"vwap":0.5626,'
            '"interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5}]}'
        )
        message = decode(frame)
        assert isinstance(message, OhlcMessage)
        assert message.timestamp == "2023-10-04T16:26:30.524394914Z"
        assert message.candles[0].volume == Decimal("30927.68066226")

    def test_executions_when_trade_event_has_fees(self) -> None:
        """An execution keeps sequence, exec fields and the fee list, exactly."""
        frame = (
            '{"channel":"executions","type":"update","sequence":3,"data":[{"exec_type":"trade",'
            '"order_id":"OA","cl_ord_id":"c1","exec_id":"TX","symbol":"BTC/USD","side":"buy",'
            '"last_qty":0.1,"last_price":27000.1,"cum_qty":0.1,"cost":2700.01,'
            '"order_status":"filled","liquidity_ind":"t","fees":[{"asset":"USD","qty":10.8}],'
            '"timestamp":"2023-09-22T10:33:05.709993Z"}]}'
        )
        message = decode(frame)
        assert isinstance(message, ExecutionsMessage)
        execution = message.executions[0]
        assert message.sequence == 3
        assert execution.fees[0].qty == Decimal("10.8")
        assert execution.last_price == Decimal("27000.1")


class TestTradingResponses:
    @pytest.mark.parametrize(
        ("method", "result", "kind"),
        [
            ("add_order", {"order_id": "OA", "cl_ord_id": "c1"}, AddOrderAck),
            ("cancel_order", {"order_id": "OA"}, CancelOrderAck),
            ("batch_add", [{"order_id": "OA"}, {"order_id": "OB"}], BatchAddAck),
            ("cancel_all", {"count": 2}, CancelAllAck),
            (
                "cancel_all_orders_after",
                {"currentTime": "2023-09-21T15:49:29Z", "triggerTime": "2023-09-21T15:51:09Z"},
                CancelAfterAck,
            ),
        ],
    )
    def test_response_when_success_decodes_to_its_ack(
        self, method: str, result: Any, kind: type[Any]
    ) -> None:
        """Each trading method's success decodes to its own ack type, req_id kept."""
        frame = {"method": method, "req_id": 9, "success": True, "result": result}
        message = decode(frame)
        assert isinstance(message, kind)
        assert message.req_id == 9

    def test_response_when_failed_is_request_rejected(self) -> None:
        """A refused add_order is RequestRejected carrying the error string."""
        frame = {
            "method": "add_order",
            "req_id": 3,
            "success": False,
            "error": "EOrder:Insufficient funds",
        }
        assert decode(frame).error == "EOrder:Insufficient funds"


class TestExactNumbers:
    @settings(max_examples=500)
    @given(units=st.integers(0, 10**15 - 1), precision=st.integers(0, 12))
    def test_book_number_when_below_15_digits_gives_exact_units(
        self, units: int, precision: int
    ) -> None:
        """Any decimal of up to 15 digits at its precision becomes exactly its unit count."""
        decoder = Decoder({"X/Y": (precision, precision)})
        number = json_number(Decimal(units).scaleb(-precision))
        price = json_number(Decimal(1).scaleb(-precision))
        frame = orjson.dumps(
            {
                "channel": "book",
                "type": "update",
                "data": [
                    {
                        "symbol": "X/Y",
                        "bids": [{"price": price, "qty": number}],
                        "asks": [],
                        "checksum": 0,
                    }
                ],
            }
        )
        message = decoder.decode(frame)
        assert isinstance(message, BookMessage)
        assert message.bids == ((1, units),)

    def test_book_number_when_beyond_float_precision_is_read_exactly(self) -> None:
        """18 significant digits survive: the frame is re-read with the exact parser."""
        frame = (
            '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":'
            '[{"price":12345678.1,"qty":1234567890.12345678}],"asks":[],"checksum":1}]}'
        )
        decoder = Decoder({"BTC/USD": (1, 8)})
        message = decoder.decode(frame)
        assert isinstance(message, BookMessage)
        assert message.bids == ((123456781, 123456789012345678),)
        assert decoder.statistics().exact_parses == 1

    def test_book_number_when_off_grid_is_decode_error(self) -> None:
        """A price with more decimals than the precision is refused, naming the field."""
        frame = (
            '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":'
            '[{"price":29430.25,"qty":1.0}],"asks":[],"checksum":1}]}'
        )
        error = decode(frame)
        assert isinstance(error, DecodeError)
        assert "bids[0].price" in error.reason

    def test_encode_request_when_decimals_writes_exact_json_numbers(self) -> None:
        """Decimals go out as JSON numbers with every digit, never via float."""
        raw = encode_request("add_order", {"order_qty": Decimal("0.123456789012345678")}, 5)
        assert (
            raw == b'{"method":"add_order","params":{"order_qty":0.123456789012345678},"req_id":5}'
        )


class TestMalformed:
    @settings(max_examples=300)
    @given(raw=malformed_book_frames())
    def test_book_frame_when_broken_anywhere_gives_decode_error(self, raw: bytes) -> None:
        """A book frame with any field dropped or retyped is a DecodeError, never an exception."""
        decoder = Decoder({"BTC/USD": (1, 8)})
        result = decoder.decode(raw)
        assert isinstance(result, DecodeError), result
        assert decoder.statistics().decode_errors == 1

    @settings(max_examples=300)
    @given(raw=garbage_frames())
    def test_garbage_when_decoded_never_raises(self, raw: bytes) -> None:
        """Not JSON, not an object, unknown channel or method: a typed value, never a crash."""
        result = Decoder().decode(raw)
        assert isinstance(result, DecodeError | Heartbeat | Pong)

    def test_decode_error_when_logged_is_structured(self) -> None:
        """Each DecodeError is logged as kraken.decode_error with reason and excerpt."""
        with capture_logs() as logs:
            Decoder().decode(b"not json")
        assert logs[0]["event"] == "kraken.decode_error"
        assert logs[0]["excerpt"] == "not json"

    def test_excerpt_when_frame_long_is_truncated(self) -> None:
        """Excerpts stay short enough for a log line."""
        error = Decoder().decode(b'{"channel":"' + b"x" * 1000 + b'"}')
        assert isinstance(error, DecodeError)
        assert len(error.excerpt) == 200
