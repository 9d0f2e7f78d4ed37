"""The WebSocket v2 client against a small trio-websocket server playing Kraken."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
import trio_websocket

from arbitrade.kraken import (
    AddOrder,
    Backoff,
    BookMessage,
    CancelOrder,
    CancelOrderAck,
    Decoder,
    InsufficientFunds,
    InvalidArguments,
    KrakenConnectionClosed,
    KrakenWsClient,
    ReplayTransport,
    RequestRejected,
    RequestTimedOut,
    Status,
)

SNAPSHOT = {
    "channel": "book",
    "type": "snapshot",
    "data": [
        {
            "symbol": "BTC/USD",
            "bids": [{"price": 29430.2, "qty": 0.5}],
            "asks": [{"price": 29430.3, "qty": 0.25}],
            "checksum": 0,
        }
    ],
}


class FakeKraken:
    """Just enough of Kraken: acks per symbol, pongs, rejections, silence and drops on demand."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self.reject: dict[str, str] = {}
        self.silent = False
        self.ignore_methods: set[str] = set()
        self.socket: trio_websocket.WebSocketConnection | None = None
        self.port = 0

    async def handler(self, request: trio_websocket.WebSocketRequest) -> None:
        socket = await request.accept()
        self.connections += 1
        self.socket = socket
        status = {
            "channel": "status",
            "type": "update",
            "data": [
                {
                    "system": "online",
                    "api_version": "v2",
                    "connection_id": 2**63 + 5,
                    "version": "2.0.0",
                }
            ],
        }
        try:
            await socket.send_message(orjson.dumps(status).decode())
            while True:
                message = json.loads(await socket.get_message())
                self.requests.append(message)
                if self.silent or message["method"] in self.ignore_methods:
                    continue
                for reply in self.replies(message):
                    await socket.send_message(orjson.dumps(reply).decode())
        except trio_websocket.ConnectionClosed:
            pass

    def replies(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        method, req_id = message["method"], message.get("req_id")
        params = message.get("params") or {}
        base = {"method": method, "req_id": req_id, "time_in": "t", "time_out": "t"}
        if method == "ping":
            return [{"method": "pong", "req_id": req_id}]
        if method in ("subscribe", "unsubscribe"):
            out = []
            for symbol in params.get("symbol", [None]):
                if symbol in self.reject:
                    out.append(
                        {**base, "success": False, "error": self.reject[symbol], "symbol": symbol}
                    )
                else:
                    result = {"channel": params["channel"], "symbol": symbol}
                    out.append({**base, "success": True, "result": result})
            if method == "subscribe" and params["channel"] == "book":
                out.append(SNAPSHOT)
            return out
        if method == "add_order":
            assert params["token"] == "tok"
            if Decimal(str(params["order_qty"])) > 100:
                return [{**base, "success": False, "error": "EOrder:Insufficient funds"}]
            return [{**base, "success": True, "result": {"order_id": "OABC", "cl_ord_id": "c1"}}]
        if method == "cancel_order":
            return [
                {**base, "success": True, "result": {"order_id": oid}}
                if oid.startswith("O")
                else {**base, "success": False, "error": "EOrder:Unknown order"}
                for oid in params["order_id"]
            ]
        return []

    async def drop(self) -> None:
        assert self.socket is not None
        await self.socket.aclose()


@pytest.fixture
async def kraken(nursery: trio.Nursery) -> FakeKraken:
    fake = FakeKraken()
    server = await nursery.start(trio_websocket.serve_websocket, fake.handler, "127.0.0.1", 0, None)
    fake.port = server.port
    return fake


def make_client(kraken: FakeKraken, **kwargs: Any) -> KrakenWsClient:
    kwargs.setdefault("heartbeat_timeout", 5.0)
    kwargs.setdefault("request_timeout", 2.0)
    return KrakenWsClient(
        f"ws://127.0.0.1:{kraken.port}/v2",
        backoff=Backoff(initial=0.01, maximum=0.05),
        decoder=Decoder({"BTC/USD": (1, 8)}),
        **kwargs,
    )


async def next_of(client: KrakenWsClient, kind: type[Any]) -> Any:
    with trio.fail_after(3):
        async for message in client.messages:
            if isinstance(message, kind):
                return message
    raise AssertionError("channel closed")


async def wait_until(predicate: Any) -> None:
    """Poll a condition the fake server changes (it has no event to wait on)."""
    with trio.fail_after(3):
        while not predicate():  # noqa: ASYNC110 - polling a plain attribute of the fake
            await trio.sleep(0.005)


class TestSubscriptions:
    async def test_subscribe_when_kraken_acks_each_symbol_returns_all_acks(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Several symbols are acknowledged once each; the call waits for every one."""
        client = make_client(kraken)
        await nursery.start(client.run)
        acks = await client.subscribe("ticker", ["BTC/USD", "ETH/USD"])
        assert [a.symbol for a in acks] == ["BTC/USD", "ETH/USD"]
        assert kraken.requests[-1]["params"] == {
            "channel": "ticker",
            "symbol": ["BTC/USD", "ETH/USD"],
        }

    async def test_subscribe_when_kraken_rejects_raises_typed_error(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """A rejected symbol raises its typed KrakenError after all acks arrived."""
        kraken.reject["NOPE/USD"] = "EGeneral:Invalid arguments"
        client = make_client(kraken)
        await nursery.start(client.run)
        with pytest.raises(InvalidArguments):
            await client.subscribe("ticker", ["BTC/USD", "NOPE/USD"])

    async def test_book_data_when_subscribed_arrives_decoded(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Channel data goes to the messages channel, decoded to ticks; status too."""
        client = make_client(kraken)
        await nursery.start(client.run)
        status = await next_of(client, Status)
        assert status.connection_id == 2**63 + 5
        await client.subscribe("book", ["BTC/USD"], depth=10)
        book = await next_of(client, BookMessage)
        assert book.bids == ((294302, 50000000),)

    async def test_request_when_unanswered_times_out(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """No acknowledgement within the request timeout raises RequestTimedOut."""
        kraken.ignore_methods.add("subscribe")
        client = make_client(kraken, request_timeout=0.2)
        await nursery.start(client.run)
        with pytest.raises(RequestTimedOut):
            await client.subscribe("ticker", ["BTC/USD"])


class TestReconnection:
    async def test_dropped_connection_when_reconnected_resubscribes_everything(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """After a drop the client reconnects and renews each accepted subscription."""
        client = make_client(kraken)
        await nursery.start(client.run)
        await client.subscribe("instrument")
        await client.subscribe("book", ["BTC/USD"], depth=10)
        before = len(kraken.requests)
        await kraken.drop()
        await wait_until(lambda: len(kraken.requests) >= before + 2)
        renewed = kraken.requests[before:]
        assert kraken.connections == 2
        assert [r["params"]["channel"] for r in renewed[:2]] == ["instrument", "book"]
        assert renewed[1]["params"] == {"channel": "book", "depth": 10, "symbol": ["BTC/USD"]}
        assert client.statistics().disconnects == 1

    async def test_reconnect_when_asked_opens_a_new_connection_and_resubscribes(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """reconnect() (a reader that lost trust in the stream) closes the link, opens a
        new one and renews the subscriptions; a second call before it is up does nothing."""
        client = make_client(kraken)
        await nursery.start(client.run)
        await client.subscribe("book", ["BTC/USD"], depth=10)
        before = len(kraken.requests)
        client.reconnect("test: resync")
        client.reconnect("test: again")
        await wait_until(lambda: len(kraken.requests) >= before + 1)
        await client.wait_connected()
        assert kraken.connections == 2
        assert kraken.requests[before]["params"]["channel"] == "book"
        stats = client.statistics()
        assert (stats.connects, stats.disconnects) == (2, 1)

    async def test_reconnect_when_not_connected_does_nothing(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Before the first connection there is nothing to close."""
        client = make_client(kraken)
        client.reconnect("test: nothing open")
        await nursery.start(client.run)
        await client.wait_connected()
        await trio.sleep(0.05)
        assert client.statistics().connects == 1

    async def test_heartbeat_when_lost_reconnects(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """A silent connection (not even a pong) is dropped and a new one opened."""
        client = make_client(kraken, heartbeat_timeout=0.2)
        await nursery.start(client.run)
        await client.wait_connected()
        kraken.silent = True
        await wait_until(lambda: kraken.connections >= 2)
        kraken.silent = False
        assert client.statistics().heartbeat_losses >= 1
        assert any(r["method"] == "ping" for r in kraken.requests)

    async def test_quiet_connection_when_pong_arrives_is_kept(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Pings answered by pongs keep an idle connection alive."""
        client = make_client(kraken, heartbeat_timeout=0.1)
        await nursery.start(client.run)
        await client.wait_connected()
        await trio.sleep(0.5)
        assert kraken.connections == 1
        assert client.statistics().heartbeat_losses == 0

    async def test_pending_request_when_connection_drops_fails_closed(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """A request waiting when the link drops gets KrakenConnectionClosed, never hangs."""
        kraken.ignore_methods.add("subscribe")
        client = make_client(kraken)
        await nursery.start(client.run)
        await client.wait_connected()

        async def drop_soon() -> None:
            await wait_until(lambda: any(r["method"] == "subscribe" for r in kraken.requests))
            await kraken.drop()

        nursery.start_soon(drop_soon)
        with pytest.raises(KrakenConnectionClosed):
            await client.subscribe("ticker", ["BTC/USD"])

    async def test_unreachable_server_when_started_keeps_retrying(
        self, nursery: trio.Nursery
    ) -> None:
        """Connection failures never escape run(): they are retried with backoff."""
        client = KrakenWsClient("ws://127.0.0.1:1/v2", backoff=Backoff(initial=0.01, maximum=0.02))
        await nursery.start(client.run)
        await trio.sleep(0.1)
        assert not client.is_connected


class TestTrading:
    async def test_add_order_when_accepted_returns_ack_with_token_sent(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Trading requests carry the REST-issued token and decimals as JSON numbers."""

        async def token() -> str:
            return "tok"

        client = make_client(kraken, token_provider=token)
        await nursery.start(client.run)
        order = AddOrder(
            side="buy", order_qty=Decimal("0.0001"), symbol="BTC/USD", limit_price=Decimal("1.5")
        )
        ack = await client.add_order(order)
        assert ack.order.order_id == "OABC"
        sent = kraken.requests[-1]["params"]
        assert sent["order_qty"] == 0.0001
        assert sent["limit_price"] == 1.5

    async def test_add_order_when_refused_raises_typed_error(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """A refusal is the typed exception of Kraken's error string."""

        async def token() -> str:
            return "tok"

        client = make_client(kraken, token_provider=token)
        await nursery.start(client.run)
        with pytest.raises(InsufficientFunds):
            await client.add_order(AddOrder(side="buy", order_qty=Decimal(1000), symbol="BTC/USD"))

    async def test_cancel_order_when_mixed_returns_one_result_per_order(
        self, kraken: FakeKraken, nursery: trio.Nursery
    ) -> None:
        """Kraken answers once per order; accepted and rejected come back side by side."""

        async def token() -> str:
            return "tok"

        client = make_client(kraken, token_provider=token)
        await nursery.start(client.run)
        results = await client.cancel_order(CancelOrder(order_id=("OA", "XB")))
        assert isinstance(results[0], CancelOrderAck)
        assert isinstance(results[1], RequestRejected)


async def test_replay_transport_when_subscribing_acks_and_plays_recording(
    fixtures_dir: Path, nursery: trio.Nursery
) -> None:
    """ReplayTransport acknowledges subscriptions and then plays the recorded frames."""
    recording = json.loads((fixtures_dir / "kraken/book-btc-usd-v2-recorded.json").read_text())
    frames = [orjson.dumps(recording["init"])] + [orjson.dumps(u) for u in recording["updates"]]
    transport = ReplayTransport(frames)
    client = KrakenWsClient("replay", transport=transport, decoder=Decoder({"BTC/USD": (1, 8)}))
    await nursery.start(client.run)
    acks = await client.subscribe("book", ["BTC/USD"], depth=10)
    assert acks[0].symbol == "BTC/USD"
    received = [await next_of(client, BookMessage) for _ in range(510)]
    assert received[0].is_snapshot
    assert received[-1].checksum == recording["updates"][-1]["data"][0]["checksum"]
