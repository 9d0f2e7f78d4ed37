"""``ClosedOrders`` through httpx.MockTransport, against the response shape Kraken documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from arbitrade.kraken import InvalidArguments, KrakenProtocolError, KrakenTransportError
from tests.kraken.test_rest import failed, make_client, ok, verify_signature

# Kraken's documented example (Get Closed Orders), trimmed to one order.
DOCUMENTED: dict[str, Any] = {
    "closed": {
        "O37652-RJWRT-IMO74O": {
            "refid": "None",
            "userref": 1,
            "cl_ord_id": "9cc788d8-9c00-4b25-94d3-26d93603948d",
            "status": "canceled",
            "reason": "User requested",
            "opentm": 1688148493.7708,
            "closetm": 1688148610.0482,
            "starttm": 0,
            "expiretm": 0,
            "descr": {
                "pair": "XBTGBP",
                "type": "buy",
                "ordertype": "limit",
                "price": "23667.0",
                "price2": "0",
                "leverage": "none",
                "order": "buy 0.00100000 XBTGBP @ limit 23667.0",
                "close": "",
            },
            "vol": "0.00100000",
            "vol_exec": "0.00000000",
            "cost": "0.00000",
            "fee": "0.00000",
            "price": "0.00000",
            "stopprice": "0.00000",
            "limitprice": "0.00000",
            "misc": "",
            "oflags": "fciq",
        }
    },
    "count": 1,
}


class TestClosedOrders:
    async def test_closed_orders_when_cl_ord_id_given_sends_it_signed(self) -> None:
        """The filters go in the signed body under Kraken's names (``ofs`` for the offset)."""
        seen: list[dict[str, str]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.path == "/0/private/ClosedOrders"
            seen.append(verify_signature(request))
            return ok(DOCUMENTED)

        async with make_client(handler) as client:
            await client.closed_orders(
                cl_ord_id="c-1", userref=7, trades=True, start=10, end="OABC", offset=50
            )
        fields = {k: v for k, v in seen[0].items() if k != "nonce"}
        assert fields == {
            "cl_ord_id": "c-1",
            "userref": "7",
            "trades": "true",
            "start": "10",
            "end": "OABC",
            "ofs": "50",
        }

    async def test_closed_orders_when_documented_answer_gives_orders_by_id_exactly(self) -> None:
        """The documented answer becomes orders by Kraken id and the total count; numbers stay
        exact (Decimal, never float)."""
        async with make_client(lambda _: ok(DOCUMENTED)) as client:
            answer = await client.closed_orders(cl_ord_id="9cc788d8-9c00-4b25-94d3-26d93603948d")
        (order_id,) = answer.orders
        info = answer.orders[order_id]
        assert (order_id, answer.count) == ("O37652-RJWRT-IMO74O", 1)
        assert (info["status"], info["vol"], info["vol_exec"]) == (
            "canceled",
            "0.00100000",
            "0.00000000",
        )
        assert info["opentm"] == Decimal("1688148493.7708")

    async def test_closed_orders_when_none_match_gives_an_empty_page(self) -> None:
        """No closed order under the filter is an empty answer, not an error."""
        async with make_client(lambda _: ok({"closed": {}, "count": 0})) as client:
            answer = await client.closed_orders(cl_ord_id="nobody")
        assert (dict(answer.orders), answer.count) == ({}, 0)

    @pytest.mark.parametrize(
        "result",
        [
            {"closed": [], "count": 0},
            {"closed": {"O1": "canceled"}, "count": 1},
            {"closed": {}, "count": "1"},
            {"closed": {}, "count": True},
            {"closed": {}, "count": 1.5},
        ],
    )
    async def test_closed_orders_when_shape_is_wrong_raises_protocol_error(
        self, result: dict[str, Any]
    ) -> None:
        """An answer that is not orders by id and a whole count is a typed protocol error."""
        async with make_client(lambda _: ok(result)) as client:
            with pytest.raises(KrakenProtocolError, match="ClosedOrders"):
                await client.closed_orders()

    async def test_closed_orders_when_kraken_refuses_raises_its_typed_error(self) -> None:
        """Kraken's error string becomes its typed error, with the endpoint attached."""
        async with make_client(lambda _: failed("EGeneral:Invalid arguments")) as client:
            with pytest.raises(InvalidArguments) as caught:
                await client.closed_orders(cl_ord_id="c-1")
        assert caught.value.endpoint == "/0/private/ClosedOrders"

    async def test_closed_orders_when_transport_fails_once_retries_as_read_only(self) -> None:
        """A read-only call: a transport failure is retried and the retry's answer returned."""
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise httpx.ReadError("reset", request=request)
            return ok(DOCUMENTED)

        async with make_client(handler) as client:
            answer = await client.closed_orders()
        assert (calls, answer.count) == (2, 1)

    async def test_closed_orders_when_transport_keeps_failing_raises_transport_error(
        self,
    ) -> None:
        """Past the retries the failure is our own transport error, never httpx's."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadError("reset", request=request)

        async with make_client(handler) as client:
            with pytest.raises(KrakenTransportError):
                await client.closed_orders()
