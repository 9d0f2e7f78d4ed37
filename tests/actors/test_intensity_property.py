"""Restart intensity against a reference model, over generated crash schedules."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import actors

from .conftest import Boom, Echo


def model_gives_up_at(gaps: list[float], max_restarts: int, within: float) -> int | None:
    """Index of the crash that makes an OTP supervisor give up, or None."""
    restarts: list[float] = []
    now = 0.0
    for index, gap in enumerate(gaps):
        now += gap
        restarts = [t for t in restarts if t > now - within]
        if len(restarts) >= max_restarts:
            return index
        restarts.append(now)
    return None


async def run_schedule(gaps: list[float], max_restarts: int, within: float) -> int | None:
    spec = actors.SupervisorSpec(
        "root",
        [actors.ChildSpec("e", factory=Echo)],
        intensity=actors.Intensity(max_restarts, within),
    )
    crashes = 0

    async def body() -> None:
        nonlocal crashes
        async with actors.open_system(spec) as system:
            ref = system.registry.lookup("root/e")
            for gap in gaps:
                await trio.sleep(gap)
                crashes += 1
                await ref.send(Boom())
                await trio.testing.wait_all_tasks_blocked()

    try:
        await body()
    except actors.SupervisorGaveUp:
        return crashes - 1
    return None


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 12).map(lambda quarters: quarters / 4), min_size=1, max_size=12),
    max_restarts=st.integers(0, 4),
    within=st.integers(1, 12).map(lambda quarters: quarters / 4),
)
def test_intensity_when_crashes_follow_a_schedule_gives_up_exactly_as_the_model(
    gaps: list[float], max_restarts: int, within: float
) -> None:
    """The supervisor gives up at the same crash as the OTP model (every restart counts)."""
    expected = model_gives_up_at(gaps, max_restarts, within)
    got: list[Any] = []

    async def main() -> None:
        got.append(await run_schedule(gaps, max_restarts, within))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert got == [expected]
