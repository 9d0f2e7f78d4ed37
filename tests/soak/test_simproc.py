"""The soak's handle on the simulator: the same requests in this process and in a child."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from arbitrade.sim import MarketSettings, SimConfig, serve_simulator
from arbitrade.soak._simproc import (
    InProcessSimulator,
    SimAddresses,
    SimulatorGone,
    SimulatorProcess,
    _decode,
    simulator_process,
)

ADDRESSES = SimAddresses(0, "http://x", "ws://x/v2", "ws://x/v2-auth", "http://x/sim")


class TestInProcess:
    async def test_faults_when_set_are_read_back(self) -> None:
        """A knob set through the handle is the simulator's knob."""
        market = MarketSettings(tick_seconds=0.05, mispricing_rate=0.0)
        config = SimConfig(symbols=("BTC/USD",), market=market, ticking=False)
        async with trio.open_nursery() as nursery:
            running: Any = await nursery.start(serve_simulator, config)
            sim = InProcessSimulator(running.simulator, ADDRESSES)
            await sim.set_faults({"rate_limit_errors": 2})
            assert await sim.fault("rate_limit_errors") == 2
            assert await sim.received_orders() == []
            assert (await sim.balances())["USD"] == Decimal(100_000)
            assert sim.pid is None
            nursery.cancel_scope.cancel()


class _SlowChild:
    """A child that answers each request line with its number, ``delay`` seconds later (or
    never, when ``delay`` is None), over in-memory streams."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.requests: list[bytes] = []
        self._answers_in, self.stdout = trio.testing.memory_stream_one_way_pair()
        self.stdin = self
        self.pid = 4242

    async def send_all(self, data: bytes) -> None:
        self.requests.append(data)
        if self.delay is not None:  # the request is out; its answer comes later
            trio.lowlevel.spawn_system_task(self._answer, len(self.requests), self.delay)

    async def _answer(self, number: int, delay: float) -> None:
        await trio.sleep(delay)
        await self._answers_in.send_all(b'{"ok": %d}\n' % number)


class TestProtocol:
    async def test_request_when_cancelled_half_way_leaves_no_answer_for_the_next(self) -> None:
        """Regression (session 5 soak diagnosis): a caller's timeout between a request and its
        answer left the answer in the pipe, and the next request read it as its own (an
        ``int(None)`` crash of the fault injector). The exchange is now whole or not at all."""
        child = _SlowChild(delay=0.2)
        sim = SimulatorProcess(child, ADDRESSES)  # type: ignore[arg-type]
        with trio.move_on_after(0.05) as scope:
            await sim.fault("nonce_errors")
        assert scope.cancelled_caught
        assert await sim.fault("nonce_errors") == 2
        assert await sim.fault("nonce_errors") == 3

    async def test_child_when_silent_raises_simulator_gone(self) -> None:
        """A child that never answers is gone after ``answer_timeout``, not awaited forever."""
        sim = SimulatorProcess(_SlowChild(delay=None), ADDRESSES)  # type: ignore[arg-type]
        sim.answer_timeout = 0.1
        with pytest.raises(SimulatorGone, match=r"did not answer fault in 0\.1 s"):
            await sim.fault("nonce_errors")

    def test_answer_when_not_json_raises_simulator_gone(self) -> None:
        """Garbage from the child is a loud failure, never a guess."""
        with pytest.raises(SimulatorGone, match="garbage"):
            _decode(b"Traceback (most recent call last):")


@pytest.mark.slow
class TestChildProcess:
    async def test_child_when_asked_answers_like_the_simulator(self) -> None:
        """The child announces its addresses, takes knobs, counts pairs, and stops on exit."""
        async with simulator_process(1) as sim:
            assert sim.pid is not None
            assert sim.addresses.rest_url.startswith("http://127.0.0.1:")
            await sim.set_faults({"nonce_errors": 3})
            assert await sim.fault("nonce_errors") == 3
            assert await sim.pair_count() > 100
            await sim.drop_connections()
            with pytest.raises(SimulatorGone, match="AttributeError"):
                await sim.fault("no_such_knob")
