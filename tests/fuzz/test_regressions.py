"""Regression tests: one per bug the fuzzers found, with the smallest input that showed it.

Each test names the module that was fixed. The fuzz tests beside this file would find these
again, but only by chance; these pin them.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from arbitrade.backtest import backtest_settings_from, load_backtest_settings
from arbitrade.config import ConfigError, Secret, structure_component
from arbitrade.kraken import (
    KrakenProtocolError,
    KrakenRestClient,
    RetryPolicy,
    Throttled,
    error_from_kraken,
)
from arbitrade.persistence import SinkSettings
from arbitrade.risk import RiskSettings
from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET
from arbitrade.sim._auth import NonceTracker
from arbitrade.sim._numbers import to_units
from arbitrade.sim._rest import handle_rest
from arbitrade.sim._ws import Connection
from tests.fuzz.test_rest_responses import SECRET
from tests.fuzz.test_sim_requests import serve_frames, simulator
from tests.sim._helpers import sign


async def answers_to(request: dict[str, Any], *, private: bool = True) -> list[dict[str, Any]]:
    """What the simulator's reader answers to ``request`` followed by a ping."""
    sim = simulator()
    token = sim.issue_token(DEFAULT_API_KEY)
    params = request.get("params")
    if isinstance(params, dict):
        params.setdefault("token", token)
    connection = Connection(sim, private=private, connection_id=3)
    ping = json.dumps({"method": "ping", "req_id": 77})
    answers = await serve_frames(connection, [json.dumps(request), ping])
    assert answers[-1] == {**answers[-1], "method": "pong", "req_id": 77}
    return answers[:-1]


class TestSimulatorWebSocket:
    @pytest.mark.parametrize("method", [["subscribe"], {"name": "ping"}])
    async def test_request_when_method_is_not_a_string_is_method_not_found(
        self, method: Any
    ) -> None:
        """sim/_ws.py: an unhashable ``method`` crashed the connection (TypeError)."""
        answers = await answers_to({"method": method, "req_id": 1})
        assert [answer["error"] for answer in answers] == ["Method not found"]

    async def test_subscribe_when_channel_is_a_list_is_channel_not_supported(self) -> None:
        """sim/_ws.py: ``"channel": ["book"]`` crashed the connection (TypeError)."""
        answers = await answers_to({"method": "subscribe", "params": {"channel": ["book"]}})
        assert [answer["error"] for answer in answers] == ["Channel not supported"]

    @pytest.mark.parametrize(("channel", "field", "value"), [
        ("book", "depth", 10.0), ("book", "depth", True), ("ohlc", "interval", 5.0),
    ])  # fmt: skip
    async def test_subscribe_when_number_has_a_look_alike_type_is_invalid_arguments(
        self, channel: str, field: str, value: Any
    ) -> None:
        """sim/_ws.py: ``depth: 10.0`` passed the check then crashed slicing the book."""
        params = {"channel": channel, "symbol": ["BTC/USD"], field: value}
        answers = await answers_to({"method": "subscribe", "params": params})
        assert [answer["error"] for answer in answers] == [f"EGeneral:Invalid arguments:{field}"]

    @pytest.mark.parametrize("ids", [{"order_id": [{}]}, {"cl_ord_id": [["a"]]}])
    async def test_cancel_order_when_ids_are_not_strings_is_unknown_order(
        self, ids: dict[str, Any]
    ) -> None:
        """sim/_ws.py: an object or list as an order id crashed the connection (TypeError)."""
        answers = await answers_to({"method": "cancel_order", "params": dict(ids)})
        assert [answer["error"] for answer in answers] == ["EOrder:Unknown order"]

    @pytest.mark.parametrize("field", ["order_qty", "limit_price"])
    async def test_add_order_when_number_has_a_huge_exponent_is_invalid_arguments(
        self, field: str
    ) -> None:
        """sim/_numbers.py: "1e999999999" raised decimal.Overflow and crashed the connection."""
        params = {"symbol": "BTC/USD", "side": "buy", "order_type": "limit",
                  "order_qty": 0.01, "limit_price": 20000, field: "1e999999999"}  # fmt: skip
        answers = await answers_to({"method": "add_order", "params": params})
        assert [answer["error"] for answer in answers] == ["EGeneral:Invalid arguments"]


