"""Entry, exit, stop, holding-time and cool-down rules at and around their thresholds."""

from __future__ import annotations

import pytest

from arbitrade.strategy.stat_arb import Direction, ExitReason, SignalRules

RULES = SignalRules(
    entry_z=2.0, exit_z=0.5, stop_z=4.0, max_holding_seconds=100.0, cooldown_seconds=50.0
)
LONG, SHORT = Direction.LONG, Direction.SHORT


class TestEntry:
    @pytest.mark.parametrize(
        ("z", "expected"),
        [
            (1.999, None),
            (2.0, SHORT),
            (2.001, SHORT),
            (3.999, SHORT),
            (4.0, None),
            (-1.999, None),
            (-2.0, LONG),
            (-3.999, LONG),
            (-4.0, None),
            (0.0, None),
        ],
    )
    def test_entry_when_z_at_or_around_thresholds(
        self, z: float, expected: Direction | None
    ) -> None:
        """Enter from |z| = entry (inclusive) up to, not including, the stop; rich spread: short."""
        assert RULES.entry(z) is expected


class TestExit:
    @pytest.mark.parametrize(
        ("direction", "z", "expected"),
        [
            (SHORT, 0.501, None),
            (SHORT, 0.5, ExitReason.EXIT),
            (SHORT, -3.0, ExitReason.EXIT),
            (SHORT, 3.999, None),
            (SHORT, 4.0, ExitReason.STOP),
            (LONG, -0.501, None),
            (LONG, -0.5, ExitReason.EXIT),
            (LONG, 3.0, ExitReason.EXIT),
            (LONG, -3.999, None),
            (LONG, -4.0, ExitReason.STOP),
        ],
    )
    def test_exit_when_z_at_or_around_thresholds(
        self, direction: Direction, z: float, expected: ExitReason | None
    ) -> None:
        """Exit once back inside exit (or past it); stop once the stop is reached against us."""
        assert RULES.exit(direction, z, held_for=1.0) is expected

    @pytest.mark.parametrize(
        ("held_for", "expected"),
        [(99.999, None), (100.0, ExitReason.MAX_HOLDING), (150.0, ExitReason.MAX_HOLDING)],
    )
    def test_exit_when_held_around_max_holding(
        self, held_for: float, expected: ExitReason | None
    ) -> None:
        """A position held max_holding_seconds or longer is closed, z-score or not."""
        assert RULES.exit(SHORT, 2.5, held_for) is expected
        assert RULES.exit(SHORT, None, held_for) is expected

    def test_exit_when_stop_and_max_holding_both_hold_reports_stop(self) -> None:
        """The stop wins, so its cool-down applies."""
        assert RULES.exit(LONG, -5.0, held_for=500.0) is ExitReason.STOP

    def test_exit_when_no_z_and_young_keeps_position(self) -> None:
        """Without a fresh z-score only the holding time can close a position."""
        assert RULES.exit(LONG, None, held_for=10.0) is None


class TestCooldown:
    def test_blocked_until_when_stopped_is_now_plus_cooldown(self) -> None:
        """A stop blocks entries for cooldown_seconds."""
        assert RULES.blocked_until(ExitReason.STOP, now=10.0) == 60.0

    @pytest.mark.parametrize("reason", [ExitReason.EXIT, ExitReason.MAX_HOLDING])
    def test_blocked_until_when_not_stopped_is_now(self, reason: ExitReason) -> None:
        """Ordinary exits and holding-time exits start no cool-down."""
        assert RULES.blocked_until(reason, now=10.0) == 10.0
