"""REST endpoints over HTTP: Kraken's paths, shapes, signatures, nonces, permissions, limits."""

from __future__ import annotations

import attrs
import httpx
import trio

from arbitrade.sim import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    ApiKey,
    RunningSimulator,
    serve_simulator,
)
from tests.sim._helpers import private
from tests.sim.conftest import small_config

KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
OTHER_SECRET = "a2V5LXdpdGhvdXQtdHJhZGUtcGVybWlzc2lvbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA=="


class TestPublic:
    async def test_asset_pairs_when_asked_by_v2_symbol_answers_under_that_name(
        self, running: RunningSimulator
    ) -> None:
        """AssetPairs carries Kraken's fields; a slash name keys the answer as asked."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            answer = (await client.get("/0/public/AssetPairs?pair=BTC/USD")).json()
            by_rest = (await client.get("/0/public/AssetPairs?pair=XBTUSD")).json()
        assert answer["error"] == []
        info = answer["result"]["BTC/USD"]
        assert info["wsname"] == "XBT/USD"
        assert (info["base"], info["quote"], info["altname"]) == ("XXBT", "ZUSD", "XBTUSD")
        assert (info["pair_decimals"], info["lot_decimals"]) == (1, 8)
        assert isinstance(info["ordermin"], str)
        assert info["tick_size"] == "0.1"
        assert info["fees"][0] == [0, 0.4]
        assert info["fees_maker"][0] == [0, 0.25]
        assert list(by_rest["result"]) == ["XXBTZUSD"]

    async def test_public_endpoints_when_called_answer_in_kraken_shapes(
        self, running: RunningSimulator
    ) -> None:
        """Time, SystemStatus, Assets, Ticker and Depth answer with result objects."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            time_ = (await client.get("/0/public/Time")).json()["result"]
            status = (await client.get("/0/public/SystemStatus")).json()["result"]
            assets = (await client.get("/0/public/Assets?asset=XBT")).json()["result"]
            ticker = (await client.get("/0/public/Ticker?pair=XXBTZUSD")).json()["result"]
            depth = await client.post("/0/public/Depth", data={"pair": "ETHUSD", "count": "3"})
        assert set(time_) == {"unixtime", "rfc1123"}
        assert status["status"] == "online"
        assert assets["XXBT"]["altname"] == "XBT"
        assert set(ticker["XXBTZUSD"]) == {"a", "b", "c", "v", "p", "t", "l", "h", "o"}
        book = depth.json()["result"]["XETHZUSD"]
        assert len(book["asks"]) == 3
        assert float(book["asks"][0][0]) > float(book["bids"][0][0])

    async def test_unknown_pair_when_asked_answers_kraken_error_without_result(
        self, running: RunningSimulator
    ) -> None:
        """Failures are HTTP 200 with only an error list."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            response = await client.get("/0/public/Ticker?pair=NOPEUSD")
        assert response.status_code == 200
        assert response.json() == {"error": ["EQuery:Unknown asset pair"]}


class TestAuthentication:
    async def test_balance_when_signed_correctly_answers(self, running: RunningSimulator) -> None:
        """A correctly signed call gets the key's balances under REST asset names."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            answer = await private(client, "Balance", KEY, SECRET)
        assert answer["error"] == []
        assert answer["result"]["ZUSD"] == "100000.0000"
        assert answer["result"]["XXBT"] == "2.0000000000"

    async def test_balance_when_secret_wrong_is_invalid_signature(
        self, running: RunningSimulator
    ) -> None:
        """Signing with another secret gives EAPI:Invalid signature; an unknown key Invalid key."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            wrong = await private(client, "Balance", KEY, OTHER_SECRET)
            unknown = await private(client, "Balance", "nobody", SECRET)
        assert wrong == {"error": ["EAPI:Invalid signature"]}
        assert unknown == {"error": ["EAPI:Invalid key"]}

    async def test_nonce_when_reused_is_invalid_nonce(self, running: RunningSimulator) -> None:
        """A nonce not above the last one for the key is refused."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            first = await private(client, "Balance", KEY, SECRET, nonce=2_000_000_000_000)
            again = await private(client, "Balance", KEY, SECRET, nonce=2_000_000_000_000)
        assert first["error"] == []
        assert again == {"error": ["EAPI:Invalid nonce"]}

    async def test_json_body_when_signed_over_json_is_accepted(
        self, running: RunningSimulator
    ) -> None:
        """With a JSON body the JSON text is what is signed (nonce inside it)."""
        from tests.sim._helpers import sign

        body = '{"nonce": "2100000000000"}'
        path = "/0/private/Balance"
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            response = await client.post(
                path,
                content=body,
                headers={
                    "API-Key": KEY,
                    "API-Sign": sign(SECRET, path, "2100000000000", body),
                    "Content-Type": "application/json",
                },
            )
        assert response.json()["error"] == []


