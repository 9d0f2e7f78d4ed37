"""Deterministic timers: callbacks run in (time, order of scheduling) order, never by chance.

Trio breaks ties between equal deadlines by the memory address of their cancel scopes, so two
timers due at the same instant fire in an order that can change from run to run. Backtest
components that must act in a reproducible order schedule through :class:`Scheduler` instead:
:class:`Timeline` runs callbacks from one task in (time, sequence) order; under replay the
:class:`~arbitrade.backtest._replay.TimedReplayTransport` is the scheduler, merging these
callbacks with the recorded frames on one time line.

A settling timeline (``Timeline(settle=True)``, for runs on a virtual clock only) runs the
callbacks due at *t* once instant *t* is over: every task waits and no timer is due, so
nothing else can happen at *t*. The paper run of the parity test gives its paper venue one, so
an order meets the market after every frame of its instant, as the replay's venue does.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Final, Protocol

import trio
import trio.testing

Callback = Callable[[], None]

SETTLE_CUSHION: Final = 1e-4
"""Real seconds every task must have waited before a settling timeline runs its callbacks.
Above zero on purpose: waiters with the smallest cushion wake first, so a transport in
lockstep (cushion zero) hands over every frame ready at an instant before the venue acts."""


class Scheduler(Protocol):
    """Runs a synchronous callback at a Trio time (at once if that time has passed)."""

    def call_at(self, at: float, callback: Callback) -> None:
        """Run ``callback`` at ``at``; equal times run in the order they were scheduled."""
        ...


class Timeline:
    """A :class:`Scheduler` served by :meth:`run` (start it in a nursery).

    Args:
        settle: run the callbacks due at an instant only once that instant has settled
            (every other task waiting; see the module docstring). Only meaningful on
            ``trio.testing.MockClock``: on a real clock the loop may stay busy and the
            callbacks wait until it is not.
    """

    def __init__(self, *, settle: bool = False) -> None:
        self._settle = settle
        self._heap: list[tuple[float, int, Callback]] = []
        self._order = itertools.count()
        self._sleeping: trio.CancelScope | None = None

    def call_at(self, at: float, callback: Callback) -> None:
        heapq.heappush(self._heap, (at, next(self._order), callback))
        if self._sleeping is not None:
            self._sleeping.deadline = min(self._sleeping.deadline, at)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run callbacks as they fall due, until cancelled. A callback's exception ends it."""
        task_status.started()
        heap = self._heap
        while True:
            due = heap[0][0] if heap else math.inf
            if due > trio.current_time():
                with trio.CancelScope(deadline=due) as scope:
                    self._sleeping = scope
                    await trio.sleep_forever()
                self._sleeping = None
                continue
            if self._settle:
                await trio.testing.wait_all_tasks_blocked(SETTLE_CUSHION)
                now = trio.current_time()
                # every callback due by now, back to back: they all meet the settled instant
                while heap and heap[0][0] <= now:
                    heapq.heappop(heap)[2]()
                continue
            _, _, callback = heapq.heappop(heap)
            callback()
            await trio.lowlevel.checkpoint()
