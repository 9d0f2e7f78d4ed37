"""Kraken's REST API counter, mirrored on our side so we never earn a rate-limit lockout.

Each call adds its cost to a counter that decays at the tier's rate; Kraken refuses calls
that would take it past the tier's maximum. :class:`ApiCounterLimiter` keeps the same
counter on Trio's clock and makes a caller wait until its call fits. Time is Trio's, so tests
run it on a ``MockClock``.

Calls are urgent or routine (:func:`rest_call_urgent`). Routine calls (balances, history)
leave ``reserve`` units of the counter free and queue among themselves; urgent calls (the
WebSocket token a private reconnect needs, the order queries that reconcile after one) queue
apart and may use the whole counter, so a backlog of balance polls never delays a reconnect.
"""

from __future__ import annotations

import enum
import math

import attrs
import trio

__all__ = [
    "ApiCounterLimiter",
    "ApiTier",
    "LimiterStatistics",
    "rest_call_cost",
    "rest_call_urgent",
]


_ROUNDING = 1e-9
"""Counter units a float sum may be off by; never worth another sleep."""


class ApiTier(enum.Enum):
    """Verification tiers: (maximum counter, decay per second) from Kraken's rate-limit page."""

    STARTER = (15.0, 0.33)
    INTERMEDIATE = (20.0, 0.5)
    PRO = (20.0, 1.0)

    @property
    def max_counter(self) -> float:
        return self.value[0]

    @property
    def decay_per_second(self) -> float:
        return self.value[1]


_COST_TWO = frozenset({"Ledgers", "QueryLedgers", "TradesHistory", "QueryTrades"})
_TRADING = frozenset({"AddOrder", "AddOrderBatch", "CancelOrder", "CancelOrderBatch", "EditOrder"})


_URGENT = frozenset({"GetWebSocketsToken", "QueryOrders", "OpenOrders"})


def rest_call_urgent(method: str) -> bool:
    """True for the private REST calls that stand between a reconnect and trading again: the
    WebSocket token and the order queries that reconcile in-flight orders."""
    return method in _URGENT


def rest_call_cost(method: str) -> int:
    """What a private REST method adds to the API counter.

    Ledger and trade history cost 2; order placement and cancellation cost 0 here (the
    matching engine's per-pair limiter counts them); everything else costs 1.
    """
    if method in _COST_TWO:
        return 2
    if method in _TRADING:
        return 0
    return 1


@attrs.frozen
class LimiterStatistics:
    """A snapshot of an :class:`ApiCounterLimiter`."""

    counter: float
    """The estimated counter now (after decay)."""
    max_counter: float
    """The level we never let the counter pass (the tier's maximum minus the headroom)."""
    waits: int
    """How many acquisitions had to wait."""
    penalties: int
    """How many times Kraken said we were over the limit anyway."""


class ApiCounterLimiter:
    """A leaky bucket shaped like Kraken's API counter; FIFO among waiters of one urgency.

    ``headroom`` keeps us below Kraken's own maximum, because our estimate cannot see calls
    made with the same key elsewhere and Kraken decays "every couple of seconds", not smoothly.
    ``reserve`` is the part of what is left that routine calls never take (see the module
    docstring).

    Raises:
        ValueError: ``reserve`` is negative or leaves routine calls no room.
    """

    def __init__(
        self, tier: ApiTier = ApiTier.STARTER, *, headroom: float = 2.0, reserve: float = 2.0
    ) -> None:
        self._max = tier.max_counter - headroom
        if not 0 <= reserve < self._max - 1:
            raise ValueError(f"reserve must be in [0, {self._max - 1:g}), got {reserve}")
        self._routine_max = self._max - reserve
        self._decay = tier.decay_per_second
        self._counter = 0.0
        self._stamp: float | None = None
        self._lock = trio.Lock()
        self._urgent_lock = trio.Lock()
        self._waits = 0
        self._penalties = 0

    def _decayed(self) -> float:
        now = trio.current_time()
        if self._stamp is not None:
            self._counter = max(0.0, self._counter - (now - self._stamp) * self._decay)
        self._stamp = now
        return self._counter

    async def acquire(self, cost: float = 1.0, *, urgent: bool = False) -> None:
        """Wait until a call of ``cost`` fits under its ceiling, then count it.

        Routine calls fit under the maximum less the reserve, urgent ones under the maximum;
        each kind waits in its own queue. Cancellation while waiting counts nothing. A cost
        above the ceiling is clamped to it (it waits for an empty counter) rather than
        waiting forever.
        """
        if cost <= 0:
            return
        ceiling = self._max if urgent else self._routine_max
        cost = min(cost, ceiling)
        async with self._urgent_lock if urgent else self._lock:
            counter = self._decayed()
            if counter + cost > ceiling:
                self._waits += 1
            while counter + cost > ceiling + _ROUNDING:
                # the other queue may take room while this one sleeps: look again after
                await trio.sleep((counter + cost - ceiling) / self._decay)
                counter = self._decayed()
            # Float rounding can leave a hair above; never wait again for that.
            counter = min(counter, ceiling - cost) if math.isfinite(counter) else 0.0
            self._counter = counter + cost

    def penalize(self) -> None:
        """Kraken answered ``EAPI:Rate limit exceeded``: assume the counter is full."""
        self._decayed()
        self._counter = self._max
        self._penalties += 1

    def statistics(self) -> LimiterStatistics:
        """The counter and what happened so far (reading it applies the decay)."""
        return LimiterStatistics(self._decayed(), self._max, self._waits, self._penalties)
