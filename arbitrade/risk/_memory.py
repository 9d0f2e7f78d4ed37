"""The risk gate's memory across restarts: what a restarted gate must not forget.

Kept outside the actor (the wiring makes one per trading tree), like the executor's memory.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from arbitrade.risk._settings import RiskSettings


@attrs.define
class RiskMemory:
    """The gate's controls and today's PnL, kept outside the actor so a restart keeps them.

    The wiring creates one and hands the same object to every incarnation of the gate (as
    :class:`~arbitrade.execution.ExecutorMemory` for the executor): a kill switch the daily
    loss limit or an operator engaged stays engaged, and the day's losses still count toward
    the limit. Reservations are not kept here: they are rebuilt from the executor (see
    :meth:`RiskGateCore.restore_cycles`), which cannot leak one whose cycle ended meanwhile.
    It lives in the process: a crash of the whole process loses it.
    """

    saved: bool = False
    """False until a gate saved into it (a fresh memory leaves the configured state)."""
    settings: RiskSettings | None = None
    kill_switch: bool = False
    kill_cause: str = ""
    trading_enabled: bool = True
    paused: bool = False
    disabled_strategies: frozenset[str] = frozenset()
    pnl_day: str = ""
    pnl_today: Decimal = Decimal(0)
    cooldown_until: dict[str, float] = attrs.field(factory=dict)
