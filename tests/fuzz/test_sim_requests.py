"""Fuzzing the simulator's parsers of client input: WebSocket v2 requests and REST calls.

Rule: whatever a client sends, the simulator answers with Kraken-shaped errors and keeps the
connection: no request makes a connection handler raise, no REST call answers a 5xx.
"""

from __future__ import annotations

import functools
import itertools
import json
import urllib.parse
from typing import Any

import orjson
import pytest
import trio
import trio_websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, Simulator, serve_simulator
from arbitrade.sim._rest import handle_rest
from arbitrade.sim._ws import Connection
from tests.fuzz.strategies import (
    ODD_STRINGS,
    broken,
    dumps,
    every_field_edit,
    garbage,
    wire_forms,
)
from tests.sim._helpers import sign
from tests.sim.conftest import small_config

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]
NOW = 1_700_000_000.0
TOKEN_PLACEHOLDER = "__token__"


@functools.cache
def simulator() -> Simulator:
    """One small simulator on a frozen clock, shared by the examples (its state accumulates)."""
    return Simulator(small_config(ticking=False), clock=lambda: NOW)


def ws_requests() -> dict[str, dict[str, Any]]:
    """A valid request of every method the simulator serves (the token filled in later)."""
    order = {"order_type": "limit", "side": "buy", "order_qty": 0.001, "limit_price": 20000.5}
    return {
        "ping": {"method": "ping", "req_id": 1},
        "book": {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"],
                                                   "depth": 10, "snapshot": True}, "req_id": 2},
        "ticker": {"method": "subscribe", "params": {"channel": "ticker", "symbol": ["ETH/USD"],
                                                     "event_trigger": "bbo"}, "req_id": 3},
        "trade": {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"],
                                                    "snapshot": False}},
        "ohlc": {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["BTC/USD"],
                                                   "interval": 5}},
        "instrument": {"method": "subscribe", "params": {"channel": "instrument",
                                                         "snapshot": False}},
        "unsubscribe": {"method": "unsubscribe", "params": {"channel": "book",
                                                            "symbol": ["BTC/USD"]}},
        "executions": {"method": "subscribe", "params": {"channel": "executions",
                                                         "token": TOKEN_PLACEHOLDER,
                                                         "snap_orders": True}},
        "add_order": {"method": "add_order", "req_id": 9, "params": {
            **order, "symbol": "BTC/USD", "cl_ord_id": "fuzz-1", "time_in_force": "gtc",
            "post_only": True, "validate": True, "deadline": "2099-01-01T00:00:00Z",
            "order_userref": 7, "token": TOKEN_PLACEHOLDER}},
        "batch_add": {"method": "batch_add", "params": {
            "symbol": "BTC/USD", "orders": [order, order], "validate": True,
            "token": TOKEN_PLACEHOLDER}},
        "cancel_order": {"method": "cancel_order", "params": {
            "order_id": ["O-1"], "cl_ord_id": ["fuzz-1"], "order_userref": [7],
            "token": TOKEN_PLACEHOLDER}},
        "batch_cancel": {"method": "batch_cancel", "params": {
            "orders": ["O-1", "fuzz-1"], "token": TOKEN_PLACEHOLDER}},
        "cancel_all": {"method": "cancel_all", "params": {"token": TOKEN_PLACEHOLDER}},
        "cancel_after": {"method": "cancel_all_orders_after", "params": {
            "timeout": 60, "token": TOKEN_PLACEHOLDER}},
    }  # fmt: skip


WS_REQUESTS = ws_requests()


