"""The one message the risk gate adds to the shared vocabulary.

Operator controls arrive as :class:`~arbitrade.messages.ControlChanged` on ``TOPIC_CONTROL``
(``strategy_mode``, ``paused``, ``kill_switch``, ``risk.<field>``); when the gate itself
changes a control (the daily loss limit trips the kill switch) it publishes a ControlChanged
too. What it asks of the executor is :class:`CancelAllOrders`.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class CancelAllOrders:
    """Sent by the gate to the executor when the kill switch asks for open orders to go."""

    reason: str
    at: float