class TestSimulatorNumbers:
    def test_to_units_when_exponent_is_huge_answers_none_at_once(self) -> None:
        """sim/_numbers.py: "1e999990" built a million-digit int, stalling the server ~1 min."""
        started = time.perf_counter()
        assert to_units("1e999990", 8) is None
        assert to_units("1e999999999", 8) is None
        assert time.perf_counter() - started < 1.0

    def test_to_units_when_number_is_ordinary_still_gives_units(self) -> None:
        """The bound leaves real quantities alone (up to 20 integer digits)."""
        assert to_units("0.00100000", 8) == 100_000
        assert to_units("9" * 15, 8) == int("9" * 15) * 10**8


def signed_call(method: str, params: dict[str, str], nonce: str) -> tuple[int, Any]:
    body = urllib.parse.urlencode({"nonce": nonce, **params})
    path = f"/0/private/{method}"
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "api-key": DEFAULT_API_KEY,
        "api-sign": sign(DEFAULT_API_SECRET, path, nonce, body),
    }
    status, answer = handle_rest(simulator(), "POST", path, b"", headers, body.encode())
    return status, json.loads(answer)


_nonce = iter(range(2_000_000_000_000, 3_000_000_000_000))


class TestSimulatorRest:
    @pytest.mark.parametrize("nonce", ["²", "٣", "1" * 5000])
    def test_nonce_when_not_ascii_digits_or_too_long_is_invalid_nonce(self, nonce: str) -> None:
        """sim/_auth.py: ``"²".isdigit()`` passed, then ``int()`` raised: HTTP 500."""
        assert NonceTracker().accept("key", nonce) is False
        assert signed_call("Balance", {}, nonce) == (200, {"error": ["EAPI:Invalid nonce"]})

    @pytest.mark.parametrize("txid", ["--5", "²", "-"])
    def test_cancel_order_when_txid_looks_numeric_is_unknown_order(self, txid: str) -> None:
        """sim/_rest.py: ``"--5".lstrip("-").isdigit()`` passed, then ``int()`` raised: 500."""
        status, answer = signed_call("CancelOrder", {"txid": txid}, str(next(_nonce)))
        assert (status, answer) == (200, {"error": ["EOrder:Unknown order"]})


