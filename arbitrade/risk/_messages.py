"""Messages the risk gate adds to the shared vocabulary: operator controls and their echo.

Controls arrive at the gate (from the dashboard or the CLI) as plain messages; every change
is echoed on ``TOPIC_CONTROL`` as :class:`KillSwitchChanged` or :class:`StrategyModeChanged`
and recorded as an :class:`~arbitrade.messages.AuditEvent`.
"""

from __future__ import annotations

import attrs

ALL_STRATEGIES = "*"


@attrs.frozen
class EngageKillSwitch:
    """Stop every new order at once; optionally ask the executor to cancel the open ones."""

    reason: str
    cancel_open_orders: bool = True


@attrs.frozen
class ReleaseKillSwitch:
    """Let orders through again (the daily loss check still applies until the day ends)."""

    reason: str


@attrs.frozen
class SetStrategyMode:
    """Turn one strategy ('triangular', 'stat_arb') or all of them (``"*"``) on or off."""

    strategy: str
    enabled: bool


@attrs.frozen
class KillSwitchChanged:
    """The kill switch was engaged or released; ``cause`` is 'operator', 'daily_loss_limit'..."""

    engaged: bool
    cause: str
    at: float


@attrs.frozen
class StrategyModeChanged:
    """A strategy's mode changed (``strategy`` is ``"*"`` for the global switch)."""

    strategy: str
    enabled: bool
    at: float


@attrs.frozen
class CancelAllOrders:
    """Sent by the gate to the executor when the kill switch asks for open orders to go."""

    reason: str
    at: float
