"""WebSocket v2 over the network: envelope, public channels, checksums, private trading."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, RunningSimulator, serve_simulator
from tests.sim._helpers import ClientBook, private, receive, receive_until, send
from tests.sim.conftest import small_config


async def _connect_and_skip_status(ws: WebSocketConnection) -> dict[str, Any]:
    status: dict[str, Any] = await receive(ws)
    assert status["channel"] == "status"
    return status


async def _token(running: RunningSimulator) -> str:
    async with httpx.AsyncClient(base_url=running.rest_url) as client:
        answer = await private(client, "GetWebSocketsToken", DEFAULT_API_KEY, DEFAULT_API_SECRET)
    assert answer["result"]["expires"] == 900
    token: str = answer["result"]["token"]
    return token


class TestEnvelope:
    async def test_connect_when_opened_sends_status_then_answers_ping(
        self, running: RunningSimulator
    ) -> None:
        """Status comes first (v2, online, connection id); ping gets pong with req_id."""
        async with open_websocket_url(running.ws_public_url) as ws:
            status = await _connect_and_skip_status(ws)
            data = status["data"][0]
            assert status["type"] == "update"
            assert (data["api_version"], data["system"]) == ("v2", "online")
            assert 0 <= data["connection_id"] < 2**64
            await send(ws, {"method": "ping", "req_id": 7})
            pong = await receive(ws)
        assert pong["method"] == "pong"
        assert pong["req_id"] == 7
        assert {"time_in", "time_out"} <= set(pong)

    async def test_subscribe_when_several_symbols_acks_once_per_symbol(
        self, running: RunningSimulator
    ) -> None:
        """One ack per symbol with a single-string symbol; unknown symbols fail alone."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _connect_and_skip_status(ws)
            await send(
                ws,
                {
                    "method": "subscribe",
                    "req_id": 3,
                    "params": {"channel": "ticker", "symbol": ["BTC/USD", "NOPE/USD", "ETH/USD"]},
                },
            )
            acks = []
            while len(acks) < 3:
                message = await receive(ws)
                if message.get("method") == "subscribe":
                    acks.append(message)
        assert [a["success"] for a in acks] == [True, False, True]
        assert acks[0]["result"] == {
            "channel": "ticker",
            "event_trigger": "trades",
            "snapshot": True,
            "symbol": "BTC/USD",
        }
        assert acks[1]["symbol"] == "NOPE/USD"
        assert all(a["req_id"] == 3 for a in acks)

    async def test_heartbeat_when_subscribed_and_idle_is_sent(self, nursery: trio.Nursery) -> None:
        """With a subscription and no updates, a heartbeat arrives about once a second."""
        running = await nursery.start(
            serve_simulator, small_config(ticking=False, heartbeat_seconds=0.05)
        )
        async with open_websocket_url(running.ws_public_url) as ws:
            await _connect_and_skip_status(ws)
            await send(
                ws, {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"]}}
            )
            message = await receive_until(ws, lambda m: m.get("channel") == "heartbeat", 10)
        assert message == {"channel": "heartbeat"}


class TestPublicChannels:
    async def test_instrument_when_subscribed_lists_assets_and_pairs(
        self, running: RunningSimulator
    ) -> None:
        """The instrument snapshot carries precisions, increments, minimums and statuses."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _connect_and_skip_status(ws)
            await send(ws, {"method": "subscribe", "params": {"channel": "instrument"}})
            snapshot = await receive_until(ws, lambda m: m.get("channel") == "instrument")
        pairs = {p["symbol"]: p for p in snapshot["data"]["pairs"]}
        btc = pairs["BTC/USD"]
        assert btc["price_precision"] == 1
        assert btc["qty_precision"] == 8
        assert btc["price_increment"] == Decimal("0.1")
        assert btc["qty_increment"] == Decimal("0.00000001")
        assert pairs["KSM/EUR"]["status"] == "cancel_only"
        assert {"BTC", "USD"} <= {a["id"] for a in snapshot["data"]["assets"]}

    @pytest.mark.parametrize("depth", [10, 25, 100])
    async def test_book_when_streamed_keeps_every_checksum_valid(
        self, running: RunningSimulator, depth: int
    ) -> None:
        """Snapshot then updates; an independent client book validates every checksum."""
        symbols = ["BTC/USD", "ETH/BTC", "DOGE/USD", "SOL/ETH"]
        pairs = {s: running.simulator.universe.pair(s) for s in symbols}
        books = {s: ClientBook(depth, p.price_precision, p.qty_precision) for s, p in pairs.items()}
        counts = dict.fromkeys(symbols, 0)
        async with open_websocket_url(running.ws_public_url) as ws:
            await _connect_and_skip_status(ws)
            await send(
                ws,
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "depth": depth, "symbol": symbols},
                },
            )
            while min(counts.values()) < 15:
                message = await receive(ws)
                if message.get("channel") != "book":
                    continue
                item = message["data"][0]
                assert books[item["symbol"]].apply(item), (item["symbol"], message["type"])
                assert len(books[item["symbol"]].bids) == depth
                counts[item["symbol"]] += 1

    async def test_ticker_trade_ohlc_when_subscribed_send_snapshots_with_kraken_fields(
        self, running: RunningSimulator
    ) -> None:
        """Each channel's snapshot carries its documented fields."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _connect_and_skip_status(ws)
            for channel, extra in (
                ("ticker", {}),
                ("trade", {"snapshot": True}),
                ("ohlc", {"interval": 5}),
            ):
                await send(
                    ws,
                    {
                        "method": "subscribe",
                        "params": {"channel": channel, "symbol": ["BTC/USD"], **extra},
                    },
                )
            seen: dict[str, dict[str, Any]] = {}
            while len(seen) < 3:
                message = await receive(ws)
                if (
                    message.get("channel") in ("ticker", "trade", "ohlc")
                    and message.get("type") == "snapshot"
                ):
                    seen[message["channel"]] = message
        ticker = seen["ticker"]["data"][0]
        assert {
            "bid",
            "bid_qty",
            "ask",
            "ask_qty",
            "last",
            "volume",
            "vwap",
            "low",
            "high",
            "change",
            "change_pct",
        } <= set(ticker)
        assert ticker["bid"] < ticker["ask"]
        for trade in seen["trade"]["data"]:
            assert set(trade) == {
                "symbol",
                "side",
                "price",
                "qty",
                "ord_type",
                "trade_id",
                "timestamp",
            }
        candle = seen["ohlc"]["data"][0]
        assert candle["interval"] == 5
        assert "timestamp" in seen["ohlc"]
        assert {
            "open",
            "high",
            "low",
            "close",
            "vwap",
            "trades",
            "volume",
            "interval_begin",
        } <= set(candle)


class TestPrivate:
    async def test_executions_when_order_added_reports_ack_and_lifecycle(
        self, running: RunningSimulator
    ) -> None:
        """add_order is acknowledged with an order id and followed on executions."""
        token = await _token(running)
        async with open_websocket_url(running.ws_private_url) as ws:
            await _connect_and_skip_status(ws)
            await send(
                ws, {"method": "subscribe", "params": {"channel": "executions", "token": token}}
            )
            ack = await receive_until(ws, lambda m: m.get("method") == "subscribe")
            snapshot = await receive_until(ws, lambda m: m.get("channel") == "executions")
            await send(
                ws,
                {
                    "method": "add_order",
                    "req_id": 11,
                    "params": {
                        "order_type": "market",
                        "side": "buy",
                        "order_qty": 0.05,
                        "symbol": "ETH/USD",
                        "cl_ord_id": "ws-1",
                        "token": token,
                    },
                },
            )
            added = await receive_until(ws, lambda m: m.get("method") == "add_order")
            events = []
            while not events or events[-1]["exec_type"] != "filled":
                message = await receive_until(ws, lambda m: m.get("channel") == "executions")
                events.extend(message["data"])
        assert ack["success"] is True
        assert ack["result"]["channel"] == "executions"
        assert snapshot["type"] == "snapshot"
        assert snapshot["data"] == []
        assert added["success"] is True
        assert added["req_id"] == 11
        assert added["result"]["cl_ord_id"] == "ws-1"
        kinds = [e["exec_type"] for e in events]
        assert kinds[:2] == ["pending_new", "new"]
        trade = next(e for e in events if e["exec_type"] == "trade")
        assert trade["liquidity_ind"] == "t"
        assert trade["fees"][0]["asset"] == "USD"
        assert events[-1]["order_status"] == "filled"

    async def test_cancel_methods_when_orders_open_cancel_them(
        self, running: RunningSimulator
    ) -> None:
        """batch_add places, cancel_order and cancel_all cancel, cancel_all_orders_after arms."""
        token = await _token(running)
        async with open_websocket_url(running.ws_private_url) as ws:
            await _connect_and_skip_status(ws)
            order = {"order_type": "limit", "side": "buy", "order_qty": 0.01, "limit_price": 1000.0}
            await send(
                ws,
                {
                    "method": "batch_add",
                    "params": {
                        "symbol": "BTC/USD",
                        "token": token,
                        "orders": [
                            {**order, "cl_ord_id": "b1"},
                            {**order, "cl_ord_id": "b2"},
                            {**order, "cl_ord_id": "b3"},
                        ],
                    },
                },
            )
            batch = await receive_until(ws, lambda m: m.get("method") == "batch_add")
            await send(
                ws, {"method": "cancel_order", "params": {"cl_ord_id": ["b1"], "token": token}}
            )
            cancel = await receive_until(ws, lambda m: m.get("method") == "cancel_order")
            await send(ws, {"method": "cancel_all", "params": {"token": token}})
            cancel_all = await receive_until(ws, lambda m: m.get("method") == "cancel_all")
            await send(
                ws, {"method": "cancel_all_orders_after", "params": {"timeout": 60, "token": token}}
            )
            after = await receive_until(ws, lambda m: m.get("method") == "cancel_all_orders_after")
        assert len(batch["result"]) == 3
        assert cancel["result"]["cl_ord_id"] == "b1"
        assert cancel_all["result"] == {"count": 2}
        assert set(after["result"]) == {"currentTime", "triggerTime"}

    async def test_private_method_when_token_invalid_is_refused(
        self, running: RunningSimulator
    ) -> None:
        """A made-up token is refused; nothing is placed."""
        async with open_websocket_url(running.ws_private_url) as ws:
            await _connect_and_skip_status(ws)
            await send(
                ws,
                {
                    "method": "add_order",
                    "params": {
                        "token": "made-up",
                        "order_type": "market",
                        "side": "buy",
                        "order_qty": 1,
                        "symbol": "BTC/USD",
                    },
                },
            )
            answer = await receive_until(ws, lambda m: m.get("method") == "add_order")
        assert answer["success"] is False
        assert running.simulator.received_orders == []
