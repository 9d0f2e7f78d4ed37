"""Fuzzing the REST client with whatever a server might answer.

Rule: through ``httpx.MockTransport``, any status code, body and JSON shape makes a
:class:`~arbitrade.kraken.KrakenRestClient` method either return a well-typed value or raise
one of our own :class:`~arbitrade.kraken.KrakenException` subclasses (``KrakenError``,
``KrakenTransportError``, ``KrakenProtocolError``), never a third-party or built-in exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.config import Secret
from arbitrade.kraken import (
    AddOrderResult,
    ApiCounterLimiter,
    AssetPair,
    KrakenException,
    KrakenRestClient,
    RetryPolicy,
)
from tests.fuzz.strategies import broken, dumps, garbage, json_values

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="

PAIR = {
    "altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency", "base": "XXBT",
    "aclass_quote": "currency", "quote": "ZUSD", "pair_decimals": 1, "cost_decimals": 5,
    "lot_decimals": 8, "ordermin": "0.0001", "costmin": "0.5", "tick_size": "0.1",
    "status": "online", "fees": [[0, 0.4]], "fees_maker": [[0, 0.25]],
}  # fmt: skip

RESULTS: dict[str, Any] = {
    "server_time": {"unixtime": 1688669448, "rfc1123": "Thu, 06 Jul 23 18:50:48 +0000"},
    "system_status": {"status": "online", "timestamp": "2023-07-06T18:52:00Z"},
    "assets": {"XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10}},
    "asset_pairs": {"XXBTZUSD": PAIR},
    "ticker": {"XXBTZUSD": {"a": ["30300.1", "1", "1.000"], "c": ["30303.2", "0.0001"]}},
    "depth": {"XXBTZUSD": {"asks": [["30384.1", "2.059", 1688671659]], "bids": []}},
    "balance": {"ZUSD": "2970172.7962", "XXBT": "0.0000011028"},
    "get_websockets_token": {"token": "1Dwc4lzSwNWOAwkMdqhs", "expires": 900},
    "open_orders": {"open": {}},
    "query_orders": {"OBCMZD-JIEE7-77TH3F": {"status": "closed"}},
    "add_order": {"descr": {"order": "buy 1.25 XBTUSD @ limit 27500.0"},
                  "txid": ["OUF4EM-FRGI2-MQMWZD"]},
    "cancel_order": {"count": 1},
}  # fmt: skip


class NoWaitLimiter(ApiCounterLimiter):
    """Never waits: a 429 answer penalises the counter, which would sleep in real time."""

    async def acquire(self, cost: float = 1.0, *, urgent: bool = False) -> None:
        await trio.lowlevel.checkpoint()


Call = Callable[[KrakenRestClient], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "server_time": lambda c: c.server_time(),
    "system_status": lambda c: c.system_status(),
    "assets": lambda c: c.assets(),
    "asset_pairs": lambda c: c.asset_pairs(["XBTUSD"]),
    "ticker": lambda c: c.ticker(["XBTUSD"]),
    "depth": lambda c: c.depth("XBTUSD", 10),
    "balance": lambda c: c.balance(),
    "get_websockets_token": lambda c: c.get_websockets_token(),
    "open_orders": lambda c: c.open_orders(cl_ord_id="c1"),
    "query_orders": lambda c: c.query_orders(["OBCMZD-JIEE7-77TH3F"]),
    "add_order": lambda c: c.add_order(
        pair="XBTUSD",
        side="buy",
        order_type="limit",
        volume=Decimal("1.25"),
        price=Decimal("27500.0"),
        cl_ord_id="c1",
    ),
    "cancel_order": lambda c: c.cancel_order(cl_ord_id="c1"),
}

ERROR_STRINGS = st.sampled_from(
    ["EAPI:Invalid nonce", "EAPI:Rate limit exceeded", "EGeneral:Invalid arguments:volume",
     "EService: Throttled: 1700000000", "EService: Throttled: " + "9" * 5000, "EOrder:",
     "WGeneral:Deprecated", "", ":", "E", "EFoo:Bar", "EService:Unavailable"]
)  # fmt: skip

TRANSPORT_FAILURES = st.sampled_from(
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eh"),
     httpx.ReadError("reset"), httpx.PoolTimeout("pool"), httpx.WriteError("broken pipe")]
)  # fmt: skip


def bodies(name: str) -> st.SearchStrategy[bytes]:
    """What a server may answer to method ``name``: good, broken, erroneous, or garbage."""
    good = {"error": [], "result": RESULTS[name]}
    as_bytes = st.one_of(st.just(dumps(good)), broken(good).map(dumps), json_values().map(dumps))
    errors = st.fixed_dictionaries(
        {"error": st.lists(ERROR_STRINGS | json_values(3), min_size=1, max_size=3)},
        optional={"result": json_values(4)},
    ).map(dumps)
    return st.one_of(
        as_bytes.map(str.encode),
        errors.map(str.encode),
        garbage().map(lambda g: g if isinstance(g, bytes) else g.encode("utf-8", "replace")),
    )


BODIES = {name: bodies(name) for name in RESULTS}


def check_result(name: str, value: Any) -> None:
    """A method that returned gives a value of its promised type."""
    if name == "asset_pairs":
        assert all(isinstance(pair, AssetPair) for pair in value.values())
    elif name == "balance":
        assert all(isinstance(v, Decimal) and v.is_finite() for v in value.values())
    elif name == "get_websockets_token":
        assert isinstance(value, str)
    elif name == "add_order":
        assert isinstance(value, AddOrderResult)
        assert all(isinstance(txid, str) for txid in value.txids)
    else:
        assert isinstance(value, dict)


@st.composite
def answers(draw: Any, name: str) -> list[httpx.Response | Exception]:
    """One or two answers (the client may retry once), each a response or a transport error."""
    out: list[httpx.Response | Exception] = []
    for _ in range(2):
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(TRANSPORT_FAILURES))
            continue
        status = draw(st.sampled_from([200, 200, 200, 201, 204, 302, 400, 403, 404, 429, 500,
                                       502, 503, 520]))  # fmt: skip
        out.append(httpx.Response(status, content=draw(BODIES[name])))
    return out


class TestRestClient:
    @settings(max_examples=200, deadline=None, suppress_health_check=FAST)
    @given(data=st.data(), name=st.sampled_from(sorted(CALLS)))
    async def test_call_when_server_answers_anything_returns_typed_value_or_our_error(
        self, data: st.DataObject, name: str
    ) -> None:
        """Any status, body or transport failure: a typed value or a KrakenException."""
        scripted = data.draw(answers(name), label="answers")

        def handler(request: httpx.Request) -> httpx.Response:
            answer = scripted[0] if len(scripted) == 1 else scripted.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        async with KrakenRestClient(
            "https://api.kraken.com",
            api_key=Secret("key"),
            api_secret=Secret(SECRET),
            transport=httpx.MockTransport(handler),
            limiter=NoWaitLimiter(),
            retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0),
        ) as client:
            try:
                value = await CALLS[name](client)
            except KrakenException as error:
                assert str(error)
            else:
                check_result(name, value)
