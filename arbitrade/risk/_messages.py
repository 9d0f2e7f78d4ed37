"""The one message the risk gate adds to the shared vocabulary.

Operator controls arrive as :class:`~arbitrade.messages.ControlChanged` on ``TOPIC_CONTROL``
(``strategy_mode``, ``paused``, ``kill_switch``, ``risk.<field>``); when the gate itself
changes a control (the daily loss limit trips the kill switch) it publishes a ControlChanged
too. What it asks of the executor is :class:`CancelAllOrders`, and on every start
:class:`GetCyclesInFlight` (answered with :class:`CycleInFlight` values), so a restarted gate
reserves again what the executor still trades.
"""

from __future__ import annotations

import attrs

from arbitrade.messages import Opportunity, OrderUpdate


@attrs.frozen
class CancelAllOrders:
    """Sent by the gate to the executor when the kill switch asks for open orders to go."""

    reason: str
    at: float


@attrs.frozen
class GetCyclesInFlight:
    """Asked of the executor by the gate on start: every accepted cycle not yet finished.

    The executor answers with a tuple of :class:`CycleInFlight` (empty when it trades
    nothing). Risk never imports the executor: the question and the answer live here.
    """


@attrs.frozen
class CycleInFlight:
    """One cycle the executor still trades, as the gate needs it to reserve for it again."""

    opportunity: Opportunity
    """What the gate accepted (its legs give the reservation)."""
    orders: tuple[OrderUpdate, ...]
    """Every order of the cycle (legs, then unwinds) as it stands, terminal ones included."""
