"""A fake stat-arb strategy for the dashboard demo: one pair's z-score and position, on the bus.

The z-score is a seeded AR(1) series (mean-reverting, like a cointegrated spread's); the pair
enters at ``|z| >= entry_z``, exits inside ``exit_z`` and stops beyond ``stop_z``, and every
observation is published as a real :class:`~arbitrade.strategy.stat_arb.PairSnapshot`. It
ignores the controls and trades nothing: it only gives the stat-arb page something to show.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

import trio

from actors import Bus
from arbitrade.strategy.stat_arb import TOPIC_STAT_ARB, PairSnapshot, StatArbSettings

DEMO_PAIR = ("ETH/USD", "BTC/USD")
_PERSISTENCE = 0.93
"""Share of the z-score left after one observation (a half-life of about ten)."""
_Y_QTY = Decimal("0.032")
_X_QTY = Decimal("0.0019")


async def run_fake_stat_arb(
    bus: Bus,
    settings: StatArbSettings,
    *,
    seed: int = 7,
    interval: float = 1.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Publish one demo pair's snapshot every ``interval`` seconds until cancelled."""
    rng = random.Random(seed)  # noqa: S311 - synthetic numbers, not secrets
    y, x = DEMO_PAIR
    z, ratio, observations = 0.0, 1.2, 0
    direction = ""
    shock = math.sqrt(1 - _PERSISTENCE**2)
    task_status.started()
    while True:
        observations += 1
        z = _PERSISTENCE * z + shock * rng.gauss(0.0, 1.35)
        ratio += rng.gauss(0.0, 0.002)
        if direction and (abs(z) <= settings.exit_z or abs(z) >= settings.stop_z):
            direction = ""
        elif not direction and settings.entry_z <= abs(z) < settings.stop_z:
            direction = "short" if z > 0 else "long"
        sign = -1 if direction == "short" else 1
        holdings = (
            ((y, sign * _Y_QTY), (x, -sign * _X_QTY))
            if direction
            else ((y, Decimal(0)), (x, Decimal(0)))
        )
        await bus.publish(
            TOPIC_STAT_ARB,
            PairSnapshot(
                pair=f"{y}~{x}",
                ratio=ratio,
                intercept=-5.1,
                spread=z * 0.004,
                z=z,
                observations=observations,
                state="open" if direction else "flat",
                direction=direction,
                holdings=holdings,
                screen_passed=True,
                at=trio.current_time(),
            ),
        )
        await trio.sleep(interval)
