"""The status channel carries every system status change, and slow connections are closed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import trio
import trio.testing
from structlog.testing import capture_logs
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from arbitrade.sim import RunningSimulator, Simulator, serve_simulator
from arbitrade.sim._ws import Connection
from tests.sim._helpers import receive, receive_until, send
from tests.sim.conftest import small_config

_FLIPS = ("cancel_only", "online", "maintenance", "online")


def _is_status(message: Any) -> bool:
    return isinstance(message, dict) and message.get("channel") == "status"


async def _read_until_closed(ws: WebSocketConnection) -> None:
    for _ in range(10):
        assert not _is_status(await receive(ws)), "a coalesced status was sent"


class TestStatusChanges:
    async def test_status_when_it_flips_and_flips_back_sends_every_change_in_order(
        self, nursery: trio.Nursery
    ) -> None:
        """Four changes between two publishes reach every connection as four frames, in order."""
        running: RunningSimulator = await nursery.start(
            serve_simulator, small_config(ticking=False)
        )
        async with (
            open_websocket_url(running.ws_public_url) as first,
            open_websocket_url(running.ws_public_url) as second,
        ):
            for ws in (first, second):
                assert (await receive(ws))["data"][0]["system"] == "online"
            for status in _FLIPS:  # no checkpoint between: the publishers cannot run
                running.simulator.set_faults(system_status=status)
            seen = []
            for ws in (first, second):
                frames = [await receive_until(ws, _is_status, 50) for _ in _FLIPS]
                seen.append([frame["data"][0]["system"] for frame in frames])
        assert seen == [list(_FLIPS), list(_FLIPS)]

    async def test_status_when_subscribed_to_a_book_still_arrives_between_updates(
        self, running: RunningSimulator
    ) -> None:
        """A busy connection (book updates every tick) still gets each change, in order."""
        async with open_websocket_url(running.ws_public_url) as ws:
            await receive(ws)
            await send(
                ws,
                {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}},
            )
            for status in _FLIPS:
                running.simulator.set_faults(system_status=status)
            frames = [await receive_until(ws, _is_status, 500) for _ in _FLIPS]
        assert [frame["data"][0]["system"] for frame in frames] == list(_FLIPS)

    async def test_status_when_connection_behind_the_kept_changes_closes_it(
        self, nursery: trio.Nursery
    ) -> None:
        """More changes than are kept while a connection lags: closed, never coalesced."""
        running: RunningSimulator = await nursery.start(
            serve_simulator, small_config(ticking=False, status_changes_keep=2)
        )
        with capture_logs() as logs:
            async with open_websocket_url(running.ws_public_url) as ws:
                await receive(ws)
                for status in _FLIPS:
                    running.simulator.set_faults(system_status=status)
                with pytest.raises(ConnectionClosed):
                    await _read_until_closed(ws)
        slow = [entry for entry in logs if entry["event"] == "sim.ws.slow_consumer"]
        assert len(slow) == 1
        assert "forgotten" in slow[0]["reason"]


class TestSlowConnection:
    async def test_outbox_when_full_for_slow_client_seconds_closes_the_connection(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A client that reads nothing fills its outbox; after slow_client_seconds it is closed."""
        sim = Simulator(small_config(ticking=False, heartbeat_seconds=0.01, slow_client_seconds=5))
        connection = Connection(sim, private=False, connection_id=1)
        requests = [
            orjson.dumps(
                {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"]}}
            ).decode()
        ]

        async def never_sends(text: str) -> None:
            await trio.sleep_forever()

        async def one_request() -> str | None:
            if requests:
                return requests.pop()
            await trio.sleep_forever()
            raise AssertionError("unreachable")

        with capture_logs() as logs:
            with trio.fail_after(600):
                await connection.run(never_sends, one_request)
        assert connection.closed_as_slow == "outbox full for 5 s"
        assert [entry["event"] for entry in logs].count("sim.ws.slow_consumer") == 1


class TestTradeRecordBehind:
    def test_collect_when_behind_with_trade_subscription_sends_kept_and_says_skipped(
        self,
    ) -> None:
        """The trades still kept are sent; the forgotten ones are counted in a warning."""
        sim = Simulator(small_config(ticking=False, trades_keep=10))
        connection = Connection(sim, private=False, connection_id=1)
        connection.trades.update(pair.symbol for pair in sim.universe.pairs)
        while sim.trade_log.end < 100:
            sim.step()
        with capture_logs() as logs:
            messages = connection._collect()
        sent = sum(len(m["data"]) for m in messages if m.get("channel") == "trade")
        skipped = [entry for entry in logs if entry["event"] == "sim.ws.trades_skipped"]
        assert sent == 10
        assert [entry["skipped"] for entry in skipped] == [sim.trade_log.end - 10]

    def test_collect_when_behind_with_tickers_only_sends_current_tickers(self) -> None:
        """Tickers are state: a connection behind the trade record gets them as they are now."""
        sim = Simulator(small_config(ticking=False, trades_keep=10))
        connection = Connection(sim, private=False, connection_id=1)
        connection.tickers["BTC/USD"] = ("trades", connection._bbo("BTC/USD"))
        while sim.trade_log.end < 100:
            sim.step()
        messages = connection._collect()
        tickers = [m["data"][0]["symbol"] for m in messages if m.get("channel") == "ticker"]
        assert tickers == ["BTC/USD"]