def with_token(text: str | bytes, token: str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")  # the server decodes binary frames this way
    return text.replace(TOKEN_PLACEHOLDER, token)


def ws_frames() -> st.SearchStrategy[str | bytes]:
    """A client's frame: a valid request, one broken anywhere, or garbage."""
    names = st.sampled_from(sorted(WS_REQUESTS))
    return st.one_of(
        names.map(lambda name: dumps(WS_REQUESTS[name])),
        names.flatmap(lambda name: broken(WS_REQUESTS[name]).flatmap(wire_forms)),
        garbage(),
    )


WS_FRAMES = ws_frames()


async def serve_frames(connection: Connection, frames: list[str]) -> list[dict[str, Any]]:
    """Feed ``frames`` to the connection's reader; return every frame it queued, decoded."""
    pending = list(frames)

    async def receive_text() -> str | None:
        await trio.lowlevel.checkpoint()
        return pending.pop(0) if pending else None

    await connection._reader(receive_text)
    out = []
    while True:
        try:
            text = connection._receive.receive_nowait()
        except trio.WouldBlock:
            break
        decoded = orjson.loads(text)
        assert isinstance(decoded, dict)
        out.append(decoded)
    return out


class TestWebSocketRequests:
    @settings(max_examples=200, deadline=None, suppress_health_check=FAST)
    @given(frames=st.lists(WS_FRAMES, min_size=1, max_size=4), private=st.booleans())
    async def test_reader_when_client_sends_anything_answers_with_kraken_errors(
        self, frames: list[str | bytes], private: bool
    ) -> None:
        """Broken requests get ``success: false`` answers and the reader keeps reading."""
        sim = simulator()
        token = sim.issue_token(DEFAULT_API_KEY)
        connection = Connection(sim, private=private, connection_id=1)
        texts = [with_token(frame, token) for frame in frames]
        ping = dumps({"method": "ping", "req_id": 424242})
        answers = await serve_frames(connection, [*texts, ping])
        for answer in answers:
            if answer.get("success") is False:
                assert isinstance(answer["error"], str)
                assert answer["error"]
        assert answers[-1]["method"] == "pong"
        assert answers[-1]["req_id"] == 424242

    @pytest.mark.parametrize("name", sorted(WS_REQUESTS))
    async def test_request_when_each_field_is_removed_or_retyped_is_answered(
        self, name: str
    ) -> None:
        """Every field of every request, removed or given each wrong type (depth 10.0, a
        list for a string...), gets an answer naming the method, and the reader goes on."""
        sim = simulator()
        token = sim.issue_token(DEFAULT_API_KEY)
        request = json.loads(dumps(WS_REQUESTS[name]).replace(TOKEN_PLACEHOLDER, token))
        edits = every_field_edit(request)
        for path, value, edited in edits:
            connection = Connection(sim, private=True, connection_id=2)
            ping = dumps({"method": "ping", "req_id": 5})
            answers = await serve_frames(connection, [dumps(edited), ping])
            await drive_publisher(connection)
            assert answers[-1]["method"] == "pong", (path, value)
            for answer in answers[:-1]:
                # orjson reads no integer beyond 64 bits: such a request is "Malformed" JSON.
                assert answer.get("success") is not False or answer["error"], (path, value)
        print(f"{name}: {len(edits)} single-field edits")  # the count, for -s / -rP runs


async def drive_publisher(connection: Connection) -> None:
    """Step the market and collect what the connection's subscriptions publish."""
    connection.sim.step()
    for message in connection._collect():
        orjson.dumps(message)


class TestWebSocketServer:
    @settings(max_examples=25, deadline=None, suppress_health_check=FAST)
    @given(frames=st.lists(WS_FRAMES, min_size=1, max_size=3))
    async def test_connection_when_client_sends_anything_stays_open_and_answers_ping(
        self, frames: list[str | bytes]
    ) -> None:
        """Over a real socket: after any frames, the same connection still answers a ping."""
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve_simulator, small_config(ticking=False))
            token = running.simulator.issue_token(DEFAULT_API_KEY)
            url = running.ws_private_url
            async with trio_websocket.open_websocket_url(url) as socket:
                for frame in frames:
                    if isinstance(frame, bytes):
                        await socket.send_message(frame.replace(b"__token__", token.encode()))
                    else:
                        await socket.send_message(with_token(frame, token))
                await socket.send_message(dumps({"method": "ping", "req_id": 31337}))
                with trio.fail_after(5):
                    while True:
                        answer = orjson.loads(await socket.get_message())
                        if answer.get("method") == "pong" and answer.get("req_id") == 31337:
                            break
            nursery.cancel_scope.cancel()


