"""The soak's handle on the simulator: the same requests in this process and in a child."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import trio

from arbitrade.sim import MarketSettings, SimConfig, serve_simulator
from arbitrade.soak._simproc import (
    InProcessSimulator,
    SimAddresses,
    SimulatorGone,
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


class TestProtocol:
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
