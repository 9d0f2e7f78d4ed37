"""Messages the stat-arb strategy adds to the shared vocabulary.

Opening a position is an ordinary :class:`~arbitrade.messages.Opportunity` (strategy
``"stat_arb"``). Closing one is a :class:`ClosePosition` wrapping such an opportunity: it
reduces exposure, so the risk gate should let it through when the strategy mode is off and
without a minimum profit. Both are published on ``TOPIC_OPPORTUNITIES``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import attrs

from arbitrade.messages import Opportunity

TOPIC_STAT_ARB: Final = "strategy.stat_arb.pairs"
"""Where :class:`PairSnapshot` is published after each observation (dashboards: lossy)."""
STRATEGY: Final = "stat_arb"
"""The ``strategy`` of every stat-arb opportunity."""


@attrs.frozen
class ClosePosition:
    """Close (part of) a stat-arb position: the legs in ``opportunity`` undo what is held.

    ``reason`` is 'exit', 'stop', 'max_holding' or 'mode_switch'; ``position_id`` is the id of
    the opportunity that opened the position.
    """

    opportunity: Opportunity
    pair: str
    position_id: str
    reason: str


@attrs.frozen
class ScreenRequest:
    """Ask the screener to test one pair's recent log prices (oldest first)."""

    pair: str
    log_y: tuple[float, ...]
    log_x: tuple[float, ...]
    times: tuple[float, ...]
    """Trio times of the observations: the half-life is converted to seconds with them."""


@attrs.frozen
class ScreenResult:
    """The screen of one pair: Engle-Granger p-value and the spread's half-life."""

    pair: str
    p_value: float
    half_life_seconds: float
    """``inf`` when the spread does not revert (its change does not fall with its level)."""
    passed: bool
    at: float


@attrs.frozen
class PairSnapshot:
    """What the dashboard shows for one pair after an observation."""

    pair: str
    ratio: float | None
    intercept: float | None
    spread: float | None
    z: float | None
    observations: int
    state: str
    """'flat', 'opening', 'open' or 'closing'."""
    direction: str
    """'long', 'short' or '' when flat."""
    holdings: tuple[tuple[str, Decimal], ...]
    screen_passed: bool | None
    """``None``: no screen result yet (or the screen is off)."""
    at: float