async def rest_call(body: bytes, call: str, **kwargs: Any) -> Any:
    """Call one REST client method against a server answering ``body``; return or raise."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async with KrakenRestClient(
        "https://api.kraken.com",
        api_key=Secret("key"),
        api_secret=Secret(SECRET),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    ) as client:
        return await getattr(client, call)(**kwargs)


ADD_ORDER = {"pair": "XBTUSD", "side": "buy", "order_type": "limit", "volume": Decimal(1),
             "price": Decimal(1)}  # fmt: skip


class TestRestClient:
    async def test_answer_when_nested_too_deep_is_protocol_error(self) -> None:
        """kraken/_rest.py: json.loads raised RecursionError past the protocol error."""
        with pytest.raises(KrakenProtocolError):
            await rest_call(b"[" * 100_000 + b"]" * 100_000, "balance")

    @pytest.mark.parametrize("amount", ['{"a": 1}', '"abc"', '"NaN"', '"-Infinity"', "true"])
    async def test_balance_when_amount_is_not_a_number_is_protocol_error(self, amount: str) -> None:
        """kraken/_rest.py: Decimal() raised InvalidOperation, or NaN became a balance."""
        body = b'{"error": [], "result": {"ZUSD": %s}}' % amount.encode()
        with pytest.raises(KrakenProtocolError, match="ZUSD"):
            await rest_call(body, "balance")

    @pytest.mark.parametrize(
        "result", ['{"txid": 5}', '{"txid": "OABC"}', '{"descr": "x", "txid": ["O1"]}']
    )
    async def test_add_order_when_result_has_wrong_shape_is_protocol_error(
        self, result: str
    ) -> None:
        """kraken/_rest.py: an int txid or a str descr raised TypeError/AttributeError, and a
        string txid was split into one-letter order ids."""
        body = b'{"error": [], "result": %s}' % result.encode()
        with pytest.raises(KrakenProtocolError, match="txid must be a list"):
            await rest_call(body, "add_order", **ADD_ORDER)

    async def test_asset_pairs_when_entry_is_not_an_object_is_protocol_error(self) -> None:
        """kraken/_symbols.py: AssetPair.from_rest called .get on an int (AttributeError)."""
        with pytest.raises(KrakenProtocolError, match="expected an object"):
            await rest_call(b'{"error": [], "result": {"XBTUSD": 5}}', "asset_pairs")

    async def test_throttled_when_time_has_thousands_of_digits_has_no_retry_at(self) -> None:
        """kraken/_errors.py: int() of a 5000-digit "retry at" raised ValueError."""
        body = b'{"error": ["EService: Throttled: %s"]}' % (b"9" * 5000)
        with pytest.raises(Throttled) as caught:
            await rest_call(body, "system_status")
        assert caught.value.retry_at is None
        assert error_from_kraken("EService: Throttled: 1700000000", "x").retry_at == 1700000000


class TestComponentSettings:
    @pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e400"])
    def test_float_setting_when_not_finite_is_config_error(self, text: str) -> None:
        """config/_component.py: "nan" passed every "> 0" validator; a NaN book-age limit
        never calls a book stale (``age > nan`` is false)."""
        with pytest.raises(ConfigError, match=r"risk\.max_book_age_seconds"):
            structure_component(RiskSettings, {"max_book_age_seconds": text}, "risk")
        with pytest.raises(ConfigError, match=r"persistence\.max_delay"):
            structure_component(SinkSettings, {"max_delay": text}, "persistence")

    def test_decimal_setting_when_exponent_is_huge_is_config_error(self) -> None:
        """config/_component.py: "1e999999999" was accepted, then ``taker_fee_rate``
        (fee / 10_000) raised decimal.Overflow inside the risk gate."""
        with pytest.raises(ConfigError, match=r"risk\.taker_fee_bps"):
            structure_component(RiskSettings, {"taker_fee_bps": "1e999999999"}, "risk")
        accepted = structure_component(RiskSettings, {"taker_fee_bps": "26"}, "risk")
        assert accepted.taker_fee_rate == Decimal("0.0026")


class TestBacktestSettings:
    @pytest.mark.parametrize(
        ("field", "text"),
        [("start", "0001-01-01T00:00:00+01:00"), ("end", "9999-12-31T23:59:59-01:00")],
    )
    def test_time_when_zone_pushes_it_out_of_range_is_config_error(
        self, field: str, text: str
    ) -> None:
        """backtest/_settings.py: astimezone(UTC) raised OverflowError past the ConfigError."""
        with pytest.raises(ConfigError, match=rf"backtest\.{field}"):
            backtest_settings_from({field: text})

    @pytest.mark.parametrize("path", [sys.executable, "a\x00b"])
    def test_fees_file_when_not_utf8_or_path_has_nul_is_config_error(self, path: str) -> None:
        """backtest/_settings.py: UnicodeDecodeError / "embedded null byte" (ValueErrors)
        escaped the fee profile look-up."""
        with pytest.raises(ConfigError, match=r"backtest\.fees_path"):
            backtest_settings_from({"fee_profile": "spot_volume", "fees_path": path})

    def test_load_when_file_is_not_utf8_is_config_error_naming_it(self, tmp_path: Path) -> None:
        """backtest/_settings.py: a file starting with byte 0x80 raised UnicodeDecodeError."""
        path = tmp_path / "backtest.toml"
        path.write_bytes(b"\x80capital = 1")
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_backtest_settings(path)