class TestPermissionsAndLimits:
    async def test_add_order_when_key_lacks_trade_is_permission_denied(
        self, nursery: trio.Nursery
    ) -> None:
        """A query-only key may read balances but not trade."""
        keys = (ApiKey("reader", OTHER_SECRET, frozenset({"query"})),)
        running = await nursery.start(serve_simulator, small_config(api_keys=keys))
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            balance = await private(client, "Balance", "reader", OTHER_SECRET)
            order = await private(
                client,
                "AddOrder",
                "reader",
                OTHER_SECRET,
                {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.01"},
            )
            token = await private(client, "GetWebSocketsToken", "reader", OTHER_SECRET)
        assert balance["error"] == []
        assert order == {"error": ["EGeneral:Permission denied"]}
        assert token == {"error": ["EGeneral:Permission denied"]}

    async def test_calls_when_counter_exceeded_are_rate_limited(
        self, nursery: trio.Nursery
    ) -> None:
        """A starter key gets EAPI:Rate limit exceeded past 15 quick calls."""
        keys = (attrs.evolve(ApiKey(KEY, SECRET), rate_tier="starter"),)
        running = await nursery.start(serve_simulator, small_config(api_keys=keys))
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            answers = [await private(client, "Balance", KEY, SECRET) for _ in range(17)]
        errors = [a["error"] for a in answers]
        assert errors[:15] == [[]] * 15
        assert ["EAPI:Rate limit exceeded"] in errors[15:]


class TestOrders:
    async def test_order_lifecycle_when_placed_queried_and_cancelled_matches_kraken(
        self, running: RunningSimulator
    ) -> None:
        """AddOrder gives a txid, OpenOrders/QueryOrders show it, CancelOrder counts it."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            added = await private(
                client,
                "AddOrder",
                KEY,
                SECRET,
                {
                    "pair": "XBTUSD",
                    "type": "buy",
                    "ordertype": "limit",
                    "volume": "0.01",
                    "price": "30000.0",
                    "cl_ord_id": "rest-1",
                },
            )
            txid = added["result"]["txid"][0]
            open_ = await private(client, "OpenOrders", KEY, SECRET)
            cancelled = await private(client, "CancelOrder", KEY, SECRET, {"txid": txid})
            queried = await private(client, "QueryOrders", KEY, SECRET, {"txid": txid})
            again = await private(client, "CancelOrder", KEY, SECRET, {"txid": txid})
        assert added["result"]["descr"]["order"] == "buy 0.01000000 XBTUSD @ limit 30000.0"
        assert open_["result"]["open"][txid]["status"] == "open"
        assert cancelled["result"] == {"count": 1}
        assert queried["result"][txid]["status"] == "canceled"
        assert again == {"error": ["EOrder:Unknown order"]}
        assert [r.cl_ord_id for r in running.simulator.received_orders] == ["rest-1"]

    async def test_market_order_when_filled_is_closed_in_query_orders(
        self, running: RunningSimulator
    ) -> None:
        """A market order fills at once and QueryOrders reports it closed with its cost."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            added = await private(
                client,
                "AddOrder",
                KEY,
                SECRET,
                {"pair": "ETHUSD", "type": "buy", "ordertype": "market", "volume": "0.1"},
            )
            txid = added["result"]["txid"][0]
            queried = await private(
                client, "QueryOrders", KEY, SECRET, {"txid": txid, "trades": "true"}
            )
        info = queried["result"][txid]
        assert info["status"] == "closed"
        assert info["vol_exec"] == "0.10000000"
        assert float(info["cost"]) > 0
        assert len(info["trades"]) >= 1
