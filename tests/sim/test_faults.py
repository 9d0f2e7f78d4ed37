"""Every fault knob is observable, set through the Python API or the control endpoint."""

from __future__ import annotations

import httpx
import orjson
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from arbitrade.sim import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    FaultSettings,
    RunningSimulator,
    SimConfigError,
    serve_simulator,
)
from tests.sim._helpers import ClientBook, private, receive, receive_until, send
from tests.sim.conftest import small_config


async def _subscribe_book(ws: WebSocketConnection, symbol: str = "BTC/USD") -> None:
    await receive(ws)  # status
    await send(ws, {"method": "subscribe", "params": {"channel": "book", "symbol": [symbol]}})
    await receive_until(ws, lambda m: m.get("method") == "subscribe")


async def _read_until_closed(ws: WebSocketConnection) -> None:
    for _ in range(1000):
        await ws.get_message()


class TestConnectionFaults:
    async def test_drop_connections_when_requested_closes_every_socket(
        self, running: RunningSimulator
    ) -> None:
        """After drop_connections the server closes the connection."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _subscribe_book(ws)
            running.simulator.drop_connections()
            with pytest.raises(ConnectionClosed):
                await _read_until_closed(ws)
        assert ws.closed is not None

    async def test_drop_every_when_set_closes_connections_periodically(
        self, nursery: trio.Nursery
    ) -> None:
        """drop_every_seconds closes a connection after that long."""
        config = small_config(faults=FaultSettings(drop_every_seconds=0.2))
        running = await nursery.start(serve_simulator, config)
        async with open_websocket_url(running.ws_public_url) as ws:
            with trio.fail_after(3), pytest.raises(ConnectionClosed):
                await _read_until_closed(ws)

    async def test_stalled_book_when_set_withholds_updates_but_not_acks(
        self, running: RunningSimulator
    ) -> None:
        """While book is stalled no book frame arrives; pings are still answered."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _subscribe_book(ws)
            running.simulator.set_faults(stalled_channels=["book"])
            await trio.sleep(0.05)  # let frames already queued drain
            while True:
                with trio.move_on_after(0.01):
                    await ws.get_message()
                    continue
                break
            with trio.move_on_after(0.3):
                while True:
                    message = await receive(ws)
                    assert message.get("channel") != "book"
            await send(ws, {"method": "ping", "req_id": 1})
            pong = await receive_until(ws, lambda m: m.get("method") == "pong")
        assert pong["req_id"] == 1


class TestFrameFaults:
    async def test_corrupt_checksum_when_requested_breaks_exactly_one_message(
        self, running: RunningSimulator
    ) -> None:
        """One book message carries a wrong checksum; the stream is otherwise valid."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _subscribe_book(ws)
            book = ClientBook(10, 1, 8)
            snapshot = await receive_until(ws, lambda m: m.get("channel") == "book")
            assert book.apply(snapshot["data"][0])
            running.simulator.set_faults(corrupt_checksums=1)
            results = []
            while len(results) < 20:
                message = await receive(ws)
                if message.get("channel") == "book":
                    results.append(book.apply(message["data"][0]))
        assert results.count(False) == 1

    async def test_garbage_and_truncated_frames_when_requested_arrive_once_each(
        self, running: RunningSimulator
    ) -> None:
        """A non-JSON frame and a cut JSON frame arrive; later frames parse again."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await _subscribe_book(ws)
            running.simulator.set_faults(garbage_frames=1, truncated_frames=1)
            bad = []
            for _ in range(30):
                text = await ws.get_message()
                try:
                    orjson.loads(text)
                except orjson.JSONDecodeError:
                    bad.append(text)
        assert len(bad) == 2
        assert any(text.startswith('{"channel":"book"') for text in bad)

    async def test_ack_delay_when_set_delays_answers(self, running: RunningSimulator) -> None:
        """A pong takes at least the configured delay."""
        running.simulator.set_faults(ack_delay_seconds=0.3)
        async with open_websocket_url(running.ws_public_url) as ws:
            await receive(ws)
            started = trio.current_time()
            await send(ws, {"method": "ping", "req_id": 2})
            await receive_until(ws, lambda m: m.get("method") == "pong")
        assert trio.current_time() - started >= 0.3


class TestRestFaults:
    async def test_rate_limit_and_nonce_errors_when_requested_answer_once_each(
        self, running: RunningSimulator
    ) -> None:
        """The next private calls fail with the forced errors, then calls succeed again."""
        running.simulator.set_faults(rate_limit_errors=1, nonce_errors=1)
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            answers = [
                (await private(client, "Balance", DEFAULT_API_KEY, DEFAULT_API_SECRET))["error"]
                for _ in range(3)
            ]
        assert answers == [["EAPI:Invalid nonce"], ["EAPI:Rate limit exceeded"], []]


class TestSystemStatus:
    async def test_maintenance_when_set_by_control_endpoint_is_broadcast_and_enforced(
        self, running: RunningSimulator
    ) -> None:
        """POST /sim/faults maintenance: status frame, SystemStatus, and orders refused."""
        async with (
            open_websocket_url(running.ws_public_url) as ws,
            httpx.AsyncClient(base_url=running.rest_url) as client,
        ):
            await receive(ws)
            response = await client.post("/sim/faults", json={"system_status": "maintenance"})
            status = await receive_until(ws, lambda m: m.get("channel") == "status")
            system = (await client.get("/0/public/SystemStatus")).json()["result"]["status"]
            order = await private(
                client,
                "AddOrder",
                DEFAULT_API_KEY,
                DEFAULT_API_SECRET,
                {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.01"},
            )
        assert response.json()["system_status"] == "maintenance"
        assert status["data"][0]["system"] == "maintenance"
        assert system == "maintenance"
        assert order == {"error": ["EService:Unavailable"]}

    async def test_control_endpoint_when_knob_unknown_answers_400(
        self, running: RunningSimulator
    ) -> None:
        """A bad knob is refused with its name and nothing changes."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            response = await client.post("/sim/faults", json={"explode": True})
            current = (await client.get("/sim/faults")).json()
        assert response.status_code == 400
        assert "explode" in response.json()["error"]
        assert current["system_status"] == "online"

    def test_set_faults_when_value_invalid_raises(self) -> None:
        """The Python API validates too."""
        from arbitrade.sim import Simulator

        sim = Simulator(small_config(ticking=False))
        with pytest.raises(SimConfigError, match="system_status"):
            sim.set_faults(system_status="on fire")


class TestMispricingHook:
    async def test_mispricing_when_posted_to_control_endpoint_moves_the_book(
        self, running: RunningSimulator
    ) -> None:
        """POST /sim/mispricing opens a known mispricing on a pair."""
        async with httpx.AsyncClient(base_url=running.rest_url) as client:
            response = await client.post(
                "/sim/mispricing",
                json={"symbol": "SOL/BTC", "deviation_bps": 300, "lifetime_ticks": 100},
            )
        assert response.status_code == 200
        assert response.json()["symbol"] == "SOL/BTC"
        assert [m.symbol for m in running.simulator.model.mispricings] == ["SOL/BTC"]
