"""python-kraken-sdk, a Kraken client no one here wrote, pointed at the simulator.

The SDK runs on asyncio, so the simulator runs in a thread with its own Trio loop and these
tests are plain synchronous functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from kraken.base_api import SpotClient
from kraken.exceptions import KrakenInvalidSignatureError
from kraken.spot import Market, SpotOrderBookClient, Trade, User
from kraken.spot.websocket import SpotWSClientBase

from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, ThreadedSimulator
from arbitrade.sim import simulator_in_thread as start_simulator_thread
from tests.sim.conftest import small_config

WRONG_SECRET = "a2V5LXdpdGhvdXQtdHJhZGUtcGVybWlzc2lvbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA=="


@pytest.fixture(scope="module")
def simulator_thread() -> Iterator[ThreadedSimulator]:
    """One simulator for the module, in its own thread."""
    config = small_config()
    config = attrs.evolve(config, market=attrs.evolve(config.market, tick_seconds=0.02))
    with start_simulator_thread(config) as threaded:
        yield threaded


class TestRestClient:
    def test_public_calls_when_pointed_at_simulator_succeed(
        self, simulator_thread: ThreadedSimulator
    ) -> None:
        """Market data calls parse: assets, asset pairs, ticker, order book, system status."""
        market = Market(url=simulator_thread.running.rest_url)
        pairs = market.get_asset_pairs(pair="XBTUSD")
        ticker = market.get_ticker(pair="XBTUSD")
        book = market.get_order_book(pair="XBTUSD", count=5)
        status = market.get_system_status()
        assets = market.get_assets(assets=["XBT", "ETH"])
        assert pairs["XXBTZUSD"]["wsname"] == "XBT/USD"
        assert float(ticker["XXBTZUSD"]["a"][0]) > float(ticker["XXBTZUSD"]["b"][0])
        assert len(book["XXBTZUSD"]["asks"]) == 5
        assert status["status"] == "online"
        assert set(assets) == {"XXBT", "XETH"}

    def test_private_calls_when_signed_by_the_sdk_succeed(
        self, simulator_thread: ThreadedSimulator
    ) -> None:
        """The SDK's own signing is accepted: balance, an order placed, queried, cancelled."""
        url = simulator_thread.running.rest_url
        user = User(key=DEFAULT_API_KEY, secret=DEFAULT_API_SECRET, url=url)
        trade = Trade(key=DEFAULT_API_KEY, secret=DEFAULT_API_SECRET, url=url)
        balance = user.get_account_balance()
        placed = trade.create_order(
            ordertype="limit", side="buy", volume="0.01", pair="XBTUSD", price="20000.0"
        )
        txid = placed["txid"][0]
        queried = user.get_orders_info(txid=txid)
        cancelled = trade.cancel_order(txid=txid)
        assert balance["ZUSD"] == "100000.0000"
        assert queried[txid]["status"] == "open"
        assert cancelled["count"] == 1

    def test_private_call_when_secret_wrong_raises_invalid_signature(
        self, simulator_thread: ThreadedSimulator
    ) -> None:
        """A wrong secret makes the SDK raise its invalid-signature error."""
        user = User(key=DEFAULT_API_KEY, secret=WRONG_SECRET, url=simulator_thread.running.rest_url)
        with pytest.raises(KrakenInvalidSignatureError):
            user.get_account_balance()


class TestOrderBookClient:
    def test_order_book_client_when_streaming_keeps_every_checksum_valid(
        self, simulator_thread: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SpotOrderBookClient validates each update's checksum by its own computation."""
        running = simulator_thread.running
        # The SDK's book client has no URL parameters: point its class defaults at us.
        monkeypatch.setattr(SpotClient, "URL", running.rest_url)
        monkeypatch.setattr(SpotWSClientBase, "WS_URL", running.ws_public_url.removesuffix("/v2"))
        symbols = ["BTC/USD", "ETH/BTC", "DOGE/USD"]
        updates: dict[str, int] = dict.fromkeys(symbols, 0)
        errors: list[Any] = []
        enough = asyncio.Event()

        async def on_update(pair: str, message: dict[str, Any]) -> None:
            if "error" in message:
                errors.append(message)
            elif message.get("type") == "update":
                updates[pair] += 1
            if errors or min(updates.values()) >= 20:
                enough.set()

        async def main() -> SpotOrderBookClient:
            client = SpotOrderBookClient(depth=10, callback=on_update)
            await client.start()
            await client.add_book(pairs=symbols)
            try:
                async with asyncio.timeout(30):
                    await enough.wait()
            finally:
                await client.close()
            return client

        client = asyncio.run(main())
        assert errors == []
        assert min(updates.values()) >= 20
        for symbol in symbols:
            book = client.get(symbol)
            assert book is not None
            assert book["valid"] is True
