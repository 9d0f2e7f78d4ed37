"""The soak stops trading before its last portfolio snapshot (regression, session 5).

A stat-arb close 2.8 s after the last snapshot was in the fills and cycles but not in the
snapshot's realised PnL, and the PnL check failed by 1.45 USD on a run where nothing was lost.
"""

from __future__ import annotations

from typing import Any, cast

import trio
import trio.testing

from actors import Bus, Lossless
from arbitrade.messages import TOPIC_CONTROL, ControlChanged
from arbitrade.soak._bot import BotHandle
from arbitrade.soak._observe import Observer
from arbitrade.soak._run import _stop_trading


class _Handle:
    def __init__(self) -> None:
        self.system: Any = type("S", (), {"bus": Bus()})()


async def test_stop_when_orders_keep_changing_waits_until_they_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The kill switch goes out first; the wait ends only after 2 s without an order change."""
    handle = _Handle()
    controls = handle.system.bus.subscribe(TOPIC_CONTROL, Lossless(10))
    observer = Observer()
    ended: list[float] = []

    async def orders_until(until: float) -> None:
        while trio.current_time() < until:
            observer.order_times.append(trio.current_time())
            await trio.sleep(0.5)

    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        nursery.start_soon(orders_until, start + 5.0)

        async def stop() -> None:
            await _stop_trading(cast(BotHandle, handle), observer)
            ended.append(trio.current_time() - start)

        nursery.start_soon(stop)
    change = controls.receive_nowait()
    assert isinstance(change, ControlChanged)
    assert (change.setting, change.value, change.who) == ("kill_switch", "engaged", "soak")
    last_order = observer.order_times[-1] - start
    assert last_order >= 4.5
    assert ended[0] >= last_order + 2.0
    assert ended[0] < last_order + 2.5


async def test_stop_when_orders_never_rest_gives_up_at_the_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A bot that never stops changing orders does not hold the soak past ``limit``."""
    handle = _Handle()
    observer = Observer()
    with trio.move_on_after(60) as never:
        async with trio.open_nursery() as nursery:

            async def forever() -> None:
                while True:
                    observer.order_times.append(trio.current_time())
                    await trio.sleep(0.5)

            nursery.start_soon(forever)
            start = trio.current_time()
            await _stop_trading(cast(BotHandle, handle), observer, limit=6.0)
            assert 6.0 <= trio.current_time() - start < 6.5
            nursery.cancel_scope.cancel()
    assert not never.cancelled_caught
