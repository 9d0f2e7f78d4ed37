"""The opt-in wsproto transport against the simulator: the same feed, whole socket reads.

Real clock and a loopback socket, as the other simulator tests (see ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
import trio

from actors import Bus, SupervisorSpec
from actors.testing import open_harness
from arbitrade.kraken import KrakenConnectError, KrakenConnectionClosed
from arbitrade.kraken._wsproto_transport import WsprotoTransport
from arbitrade.market.wiring import market_supervisor
from arbitrade.messages import TOPIC_BOOK_STATE, BookHealth, BookStateChanged
from arbitrade.sim import RunningSimulator
from tests.market.conftest import FEES, GRAPH, SYMBOLS, Recorder, market_settings


class TestWsprotoTransport:
    async def test_connect_when_simulator_serves_answers_a_ping_and_hands_over_ready_frames(
        self, sim: RunningSimulator
    ) -> None:
        """The handshake, a request and its answer, and frames taken without waiting once
        one read brought several."""
        transport = WsprotoTransport()
        async with transport.connect(sim.ws_public_url) as connection:
            request = {
                "method": "subscribe",
                "params": {"channel": "book", "symbol": list(SYMBOLS)},
            }
            await connection.send(orjson.dumps({**request, "req_id": 1}).decode())
            frames = [await connection.receive()]
            with trio.fail_after(10):
                while len(frames) < 20:
                    try:
                        frames.append(connection.receive_nowait())  # type: ignore[attr-defined]
                    except trio.WouldBlock:
                        frames.append(await connection.receive())
        kinds = {orjson.loads(f).get("channel") or orjson.loads(f).get("method") for f in frames}
        assert {"status", "subscribe", "book"} <= kinds

    async def test_connect_when_nothing_listens_raises_connect_error(self) -> None:
        """A refused connection is our own typed error, naming the URL."""
        with pytest.raises(KrakenConnectError, match=r"127\.0\.0\.1:9"):
            async with WsprotoTransport(connect_timeout=2.0).connect("ws://127.0.0.1:9/v2"):
                pass

    async def test_book_feed_when_on_wsproto_gets_every_book_live(
        self, sim: RunningSimulator, record: Callable[[Bus, str], Recorder]
    ) -> None:
        """Chosen by the setting, the book feed runs unchanged on it: every book of the small
        universe goes live."""
        spec = market_supervisor(
            sim.ws_public_url, market_settings(ws_transport="wsproto"), GRAPH, FEES
        )
        async with open_harness() as harness:
            states = record(harness.bus, TOPIC_BOOK_STATE)
            await harness.start_tree(SupervisorSpec("root", [spec]))
            live = set()
            while live != set(SYMBOLS):
                state = await states.expect(BookStateChanged, lambda s: s.health is BookHealth.LIVE)
                live.add(state.symbol)


class TestWsprotoLimits:
    async def test_receive_when_a_message_exceeds_the_limit_closes_with_a_typed_error(
        self, sim: RunningSimulator
    ) -> None:
        """A message longer than ``max_message_size`` is not kept growing: the connection
        closes (1009) and the reader gets our typed error naming the limit."""
        transport = WsprotoTransport(max_message_size=64)
        lengths: list[int] = []

        async def read_until_closed() -> None:
            async with transport.connect(sim.ws_public_url) as connection:
                request = {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"]},
                }
                await connection.send(orjson.dumps(request).decode())
                with trio.fail_after(10):
                    while True:
                        lengths.append(len(await connection.receive()))

        with pytest.raises(KrakenConnectionClosed, match="message over 64 bytes"):
            await read_until_closed()
        assert all(length <= 64 for length in lengths)
