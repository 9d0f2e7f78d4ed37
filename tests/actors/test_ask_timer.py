"""Ask timeouts: served by the system's timer, by a cancel scope when no system runs."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
import actors.testing
from actors._timer import GRANULARITY

from .conftest import Ping, Pong


class Silent(actors.Actor[Any]):
    """Never replies until told to (keeps asks pending)."""

    release: trio.Event

    async def receive(self, message: Any) -> object:
        await Silent.release.wait()
        return message


@pytest.fixture(autouse=True)
def release() -> trio.Event:
    Silent.release = trio.Event()
    return Silent.release


def silent(capacity: int = 10) -> actors.SupervisorSpec:
    return actors.SupervisorSpec(
        "root", [actors.ChildSpec("s", factory=Silent, mailbox=actors.Mailbox(capacity))]
    )


async def test_ask_when_timer_serves_it_times_out_within_granularity(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The timeout fires no earlier than asked and at most one bucket late."""
    async with actors.open_system(silent()) as system:
        ref = system.registry.lookup("root/s")
        start = trio.current_time()
        with pytest.raises(actors.AskTimeout):
            await ref.ask(1, timeout=0.25)
        waited = trio.current_time() - start
        assert 0.25 <= waited <= 0.25 + GRANULARITY + 1e-9
        Silent.release.set()


async def test_ask_when_many_time_out_each_raises_and_later_asks_still_work(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Concurrent asks with different timeouts each time out on their own."""
    async with actors.open_system(silent()) as system:
        ref = system.registry.lookup("root/s")
        outcomes: dict[float, float] = {}

        async def ask(seconds: float) -> None:
            start = trio.current_time()
            with pytest.raises(actors.AskTimeout):
                await ref.ask(seconds, timeout=seconds)
            outcomes[seconds] = trio.current_time() - start

        async with trio.open_nursery() as nursery:
            for timeout in (3.0, 0.5, 1.0, 0.1):
                nursery.start_soon(ask, timeout)
        for timeout, waited in outcomes.items():
            assert timeout <= waited <= timeout + GRANULARITY + 1e-9
        Silent.release.set()
        assert await ref.ask(Ping(1), timeout=1.0) == Ping(1)


async def test_ask_when_mailbox_stays_full_times_out_waiting_for_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The ask timeout covers waiting for mailbox room."""
    async with actors.open_system(silent(capacity=1)) as system:
        ref = system.registry.lookup("root/s")
        await ref.send(0)  # in hand
        await trio.testing.wait_all_tasks_blocked()
        await ref.send(1)  # queued: full
        start = trio.current_time()
        with pytest.raises(actors.AskTimeout, match="'root/s'"):
            await ref.ask(2, timeout=2.0)
        assert trio.current_time() - start == pytest.approx(2.0)
        Silent.release.set()


async def test_ask_when_asker_is_cancelled_leaves_no_pending_timer_entry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """An asker cancelled from outside just stops waiting; the late reply is dropped."""
    async with actors.open_system(silent()) as system:
        ref = system.registry.lookup("root/s")
        with trio.move_on_after(0.1):
            await ref.ask(1, timeout=10.0)
        timer = system._timer
        assert all(not bucket for bucket in timer._buckets.values())
        Silent.release.set()
        await trio.testing.wait_all_tasks_blocked()


async def test_ask_when_ref_is_outside_a_running_system_uses_a_cancel_scope(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A bare Ref (no system timer) still times out."""
    ref: actors.Ref[Any] = actors.Ref("loose")
    with pytest.raises(actors.AskTimeout, match="'loose' did not reply to Ping within 1s"):
        await ref.ask(Ping(1), timeout=1.0)
    assert trio.current_time() == pytest.approx(1.0)


async def test_ask_when_timer_stops_mid_ask_falls_back_and_still_times_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Asks parked on a timer whose host tree stops are handed back to their own timeout."""
    async with actors.testing.open_harness() as harness:
        await harness.start(actors.ChildSpec("e", factory=_Echo), supervisor="first")  # timer host
        ref = await harness.start(actors.ChildSpec("s", factory=Silent), supervisor="second")
        timer = harness.system._timer
        assert timer.running

        async def stop_first_later() -> None:
            await trio.sleep(0.5)
            for root in list(harness.system._roots):
                if root.path == "first":
                    root.request_stop()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_first_later)
            start = trio.current_time()
            with pytest.raises(actors.AskTimeout):
                await ref.ask(1, timeout=2.0)
            assert trio.current_time() - start == pytest.approx(2.0)
        assert not timer.running
        Silent.release.set()
        assert await ref.ask(Ping(2), timeout=1.0) == Ping(2)


class _Echo(actors.Actor[Any]):
    async def receive(self, message: Any) -> object:
        return Pong(message.n)
