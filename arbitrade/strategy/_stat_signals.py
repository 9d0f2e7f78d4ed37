"""Entry and exit rules of a stat-arb position, as pure functions of the z-score and time.

A *short* spread (sell y, buy x) is entered when the spread is rich (z high), a *long* spread
(buy y, sell x) when it is cheap (z low). Boundaries are inclusive: reaching a threshold
counts as passing it.

- **entry** (flat): ``entry_z <= |z| < stop_z``; beyond the stop the pair is left alone.
- **stop**: the z-score reaches ``stop_z`` against the position (short: ``z >= stop_z``;
  long: ``z <= -stop_z``). A stop starts a cool-down of ``cooldown_seconds``.
- **exit**: the z-score is back inside ``exit_z`` or beyond it on the other side (short:
  ``z <= exit_z``; long: ``z >= -exit_z``).
- **max holding**: the position is ``max_holding_seconds`` old or older.

A stop wins over the holding time when both hold (so the cool-down applies).
"""

from __future__ import annotations

import enum

import attrs

from arbitrade.strategy._stat_settings import StatArbSettings


class Direction(enum.StrEnum):
    """Which way a position bets on the spread."""

    LONG = "long"
    """Long the spread: buy y, sell ``ratio`` of x (the spread is cheap, z low)."""
    SHORT = "short"
    """Short the spread: sell y, buy ``ratio`` of x (the spread is rich, z high)."""


class ExitReason(enum.StrEnum):
    """Why a position is closed."""

    EXIT = "exit"
    STOP = "stop"
    MAX_HOLDING = "max_holding"
    MODE_SWITCH = "mode_switch"


@attrs.frozen
class SignalRules:
    """The thresholds of :mod:`this module <arbitrade.strategy._stat_signals>`."""

    entry_z: float
    exit_z: float
    stop_z: float
    max_holding_seconds: float
    cooldown_seconds: float

    @classmethod
    def from_settings(cls, settings: StatArbSettings) -> SignalRules:
        """The rules of validated settings."""
        return cls(
            entry_z=settings.entry_z,
            exit_z=settings.exit_z,
            stop_z=settings.stop_z,
            max_holding_seconds=settings.max_holding_seconds,
            cooldown_seconds=settings.cooldown_seconds,
        )

    def entry(self, z: float) -> Direction | None:
        """The position a flat pair should take at ``z``, or ``None``."""
        size = abs(z)
        if self.entry_z <= size < self.stop_z:
            return Direction.SHORT if z > 0 else Direction.LONG
        return None

    def exit(self, direction: Direction, z: float | None, held_for: float) -> ExitReason | None:
        """Why a position in ``direction`` should close now, or ``None`` to keep it.

        ``z`` is ``None`` when there is no fresh z-score (only the holding time applies).
        """
        if z is not None:
            against = z if direction is Direction.SHORT else -z
            if against >= self.stop_z:
                return ExitReason.STOP
            if against <= self.exit_z:
                return ExitReason.EXIT
        if held_for >= self.max_holding_seconds:
            return ExitReason.MAX_HOLDING
        return None

    def blocked_until(self, reason: ExitReason, now: float) -> float:
        """Until when the pair may not enter after closing for ``reason`` at ``now``."""
        return now + self.cooldown_seconds if reason is ExitReason.STOP else now
