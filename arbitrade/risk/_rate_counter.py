"""A model of Kraken's per-pair trading rate counter, so the gate can stay below its limit.

Kraken keeps one counter per client and pair. Adding an order adds 1 (charged even when the
order fails validation); cancelling adds a penalty that shrinks with the order's age (8, 6, 5,
4, 2, 1 for orders younger than 5, 10, 15, 45, 90, 300 seconds); the counter decays linearly at
a rate set by the verification tier. At the tier's maximum Kraken answers
``EOrder:Rate limit exceeded``. An IOC remainder that the engine cancels is not a client cancel
and costs nothing extra. This model is conservative: it never decays below zero and it charges
whatever the bot sends, so it can only over-estimate a counter that started at zero.
"""

from __future__ import annotations

from typing import Final

import attrs

from arbitrade.risk._settings import RateTier


@attrs.frozen
class TierLimits:
    """The counter's maximum and its decay per second for one tier."""

    maximum: float
    decay_per_second: float


TIER_LIMITS: Final = {
    RateTier.STARTER: TierLimits(maximum=60.0, decay_per_second=1.0),
    RateTier.INTERMEDIATE: TierLimits(maximum=125.0, decay_per_second=2.34),
    RateTier.PRO: TierLimits(maximum=180.0, decay_per_second=3.75),
}

ADD_ORDER_COST: Final = 1.0

# (age below which the penalty applies, penalty), youngest first.
_CANCEL_PENALTIES: Final = (
    (5.0, 8.0),
    (10.0, 6.0),
    (15.0, 5.0),
    (45.0, 4.0),
    (90.0, 2.0),
    (300.0, 1.0),
)


def cancel_penalty(order_age_seconds: float) -> float:
    """Kraken's penalty for cancelling an order that has rested this long (0 from 300 s)."""
    for below, penalty in _CANCEL_PENALTIES:
        if order_age_seconds < below:
            return penalty
    return 0.0


@attrs.define
class _PairCounter:
    value: float
    at: float


class TradingRateCounter:
    """Per-pair counters with linear decay, read and charged at Trio-clock times.

    Times must not go backwards; an earlier time than the last one seen is treated as the
    last one (no negative decay).
    """

    def __init__(self, tier: RateTier) -> None:
        self.limits = TIER_LIMITS[tier]
        self._pairs: dict[str, _PairCounter] = {}

    def value(self, symbol: str, now: float) -> float:
        """The modelled counter of ``symbol`` at ``now``."""
        counter = self._pairs.get(symbol)
        if counter is None:
            return 0.0
        elapsed = max(0.0, now - counter.at)
        return max(0.0, counter.value - elapsed * self.limits.decay_per_second)

    def charge(self, symbol: str, amount: float, now: float) -> float:
        """Add ``amount`` to ``symbol``'s counter at ``now``; return the new value."""
        value = self.value(symbol, now) + amount
        self._pairs[symbol] = _PairCounter(value, max(now, self._last_time(symbol)))
        return value

    def _last_time(self, symbol: str) -> float:
        counter = self._pairs.get(symbol)
        return counter.at if counter is not None else float("-inf")

    def snapshot(self, now: float) -> dict[str, float]:
        """Every pair's counter at ``now`` (pairs that decayed to zero are dropped)."""
        values = {symbol: self.value(symbol, now) for symbol in self._pairs}
        for symbol in [s for s, v in values.items() if v == 0.0]:
            del self._pairs[symbol]
            del values[symbol]
        return values