# -- REST -------------------------------------------------------------------------------------

PUBLIC_METHODS = ["Time", "SystemStatus", "Assets", "AssetPairs", "Ticker", "Depth"]
PRIVATE_METHODS = [
    "Balance", "OpenOrders", "QueryOrders", "AddOrder", "CancelOrder", "GetWebSocketsToken",
]  # fmt: skip
PARAM_NAMES = [
    "pair", "asset", "count", "txid", "cl_ord_id", "userref", "type", "ordertype", "volume",
    "price", "timeinforce", "oflags", "validate", "trades", "deadline", "otp",
]  # fmt: skip
PARAM_VALUES = st.one_of(
    ODD_STRINGS,
    st.text(max_size=12),
    st.sampled_from(["BTC/USD", "XBTUSD", "XXBTZUSD", "buy", "sell", "limit", "market", "0.01",
                     "20000.5", "post", "ioc", "true", "O-1,O-2", "--5", "²,1"]),
)  # fmt: skip
_nonces = itertools.count(1_900_000_000_000)


def assert_kraken_answer(status: int, body: bytes) -> None:
    assert status < 500, (status, body)
    answer = json.loads(body)
    assert isinstance(answer["error"], list)
    assert all(isinstance(error, str) for error in answer["error"])


class TestRestRequests:
    @settings(max_examples=200, deadline=None, suppress_health_check=FAST)
    @given(
        verb=st.sampled_from(["GET", "POST", "PUT"]),
        path=st.one_of(
            st.sampled_from(PUBLIC_METHODS).map(lambda m: f"/0/public/{m}"),
            st.sampled_from(PRIVATE_METHODS).map(lambda m: f"/0/private/{m}"),
            st.text(max_size=20).map(lambda t: f"/0/{t}"),
        ),
        query=st.one_of(
            st.binary(max_size=40),
            st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=4).map(
                lambda d: urllib.parse.urlencode(d).encode()
            ),
        ),
        content_type=st.sampled_from(
            ["", "application/json", "application/x-www-form-urlencoded", "text/plain"]
        ),
        body=st.one_of(
            st.binary(max_size=60),
            garbage().map(lambda g: g if isinstance(g, bytes) else g.encode("utf-8", "replace")),
        ),
        headers=st.dictionaries(st.sampled_from(["api-key", "api-sign"]), st.text(max_size=20)),
    )
    def test_handle_rest_when_request_is_anything_answers_kraken_errors(
        self,
        verb: str,
        path: str,
        query: bytes,
        content_type: str,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        """Any method, path, query, body and headers: HTTP status below 500, an error list."""
        status, answer = handle_rest(
            simulator(), verb, path, query, {"content-type": content_type, **headers}, body
        )
        assert_kraken_answer(status, answer)

    @settings(max_examples=200, deadline=None, suppress_health_check=FAST)
    @given(
        method=st.sampled_from(PRIVATE_METHODS),
        params=st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=6),
        nonce=st.one_of(st.just(None), ODD_STRINGS, st.text(max_size=10)),
        as_json=st.booleans(),
    )
    def test_signed_private_call_when_params_are_anything_answers_kraken_errors(
        self, method: str, params: dict[str, str], nonce: str | None, as_json: bool
    ) -> None:
        """Correctly signed calls with any parameters (and any nonce text) reach the handlers
        and are answered with a result or Kraken's error strings."""
        nonce_text = str(next(_nonces)) if nonce is None else nonce
        fields = {"nonce": nonce_text, **params}
        if as_json:
            body = json.dumps(fields)
            content_type = "application/json"
        else:
            body = urllib.parse.urlencode(fields)
            content_type = "application/x-www-form-urlencoded"
        path = f"/0/private/{method}"
        headers = {
            "content-type": content_type,
            "api-key": DEFAULT_API_KEY,
            "api-sign": sign(DEFAULT_API_SECRET, path, nonce_text, body),
        }
        status, answer = handle_rest(simulator(), "POST", path, b"", headers, body.encode())
        assert_kraken_answer(status, answer)
