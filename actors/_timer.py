"""One timer task per system that expires overdue asks.

A cancel scope per ask costs more than the rest of an ask round trip, so asks park without
one and register in a coarse bucket (``GRANULARITY``) instead; the timer task wakes once per
non-empty bucket. An ask therefore times out up to ``GRANULARITY`` seconds late.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from ._ref import _Ask

GRANULARITY = 0.005
"""Seconds per timer bucket: the most an ask's timeout may fire late."""


class AskTimer:
    """Buckets of parked asks by deadline, and the task that expires them."""

    def __init__(self) -> None:
        self._buckets: dict[int, dict[_Ask, None]] = {}
        self._keys: list[int] = []
        self._scope: trio.CancelScope | None = None
        self._wake_at = math.inf
        self.running = False

    def add(self, envelope: _Ask, deadline: float) -> dict[_Ask, None]:
        """Register a parked ask; return its bucket (the caller removes itself when woken)."""
        key = int(deadline / GRANULARITY) + 1
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = {}
            heapq.heappush(self._keys, key)
            at = key * GRANULARITY
            if at < self._wake_at:
                self._wake_at = at
                if self._scope is not None:
                    self._scope.deadline = at
        bucket[envelope] = None
        return bucket

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Expire asks until cancelled; then hand parked asks back to per-ask scopes."""
        self.running = True
        task_status.started()
        try:
            while True:
                with trio.CancelScope(deadline=self._wake_at) as self._scope:
                    await trio.sleep_forever()
                self._scope = None
                now = trio.current_time()
                keys = self._keys
                while keys and keys[0] * GRANULARITY <= now:
                    for envelope in self._buckets.pop(heapq.heappop(keys)):
                        envelope.expire()
                self._wake_at = keys[0] * GRANULARITY if keys else math.inf
        finally:
            self.running = False
            self._scope = None
            self._wake_at = math.inf
            buckets, self._buckets, self._keys = self._buckets, {}, []
            for bucket in buckets.values():
                for envelope in list(bucket):
                    envelope.rehome()
